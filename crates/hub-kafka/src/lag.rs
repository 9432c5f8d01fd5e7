//! `hub_kafka_consumer_lag_messages{topic,partition}`: how many input messages the group has not
//! committed yet, per partition: the high watermark minus the group's committed offset (the low
//! watermark when nothing is committed), as `kafka-consumer-groups` reports it.
//!
//! A separate consumer that never joins the group asks the broker (OffsetFetch, ListOffsets)
//! every `lag_interval_secs`, on the blocking pool. It reads what the group committed, so the
//! figure trails the loop by up to the auto-commit interval (1 s) or one transaction. Labels are
//! bounded by the input topics' partition counts.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntGaugeVec, Opts, Registry};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, warn};

use crate::{KafkaFailure, KafkaSettings};

const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates and registers `hub_kafka_consumer_lag_messages{topic,partition}` in `registry`.
///
/// # Errors
/// The metric is already registered.
pub fn register_gauge(registry: &Registry) -> Result<IntGaugeVec, prometheus::Error> {
    let gauge = IntGaugeVec::new(
        Opts::new(
            "hub_kafka_consumer_lag_messages",
            "Input messages after the group's committed offset (high watermark - committed).",
        ),
        &["topic", "partition"],
    )?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

/// Starts sampling `group`'s lag on `topics` every `interval_secs` into `gauge` (0: never).
/// A client that cannot be created is logged and the lag is not reported; the service runs on.
/// Abort the returned task to stop.
pub fn spawn(
    kafka: &KafkaSettings,
    client_id: &str,
    group: &str,
    topics: &[String],
    gauge: IntGaugeVec,
    interval_secs: u64,
) -> Option<tokio::task::JoinHandle<()>> {
    if interval_secs == 0 {
        return None;
    }
    match LagMonitor::new(kafka, client_id, group, topics, gauge) {
        Ok(monitor) => Some(tokio::spawn(
            monitor.run(Duration::from_secs(interval_secs)),
        )),
        Err(e) => {
            warn!(error = %e, "Consumer lag will not be reported.");
            None
        }
    }
}

/// Samples the lag of one group on its input topics into a gauge.
pub struct LagMonitor {
    consumer: BaseConsumer,
    topics: Vec<String>,
    gauge: IntGaugeVec,
}

impl std::fmt::Debug for LagMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LagMonitor")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl LagMonitor {
    /// A monitor of `group` on `topics`, writing to `gauge` (labels `topic`, `partition`),
    /// with its own client id (e.g. `record-lag`).
    ///
    /// # Errors
    /// Invalid Kafka configuration.
    pub fn new(
        kafka: &KafkaSettings,
        client_id: &str,
        group: &str,
        topics: &[String],
        gauge: IntGaugeVec,
    ) -> Result<Self, KafkaFailure> {
        let consumer: BaseConsumer = kafka
            .client_config(client_id)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()?;
        Ok(Self {
            consumer,
            topics: topics.to_vec(),
            gauge,
        })
    }

    /// Queries the broker once and sets the gauge (blocking: call it on the blocking pool).
    ///
    /// # Errors
    /// The broker cannot be queried.
    pub fn sample(&self) -> Result<(), KafkaFailure> {
        for topic in &self.topics {
            let metadata = self.consumer.fetch_metadata(Some(topic), QUERY_TIMEOUT)?;
            let mut wanted = TopicPartitionList::new();
            for found in metadata.topics().iter().filter(|t| t.name() == topic) {
                for partition in found.partitions() {
                    wanted.add_partition(topic, partition.id());
                }
            }
            if wanted.count() == 0 {
                continue;
            }
            let committed = self.consumer.committed_offsets(wanted, QUERY_TIMEOUT)?;
            for element in committed.elements() {
                let (low, high) =
                    self.consumer
                        .fetch_watermarks(topic, element.partition(), QUERY_TIMEOUT)?;
                let position = match element.offset() {
                    Offset::Offset(committed) => committed,
                    _ => low,
                };
                self.gauge
                    .with_label_values(&[topic.as_str(), &element.partition().to_string()])
                    .set((high - position).max(0));
            }
        }
        Ok(())
    }

    /// Samples every `interval` until the task is dropped or aborted.
    pub async fn run(self, interval: Duration) {
        let monitor = Arc::new(self);
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            let sampling = Arc::clone(&monitor);
            match tokio::task::spawn_blocking(move || sampling.sample()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!(error = %e, "Sampling the consumer lag failed."),
                Err(_) => return,
            }
        }
    }
}
