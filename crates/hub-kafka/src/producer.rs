//! The idempotent producer.
//!
//! `enable.idempotence=true` (which implies `acks=all` and at most five requests in flight with
//! ordering kept) means a record whose delivery report says success is on every in-sync replica,
//! and a retry inside librdkafka never duplicates or reorders it. That report is the only thing a
//! connector may acknowledge on.
//!
//! Records are enqueued without waiting for earlier ones (librdkafka batches them); each caller
//! awaits only its own delivery future. A full local queue is back-pressure: [`EventProducer::send`]
//! waits for room instead of failing.

use std::future::Future;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use crate::error::KafkaFailure;
use crate::settings::KafkaSettings;

pub use rdkafka::producer::future_producer::Delivery;

/// Latency versus batching trade-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProducerProfile {
    /// A sender waits for each ACK (MLLP, HTTP): small linger.
    LowLatency,
    /// Bulk streams (normaliser output, replays): larger batches.
    Throughput,
}

/// One record to produce.
#[derive(Debug, Clone)]
pub struct OutRecord<'a> {
    /// Target topic.
    pub topic: &'a str,
    /// Partitioning key (facility + message id for raw topics, person id for canonical ones).
    pub key: &'a [u8],
    /// Value bytes.
    pub payload: &'a [u8],
    /// Headers, if any.
    pub headers: Option<OwnedHeaders>,
}

impl<'a> OutRecord<'a> {
    /// The rdkafka record for this one.
    pub(crate) fn into_future_record(self) -> FutureRecord<'a, [u8], [u8]> {
        let record = FutureRecord::to(self.topic)
            .key(self.key)
            .payload(self.payload);
        match self.headers {
            Some(headers) => record.headers(headers),
            None => record,
        }
    }
}

/// Turns librdkafka's delivery future into the record's outcome.
pub(crate) async fn outcome(delivery: DeliveryFuture) -> Result<Delivery, KafkaFailure> {
    match delivery.await {
        Ok(Ok(delivery)) => Ok(delivery),
        Ok(Err((error, _message))) => Err(KafkaFailure::from(error)),
        Err(_canceled) => Err(KafkaFailure::from(KafkaError::Canceled)),
    }
}

/// The hub's idempotent, `acks=all` producer. Cheap to clone.
#[derive(Clone)]
pub struct EventProducer {
    inner: FutureProducer,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer").finish_non_exhaustive()
    }
}

impl EventProducer {
    /// Creates the producer. No connection is made until the first send.
    ///
    /// # Errors
    /// Invalid configuration.
    pub fn new(
        settings: &KafkaSettings,
        client_id: &str,
        profile: ProducerProfile,
    ) -> Result<Self, KafkaFailure> {
        let mut config = settings.client_config(client_id);
        let linger_ms = match profile {
            ProducerProfile::LowLatency => "2",
            ProducerProfile::Throughput => "20",
        };
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", linger_ms)
            .set(
                "message.timeout.ms",
                settings.message_timeout_ms.to_string(),
            )
            .set("queue.buffering.max.messages", "100000")
            .set("queue.buffering.max.kbytes", "262144");
        // Operator pass-through options win over the defaults above.
        for (key, value) in &settings.librdkafka_options {
            config.set(key, value);
        }
        Ok(Self {
            inner: config.create()?,
        })
    }

    /// Enqueues `record` and returns a future of its delivery report, waiting (asynchronously)
    /// while the local queue is full. The returned future does not borrow the producer, so many
    /// records can be in flight at once.
    ///
    /// # Errors
    /// The record is rejected before it is queued (too large, unknown topic in the cache).
    pub async fn enqueue(
        &self,
        record: OutRecord<'_>,
    ) -> Result<impl Future<Output = Result<Delivery, KafkaFailure>> + Send + 'static, KafkaFailure>
    {
        let mut future_record = record.into_future_record();
        loop {
            match self.inner.send_result(future_record) {
                Ok(delivery) => return Ok(outcome(delivery)),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    future_record = returned;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(KafkaFailure::from(error)),
            }
        }
    }

    /// Produces one record and waits until the broker has it durably (or it failed).
    ///
    /// # Errors
    /// The delivery failed; see [`KafkaFailure::kind`](crate::KafkaFailure) for what to do.
    pub async fn send(&self, record: OutRecord<'_>) -> Result<Delivery, KafkaFailure> {
        self.enqueue(record).await?.await
    }

    /// Produces many records, all enqueued before any report is awaited, and returns each
    /// record's outcome in input order.
    pub async fn send_all<'a>(
        &self,
        records: impl IntoIterator<Item = OutRecord<'a>>,
    ) -> Vec<Result<Delivery, KafkaFailure>> {
        let mut pending = Vec::new();
        for record in records {
            pending.push(self.enqueue(record).await);
        }
        let mut outcomes = Vec::with_capacity(pending.len());
        for queued in pending {
            outcomes.push(match queued {
                Ok(delivery) => delivery.await,
                Err(failure) => Err(failure),
            });
        }
        outcomes
    }

    /// Waits up to `timeout` for every queued record to be delivered (at shutdown).
    ///
    /// # Errors
    /// Records were still queued when the timeout passed.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaFailure> {
        self.inner.flush(timeout).map_err(KafkaFailure::from)
    }

    /// The underlying rdkafka producer, for what this wrapper does not cover.
    pub fn inner(&self) -> &FutureProducer {
        &self.inner
    }
}
