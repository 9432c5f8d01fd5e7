//! Which delivery mode runs: Kafka transactions (exactly-once) or the idempotent producer with
//! offsets stored after delivery (at-least-once).
//!
//! `auto` probes the broker at start-up with one real, tiny transaction: init the producer id
//! of a probe transactional id, then begin, add the offset 0 of `dlq.normaliser`/0 for the probe
//! group `<group>-txn-probe`, and commit. An empty transaction would prove nothing: librdkafka
//! completes it locally without EndTxn, which is exactly what the local broker (tansu 0.6.0)
//! lacks. The only side effect is that probe group's committed offset.

use std::time::Duration;

use hub_kafka::KafkaSettings;
use hub_kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use hub_kafka::rdkafka::error::KafkaError;
use hub_kafka::rdkafka::producer::{BaseProducer, Producer};
use hub_kafka::rdkafka::{Offset, TopicPartitionList};
use tracing::{info, warn};

use crate::settings::{Settings, Transactions};

/// How long each step of the probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the service runs in transactions: `on`/`off` as configured, `auto` as probed.
pub async fn exactly_once(settings: &Settings, dlq_topic: &str) -> bool {
    let chosen = match settings.transactions {
        Transactions::On => true,
        Transactions::Off => false,
        Transactions::Auto => {
            let id = format!("{}-{}-probe", settings.group_id, settings.instance);
            let group = format!("{}-txn-probe", settings.group_id);
            let supported = supports_transactions(&settings.kafka, &id, &group, dlq_topic).await;
            if !supported {
                info!(
                    "The broker did not complete a probe transaction; falling back to at-least-once."
                );
            }
            supported
        }
    };
    info!(
        mode = if chosen { "exactly_once" } else { "at_least_once" },
        setting = ?settings.transactions,
        "Delivery mode chosen."
    );
    chosen
}

/// Whether the broker completes a transaction carrying consumer offsets (see the module docs).
/// `topic` must exist (its partition 0 is named in the probe).
pub async fn supports_transactions(
    kafka: &KafkaSettings,
    transactional_id: &str,
    group: &str,
    topic: &str,
) -> bool {
    let kafka = kafka.clone();
    let (id, group, topic) = (
        transactional_id.to_owned(),
        group.to_owned(),
        topic.to_owned(),
    );
    let probe = tokio::task::spawn_blocking(move || probe(&kafka, &id, &group, &topic)).await;
    match probe {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            warn!(error = %e, "Transaction probe failed.");
            false
        }
        Err(_) => false,
    }
}

fn probe(kafka: &KafkaSettings, id: &str, group: &str, topic: &str) -> Result<(), KafkaError> {
    let mut config = kafka.client_config("normaliser-txn-probe");
    config
        .set("transactional.id", id)
        .set("enable.idempotence", "true")
        .set("transaction.timeout.ms", "10000");
    let producer: BaseProducer = config.create()?;
    producer.init_transactions(PROBE_TIMEOUT)?;
    let consumer: BaseConsumer = kafka
        .client_config("normaliser-txn-probe")
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.group_metadata().ok_or(KafkaError::Canceled)?;
    let mut offsets = TopicPartitionList::new();
    offsets.add_partition_offset(topic, 0, Offset::Offset(0))?;
    producer.begin_transaction()?;
    let committed = producer
        .send_offsets_to_transaction(&offsets, &metadata, PROBE_TIMEOUT)
        .and_then(|()| producer.commit_transaction(PROBE_TIMEOUT));
    if committed.is_err() {
        let _ = producer.abort_transaction(PROBE_TIMEOUT);
    }
    committed
}
