//! The bounded commands: `replay` (re-process a raw topic, or a time window of it) and `redrive`
//! (re-process the dead letters of `dlq.normaliser`). Both run the same pipeline and idempotent
//! producer as the service, with their own consumer group, and stop by themselves when they have
//! caught up with the end offsets their topic had at start. Event ids are deterministic (facility,
//! message id, entity, index), so what they produce converges downstream with the first run.
//!
//! Replay dead-letters what still fails (a second letter for an input that failed before: the
//! DLQ is a log, and re-driving either letter converges). Re-drive writes a new letter only when
//! the error code changed, so nothing loops; its group (`<group>-redrive`, or
//! `<group>-redrive.<code>` with `--error-code`) takes each letter once. To re-drive letters
//! again, reset that group's offsets.

use std::future::Future;

use anyhow::Context;
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_schemas::topics::dlq_topic;

use crate::catchup::CatchUp;
use crate::intake::{Counts, Intake, Window};
use crate::runner::Runner;
use crate::service::prepare;
use crate::{SERVICE, Settings};

/// Re-processes `topic` (the messages received inside `window`) under the consumer group
/// `<group_id>-replay-<unix ms>`, and reports what it did.
///
/// # Errors
/// Start-up failed, the topic does not exist, or a delivery failed.
pub async fn replay(
    settings: Settings,
    topic: &str,
    window: Window,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<Counts> {
    let group = format!(
        "{}-replay-{}",
        settings.group_id,
        chrono::Utc::now().timestamp_millis()
    );
    bounded(settings, topic, &group, Intake::Replay { window }, shutdown).await
}

/// Re-drives the dead letters of `dlq.normaliser` (those with `error_code`, if given), and
/// reports what it did.
///
/// # Errors
/// Start-up failed or a delivery failed.
pub async fn redrive(
    settings: Settings,
    error_code: Option<String>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<Counts> {
    let group = match &error_code {
        Some(code) => format!("{}-redrive.{code}", settings.group_id),
        None => format!("{}-redrive", settings.group_id),
    };
    let topic = dlq_topic(SERVICE);
    bounded(
        settings,
        &topic,
        &group,
        Intake::Redrive { error_code },
        shutdown,
    )
    .await
}

async fn bounded(
    settings: Settings,
    topic: &str,
    group: &str,
    intake: Intake,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<Counts> {
    let parts = prepare(&settings).await?;
    let consumer = HubConsumer::subscribe(
        &settings.kafka,
        SERVICE,
        group,
        &[topic],
        Isolation::ReadCommitted,
    )?;
    let until = CatchUp::snapshot(&consumer, topic)
        .with_context(|| format!("reading the end offsets of {topic}"))?;
    let runner = Runner {
        consumer,
        producer: parts.producer,
        dlq: parts.dlq,
        processor: parts.processor,
        max_in_flight: settings.max_in_flight.max(1),
        concurrency: settings.concurrency.max(1),
        intake,
        until: Some(until),
    };
    runner.run(shutdown).await
}
