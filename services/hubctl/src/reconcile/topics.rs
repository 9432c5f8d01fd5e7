//! Reads whole topics, every partition from its low to its high watermark at the time of the
//! call, with a plain assigned consumer (no group, nothing committed): what the broker holds,
//! copies included.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hub_kafka::KafkaSettings;
use hub_kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use hub_kafka::rdkafka::message::{BorrowedMessage, Headers};
use hub_kafka::rdkafka::{Message, Offset, TopicPartitionList};

/// One record of a topic, as much of it as the reconciliation needs.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Topic.
    pub topic: String,
    /// Offset.
    pub offset: i64,
    /// The `hub-message-id` header (empty when absent).
    pub message_id: String,
    /// The value.
    pub payload: Vec<u8>,
}

const TIMEOUT: Duration = Duration::from_secs(15);

fn header(message: &BorrowedMessage<'_>, key: &str) -> String {
    message
        .headers()
        .and_then(|h| h.iter().find(|h| h.key == key))
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

/// Every record of `topic`; a topic that does not exist has none.
///
/// # Errors
/// The broker did not answer, or the records up to the high watermark did not arrive within
/// `deadline`.
pub fn read(
    settings: &KafkaSettings,
    topic: &str,
    keep_payload: bool,
    deadline: Duration,
) -> anyhow::Result<Vec<Stored>> {
    let mut config = settings.client_config("hubctl-reconcile");
    config
        .set(
            "group.id",
            format!("hubctl-reconcile-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("isolation.level", "read_uncommitted");
    let consumer: BaseConsumer = config.create().context("creating a consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .with_context(|| format!("metadata of {topic}"))?;
    let Some(meta) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(Vec::new());
    };
    let mut assignment = TopicPartitionList::new();
    let mut ends = Vec::new();
    for partition in meta.partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition.id(), TIMEOUT)
            .with_context(|| format!("watermarks of {topic}/{}", partition.id()))?;
        if high > low {
            assignment.add_partition_offset(topic, partition.id(), Offset::Offset(low))?;
            ends.push((partition.id(), high));
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&assignment)?;
    let started = Instant::now();
    while !ends.is_empty() {
        if started.elapsed() > deadline {
            bail!("{topic}: the records up to the high watermark did not arrive in {deadline:?}");
        }
        let Some(polled) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = polled.with_context(|| format!("reading {topic}"))?;
        let (partition, offset) = (message.partition(), message.offset());
        let Some(end) = ends.iter().position(|(p, _)| *p == partition) else {
            continue;
        };
        if offset >= ends[end].1 {
            ends.swap_remove(end);
            continue;
        }
        out.push(Stored {
            topic: topic.to_owned(),
            offset,
            message_id: header(&message, hub_kafka::headers::MESSAGE_ID),
            payload: if keep_payload {
                message.payload().unwrap_or_default().to_vec()
            } else {
                Vec::new()
            },
        });
        if offset + 1 >= ends[end].1 {
            ends.swap_remove(end);
        }
    }
    Ok(out)
}
