//! The subcommands.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use hub_avro::RegistryClient;
use hub_kafka::KafkaSettings;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::Message;
use hub_schemas::topics::{DATA_PARTITIONS, DLQ_STAGES, RAW_TOPICS, dlq_topic};

/// Creates every topic of the catalogue and registers the canonical contract.
pub async fn init(kafka: &KafkaSettings, registry: &str, replication: i32) -> anyhow::Result<()> {
    let mut topics: Vec<TopicSpec> = RAW_TOPICS
        .iter()
        .map(|t| TopicSpec::new(*t, DATA_PARTITIONS))
        .chain(
            hub_schemas::CANONICAL
                .iter()
                .map(|c| TopicSpec::new(c.topic, DATA_PARTITIONS)),
        )
        .chain(DLQ_STAGES.iter().map(|s| TopicSpec::new(dlq_topic(s), 1)))
        .collect();
    for topic in &mut topics {
        topic.replication = replication;
    }
    ensure_topics(kafka, &topics)
        .await
        .context("creating topics")?;
    tracing::info!(topics = topics.len(), "Topics exist.");

    let client = RegistryClient::new(registry)?;
    let ids = hub_avro::canonical::register_canonical(&client)
        .await
        .context("registering the canonical schemas")?;
    for (subject, id) in &ids {
        tracing::info!(subject, id, "Canonical schema registered.");
    }
    Ok(())
}

/// Prints a canonical topic's events as JSON lines, decoded with each writer's schema.
pub async fn tail(
    kafka: &KafkaSettings,
    registry: &str,
    topic: &str,
    max: Option<usize>,
    idle_secs: u64,
) -> anyhow::Result<()> {
    let client = RegistryClient::new(registry)?;
    let group = format!("hubctl-tail-{}", std::process::id());
    let consumer =
        HubConsumer::subscribe(kafka, "hubctl", &group, &[topic], Isolation::ReadCommitted)?;
    let mut stdout = std::io::stdout().lock();
    let mut printed = 0usize;
    while max.is_none_or(|m| printed < m) {
        let message =
            match tokio::time::timeout(Duration::from_secs(idle_secs), consumer.recv()).await {
                Ok(message) => message?,
                Err(_) => break,
            };
        let payload = message.payload().unwrap_or_default();
        let line = match decode(&client, payload).await {
            Ok(json) => json.to_string(),
            Err(e) => serde_json::json!({ "undecodable": e.to_string() }).to_string(),
        };
        writeln!(stdout, "{line}")?;
        printed += 1;
    }
    Ok(())
}

async fn decode(client: &RegistryClient, payload: &[u8]) -> anyhow::Result<serde_json::Value> {
    let (id, mut datum) = hub_avro::unframe(payload)?;
    let text = client.schema_by_id(id).await?;
    let schema = apache_avro::Schema::parse_str(&text)?;
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()?
        .read_value(&mut datum)?;
    Ok(serde_json::Value::try_from(value)?)
}
