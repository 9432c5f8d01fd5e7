//! The consume-normalise-produce loop (at-least-once, idempotent producer).
//!
//! Messages are normalised one after another (the EMPI needs that order per person), but their
//! output is not awaited in turn: each message's deliveries join an ordered in-flight queue, and
//! its input offset is stored only when every one of its events has been acknowledged by the
//! broker, in input order. A crash therefore repeats messages and never skips one; event ids are
//! deterministic, so the repeats converge downstream.
//!
//! Bad input goes to `dlq.normaliser` (original bytes, key and headers, plus the reason) and the
//! partition moves on. A transient failure of the EMPI's database is retried with backoff on the
//! same message. A failed delivery stops the loop with an error after storing every offset that
//! is safe; the service exits non-zero and, restarted, resumes after the last stored offset.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use hub_kafka::consumer::HubConsumer;
use hub_kafka::dlq::{DeadLetter, DlqPublisher, SourcePosition};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{BorrowedMessage, Headers, OwnedHeaders};
use hub_kafka::{ErrorKind, EventProducer, KafkaFailure, OutRecord};
use tracing::{info, warn};

use crate::codecs::Codecs;
use crate::envelope::envelope_from;
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, StageError};

type Pending = Pin<Box<dyn Future<Output = Result<Done, KafkaFailure>> + Send>>;

/// A message whose output the broker has acknowledged.
struct Done {
    topic: String,
    partition: i32,
    offset: i64,
    entities: Vec<&'static str>,
}

/// Everything the loop needs.
pub struct Runner {
    /// The input.
    pub consumer: HubConsumer,
    /// The output.
    pub producer: EventProducer,
    /// Dead letters.
    pub dlq: DlqPublisher,
    /// Map, resolve, map codes.
    pub pipeline: Pipeline,
    /// Encoders.
    pub codecs: Codecs,
    /// Metrics.
    pub metrics: Metrics,
    /// Most messages in flight.
    pub max_in_flight: usize,
}

impl Runner {
    /// Runs until `shutdown` completes (then drains what is in flight) or a delivery fails.
    ///
    /// # Errors
    /// A delivery failed or the consumer failed; every safe offset was stored first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        let mut in_flight: FuturesOrdered<Pending> = FuturesOrdered::new();
        let outcome = loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                    if let Err(e) = self.finish(done) {
                        break Err(e);
                    }
                }
                message = self.consumer.recv(), if in_flight.len() < self.max_in_flight => {
                    let message = match message {
                        Ok(message) => message,
                        Err(e) if e.kind == ErrorKind::Transient => {
                            // An input topic not created yet, a broker restarting: keep polling.
                            warn!(error = %e, "Consumer error; polling on.");
                            self.metrics.retries.with_label_values(&["consumer"]).inc();
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                        Err(e) => break Err(anyhow::anyhow!("consumer failed: {e}")),
                    };
                    match self.handle(&message, &mut shutdown).await {
                        Some(pending) => in_flight.push_back(pending),
                        None => break Ok(()),
                    }
                }
            }
        };
        // Drain: every acknowledged message's offset is stored, in order, up to the first failure.
        let mut result = outcome;
        while let Some(done) = in_flight.next().await {
            if result.is_ok() {
                result = self.finish(done);
            }
        }
        if let Err(e) = self.consumer.commit_stored() {
            warn!(error = %e, "Committing offsets at shutdown failed; the last messages will repeat.");
        }
        if let Err(e) = self.producer.flush(Duration::from_secs(10)) {
            warn!(error = %e, "Flushing the producer at shutdown failed.");
        }
        info!("Normaliser stopped.");
        result
    }

    fn finish(&self, done: Result<Done, KafkaFailure>) -> anyhow::Result<()> {
        let done = done.map_err(|e| anyhow::anyhow!("a canonical event was not delivered: {e}"))?;
        for entity in &done.entities {
            self.metrics.produced.with_label_values(&[entity]).inc();
        }
        self.consumer
            .store(&done.topic, done.partition, done.offset + 1)
            .map_err(|e| anyhow::anyhow!("storing the offset failed: {e}"))
    }

    /// Normalises one message and enqueues its output; `None` when shutdown came first.
    async fn handle(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Option<Pending> {
        let raw = envelope_from(message);
        self.metrics
            .received
            .with_label_values(&[raw.topic.as_str()])
            .inc();
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let outcome = self.pipeline.normalise(&raw).await;
            self.metrics
                .normalise_seconds
                .observe(started.elapsed().as_secs_f64());
            let result = match outcome {
                Ok(events) => self.produce(&raw, events).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(pending) => return Some(pending),
                Err(StageError::BadData { code, detail }) => {
                    return self.dead_letter(message, code, &detail, shutdown).await;
                }
                Err(StageError::Transient(cause)) => {
                    warn!(cause = %cause, retry_in_ms = backoff.as_millis(), "Transient failure; retrying the same message.");
                    self.metrics.retries.with_label_values(&["database"]).inc();
                    tokio::select! {
                        () = shutdown.as_mut() => return None,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn produce(
        &self,
        raw: &hub_schemas::raw::RawEnvelope,
        events: Vec<hub_schemas::AnyEvent>,
    ) -> Result<Pending, StageError> {
        let mut deliveries = VecDeque::with_capacity(events.len());
        let mut entities = Vec::with_capacity(events.len());
        for event in &events {
            let payload = self.codecs.encode(event).map_err(|e| StageError::BadData {
                code: "canonical_encode_failed",
                detail: format!("{} does not fit its schema: {e}", event.contract().entity),
            })?;
            let record = OutRecord {
                topic: event.contract().topic,
                key: event.person_id().as_bytes(),
                payload: &payload,
                headers: None,
            };
            let delivery = self
                .producer
                .enqueue(record)
                .await
                .map_err(|e| StageError::Transient(format!("enqueue failed: {e}")))?;
            deliveries.push_back(delivery);
            entities.push(event.contract().entity);
        }
        let (topic, partition, offset) = (raw.topic.clone(), raw.partition, raw.offset);
        Ok(Box::pin(async move {
            for delivery in deliveries {
                delivery.await?;
            }
            Ok(Done {
                topic,
                partition,
                offset,
                entities,
            })
        }))
    }

    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        code: &'static str,
        detail: &str,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Option<Pending> {
        self.metrics.rejected.with_label_values(&[code]).inc();
        let headers = message.headers().map(|h| {
            h.iter().fold(OwnedHeaders::new(), |acc, header| {
                acc.insert(hub_kafka::rdkafka::message::Header {
                    key: header.key,
                    value: header.value,
                })
            })
        });
        let letter = DeadLetter {
            error_code: code,
            detail,
            source: Some(SourcePosition {
                topic: message.topic(),
                partition: message.partition(),
                offset: message.offset(),
            }),
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            let key = message.key().unwrap_or_default();
            let payload = message.payload().unwrap_or_default();
            match self
                .dlq
                .publish(key, payload, headers.as_ref(), letter)
                .await
            {
                Ok(_) => break,
                Err(e) => {
                    warn!(error = %e, "Dead-letter publish failed; retrying.");
                    self.metrics.retries.with_label_values(&["dlq"]).inc();
                    tokio::select! {
                        () = shutdown.as_mut() => return None,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        let done = Done {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            entities: Vec::new(),
        };
        Some(Box::pin(async move { Ok(done) }))
    }
}
