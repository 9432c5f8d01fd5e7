//! The normaliser: raw source messages in, canonical Avro events out.
//!
//! For each message on a `raw.*` topic: map it with the mapping of its format (HL7 v2 in
//! `hub-hl7`, NHSA settlement JSON in `hub-settlement`), resolve its patient to a hub person id in
//! the EMPI (`hub-empi`, which also yields identity-link events), map its codes (`hub-terminology`),
//! encode each event with its registered schema, and produce it to `canonical.<entity>.v1` keyed
//! by person id. Bad input goes to `dlq.normaliser` with an error code and its original bytes.
//!
//! Delivery (`transactions: auto | on | off`, see [`delivery`]): exactly-once in Kafka
//! transactions where the broker completes them ([`exactly_once`]), else at-least-once with the
//! idempotent producer and offsets stored after the broker acknowledged every event of a message
//! ([`runner`]). The gauge `hub_normaliser_exactly_once` says which runs. Event ids are
//! deterministic, so repeats, replays and re-drives converge downstream.
//!
//! Commands ([`cli`], [`commands`]): `normaliser [--config FILE]` runs the service;
//! `normaliser replay --topic T [--since T0] [--until T1]` re-processes a raw topic (or a window
//! of it); `normaliser redrive [--error-code C]` re-drives dead letters. Both stop when caught up.
//!
//! Layout: [`settings`], [`service`] (start-up shared by every mode), [`envelope`] (raw message
//! or dead letter to envelope), [`intake`] (which messages a loop takes), [`pipeline`] (pure
//! stages plus the EMPI), [`process`] (pipeline + encoding + retries), [`identity_events`],
//! [`codecs`], [`runner`] and [`exactly_once`] (the loops), [`catchup`] (when a bounded run is
//! done), [`metrics`]. Every setting is documented in
//! `normaliser.example.yaml`.

pub mod catchup;
pub mod cli;
pub mod codecs;
pub mod commands;
pub mod delivery;
pub mod envelope;
pub mod exactly_once;
pub mod identity_events;
pub mod intake;
pub mod key_order;
pub mod metrics;
pub mod pipeline;
pub mod process;
pub mod runner;
pub mod service;
pub mod settings;

use std::future::Future;
use std::time::Duration;

use hub_kafka::TransactionalProducer;
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_schemas::topics::dlq_topic;
use tokio::net::TcpListener;
use tracing::info;

pub use settings::Settings;

/// The service name (metrics label, client id, DLQ stage).
pub const SERVICE: &str = "normaliser";

/// Starts the normaliser and runs it until `shutdown` completes.
///
/// # Errors
/// A dependency cannot be reached at start, the configuration is invalid, or the loop stopped on
/// a failed delivery (after storing every safe offset) or a fenced transactional producer.
pub async fn run(
    settings: Settings,
    admin: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let parts = service::prepare(&settings).await?;
    let telemetry = parts.telemetry.clone();
    let metrics = parts.processor.metrics.clone();
    let dlq = dlq_topic(SERVICE);
    let exactly_once = delivery::exactly_once(&settings, &dlq).await;
    metrics.exactly_once.set(i64::from(exactly_once));
    let topics: Vec<&str> = settings.input_topics.iter().map(String::as_str).collect();
    let consumer = HubConsumer::subscribe(
        &settings.kafka,
        SERVICE,
        &settings.group_id,
        &topics,
        Isolation::ReadUncommitted,
    )?;
    let lag = hub_kafka::lag::spawn(
        &settings.kafka,
        "normaliser-lag",
        &settings.group_id,
        &settings.input_topics,
        metrics.consumer_lag.clone(),
        settings.lag_interval_secs,
    );

    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_server = tokio::spawn(hub_telemetry::serve(admin, telemetry.router(), async {
        let _ = admin_stopped.await;
    }));
    telemetry.health().set_ready(true);
    info!(topics = ?settings.input_topics, exactly_once, "Normaliser running.");

    let result = if exactly_once {
        let transactional_id = format!("{}-{}", settings.group_id, settings.instance);
        match TransactionalProducer::new(&settings.kafka, SERVICE, &transactional_id).await {
            Ok(producer) => {
                exactly_once::TransactionalRunner {
                    consumer,
                    producer,
                    processor: parts.processor,
                    dlq_topic: dlq,
                    max_messages: settings.transaction_max_messages.max(1),
                    max_age: Duration::from_millis(settings.transaction_max_ms.max(1)),
                }
                .run(shutdown)
                .await
            }
            Err(e) => Err(anyhow::anyhow!("initialising transactions failed: {e}")),
        }
    } else {
        runner::Runner {
            consumer,
            producer: parts.producer,
            dlq: parts.dlq,
            processor: parts.processor,
            max_in_flight: settings.max_in_flight.max(1),
            concurrency: settings.concurrency.max(1),
            intake: intake::Intake::Live,
            until: None,
        }
        .run(shutdown)
        .await
        .map(|_| ())
    };
    if let Some(lag) = lag {
        lag.abort();
    }
    telemetry.health().set_ready(false);
    let _ = stop_admin.send(());
    let _ = admin_server.await;
    result
}
