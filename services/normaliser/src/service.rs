//! Start-up shared by the service and its replay and re-drive commands: metrics, the EMPI, the
//! terminology, the registered codecs, the output topics, the producer and the DLQ publisher.

use anyhow::Context;
use hub_avro::RegistryClient;
use hub_empi::Empi;
use hub_identity::Pseudonymizer;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::dlq::DlqPublisher;
use hub_kafka::{EventProducer, KafkaSettings, ProducerProfile};
use hub_schemas::topics::{DATA_PARTITIONS, dlq_topic};
use hub_telemetry::Telemetry;
use hub_terminology::Terminology;
use secrecy::{ExposeSecret, SecretString};

use crate::codecs::Codecs;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::process::Processor;
use crate::{SERVICE, Settings};

/// What every mode of the normaliser is built from.
pub struct Parts {
    /// Metrics registry and health endpoints.
    pub telemetry: Telemetry,
    /// Normalise and encode.
    pub processor: Processor,
    /// The idempotent producer (at-least-once mode, replay, re-drive, dead letters).
    pub producer: EventProducer,
    /// Dead letters through `producer`.
    pub dlq: DlqPublisher,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").finish_non_exhaustive()
    }
}

/// Connects to the EMPI's database (and migrates it), loads the terminology, registers the
/// canonical schemas, creates the output topics and the producer.
///
/// # Errors
/// A dependency cannot be reached, a secret is missing, or the terminology does not load.
pub async fn prepare(settings: &Settings) -> anyhow::Result<Parts> {
    let telemetry = Telemetry::new(SERVICE);
    let metrics = Metrics::register(telemetry.registry())?;
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
    let connections = u32::try_from(settings.concurrency.max(1))
        .unwrap_or(u32::MAX)
        .saturating_add(2);
    let pool = hub_postgres::connect(database_url.expose_secret(), connections)
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
    let codecs = Codecs::register(&registry)
        .await
        .context("registering canonical schemas")?;
    let outputs: Vec<TopicSpec> = hub_schemas::CANONICAL
        .iter()
        .map(|c| {
            TopicSpec::new(
                format!("{}{}", settings.topic_prefix, c.topic),
                DATA_PARTITIONS,
            )
        })
        .chain(std::iter::once(TopicSpec::new(dlq_topic(SERVICE), 1)))
        .collect();
    if settings.create_topics {
        ensure_topics(&settings.kafka, &outputs)
            .await
            .context("creating the output topics")?;
    }
    let producing = KafkaSettings {
        message_timeout_ms: settings.delivery_timeout_ms,
        ..settings.kafka.clone()
    };
    let producer = EventProducer::new(&producing, SERVICE, ProducerProfile::Throughput)?;
    let dlq = DlqPublisher::new(producer.clone(), SERVICE, telemetry.registry())?;
    Ok(Parts {
        processor: Processor {
            pipeline: Pipeline::new(empi, terminology, metrics.clone()),
            codecs,
            metrics,
            topic_prefix: settings.topic_prefix.clone(),
        },
        telemetry,
        producer,
        dlq,
    })
}

fn secret(value: &SecretString, file: Option<&std::path::Path>) -> anyhow::Result<SecretString> {
    Ok(match file {
        Some(path) => hub_config::read_secret_file(path)?,
        None => value.clone(),
    })
}
