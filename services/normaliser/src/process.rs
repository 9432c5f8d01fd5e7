//! One raw message through the pipeline to encoded records, shared by every loop (at-least-once,
//! transactional, replay, re-drive): transient failures are retried on the same message with
//! backoff and never skipped; bad data comes back as a rejection for the loop to dead-letter.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use hub_schemas::AnyEvent;
use hub_schemas::raw::RawEnvelope;
use tracing::warn;

use crate::codecs::Codecs;
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, StageError};

/// One canonical event, encoded and addressed.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// `canonical.<entity>.v1`, after the configured topic prefix.
    pub topic: String,
    /// The entity (metric label).
    pub entity: &'static str,
    /// Partitioning key: the person id.
    pub key: String,
    /// Confluent wire-format Avro.
    pub payload: Vec<u8>,
}

/// What became of one message.
#[derive(Debug)]
pub enum Outcome {
    /// Its events, ready to produce (possibly none).
    Events(Vec<Encoded>),
    /// The message itself is at fault.
    Rejected {
        /// Bounded error code.
        code: &'static str,
        /// Explanation without personal data.
        detail: String,
    },
    /// Shutdown came while a transient failure was being retried.
    Stopped,
}

/// The pipeline, the encoders and the metrics: everything but Kafka.
#[derive(Debug)]
pub struct Processor {
    /// Map, resolve, map codes.
    pub pipeline: Pipeline,
    /// Encoders.
    pub codecs: Codecs,
    /// Metrics.
    pub metrics: Metrics,
    /// Put in front of every canonical topic name (empty in production).
    pub topic_prefix: String,
}

impl Processor {
    /// Normalises and encodes `raw`, retrying transient failures until `shutdown`.
    pub async fn process(
        &self,
        raw: &RawEnvelope,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Outcome {
        self.metrics
            .received
            .with_label_values(&[raw.topic.as_str()])
            .inc();
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let outcome = self.pipeline.normalise(raw).await;
            let encoded = outcome.and_then(|events| self.encode(&events));
            self.metrics
                .normalise_seconds
                .observe(started.elapsed().as_secs_f64());
            match encoded {
                Ok(records) => return Outcome::Events(records),
                Err(StageError::BadData { code, detail }) => {
                    return Outcome::Rejected { code, detail };
                }
                Err(StageError::Transient(cause)) => {
                    warn!(cause = %cause, retry_in_ms = backoff.as_millis(), "Transient failure; retrying the same message.");
                    self.metrics.retries.with_label_values(&["database"]).inc();
                    tokio::select! {
                        () = shutdown.as_mut() => return Outcome::Stopped,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    fn encode(&self, events: &[AnyEvent]) -> Result<Vec<Encoded>, StageError> {
        events
            .iter()
            .map(|event| {
                let payload = self.codecs.encode(event).map_err(|e| StageError::BadData {
                    code: "canonical_encode_failed",
                    detail: format!("{} does not fit its schema: {e}", event.contract().entity),
                })?;
                Ok(Encoded {
                    topic: format!("{}{}", self.topic_prefix, event.contract().topic),
                    entity: event.contract().entity,
                    key: event.person_id().to_owned(),
                    payload,
                })
            })
            .collect()
    }
}
