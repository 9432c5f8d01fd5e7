//! The normaliser: raw source messages in, canonical Avro events out.
//!
//! For each message on a `raw.*` topic: map it with the mapping of its format (HL7 v2 in
//! `hub-hl7`, NHSA settlement JSON in `hub-settlement`), resolve its patient to a hub person id in
//! the EMPI (`hub-empi`, which also yields identity-link events), map its codes (`hub-terminology`),
//! encode each event with its registered schema, and produce it to `canonical.<entity>.v1` keyed
//! by person id. Delivery: at-least-once with the idempotent producer and offsets stored after the
//! broker acknowledged every event of a message ([`runner`]); bad input goes to `dlq.normaliser`.
//!
//! Layout: [`settings`], [`envelope`] (raw message to envelope), [`pipeline`] (pure stages plus
//! the EMPI), [`identity_events`], [`codecs`], [`runner`] (the loop), [`metrics`].

pub mod codecs;
pub mod envelope;
pub mod identity_events;
pub mod metrics;
pub mod pipeline;
pub mod runner;
pub mod settings;

use std::future::Future;

use anyhow::Context;
use hub_avro::RegistryClient;
use hub_empi::Empi;
use hub_identity::Pseudonymizer;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::dlq::DlqPublisher;
use hub_kafka::{EventProducer, ProducerProfile};
use hub_schemas::topics::{DATA_PARTITIONS, dlq_topic};
use hub_telemetry::Telemetry;
use hub_terminology::Terminology;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tracing::info;

pub use settings::Settings;

/// The service name (metrics label, client id, DLQ stage).
pub const SERVICE: &str = "normaliser";

/// Starts the normaliser and runs it until `shutdown` completes.
///
/// # Errors
/// A dependency cannot be reached at start, the configuration is invalid, or the loop stopped on
/// a failed delivery (after storing every safe offset).
pub async fn run(
    settings: Settings,
    admin: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let telemetry = Telemetry::new(SERVICE);
    let metrics = metrics::Metrics::register(telemetry.registry())?;

    let key = secret(
        &settings.pseudonym_key,
        settings.pseudonym_key_file.as_deref(),
    )?;
    anyhow::ensure!(
        key.expose_secret().len() >= 16,
        "pseudonym_key must be set (16 characters or more): HUB__PSEUDONYM_KEY or pseudonym_key_file"
    );
    let database_url = secret(
        &settings.database_url,
        settings.database_url_file.as_deref(),
    )?;
    let pool = hub_postgres::connect(database_url.expose_secret(), 8)
        .await
        .context("connecting to the EMPI database")?;
    Empi::migrate(&pool).await?;
    let empi = Empi::new(
        pool,
        Pseudonymizer::new(key.expose_secret().as_bytes().to_vec()),
    );
    let terminology = Terminology::load(&settings.terminology_dir).with_context(|| {
        format!(
            "loading terminology from {}",
            settings.terminology_dir.display()
        )
    })?;

    let registry = RegistryClient::new(&settings.registry_url)?;
    let codecs = codecs::Codecs::register(&registry)
        .await
        .context("registering canonical schemas")?;
    let outputs: Vec<TopicSpec> = hub_schemas::CANONICAL
        .iter()
        .map(|c| TopicSpec::new(c.topic, DATA_PARTITIONS))
        .chain(std::iter::once(TopicSpec::new(dlq_topic(SERVICE), 1)))
        .collect();
    ensure_topics(&settings.kafka, &outputs)
        .await
        .context("creating the output topics")?;
    let producer = EventProducer::new(&settings.kafka, SERVICE, ProducerProfile::Throughput)?;
    let dlq = DlqPublisher::new(producer.clone(), SERVICE, telemetry.registry())?;
    let topics: Vec<&str> = settings.input_topics.iter().map(String::as_str).collect();
    let consumer = HubConsumer::subscribe(
        &settings.kafka,
        SERVICE,
        &settings.group_id,
        &topics,
        Isolation::ReadUncommitted,
    )?;

    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_server = tokio::spawn(hub_telemetry::serve(admin, telemetry.router(), async {
        let _ = admin_stopped.await;
    }));
    telemetry.health().set_ready(true);
    info!(topics = ?settings.input_topics, "Normaliser running.");

    let runner = runner::Runner {
        consumer,
        producer,
        dlq,
        pipeline: pipeline::Pipeline::new(empi, terminology, metrics.clone()),
        codecs,
        metrics,
        max_in_flight: settings.max_in_flight.max(1),
    };
    let result = runner.run(shutdown).await;
    telemetry.health().set_ready(false);
    let _ = stop_admin.send(());
    let _ = admin_server.await;
    result
}

fn secret(value: &SecretString, file: Option<&std::path::Path>) -> anyhow::Result<SecretString> {
    Ok(match file {
        Some(path) => hub_config::read_secret_file(path)?,
        None => value.clone(),
    })
}
