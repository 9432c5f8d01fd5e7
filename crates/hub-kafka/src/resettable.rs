//! A producer that is replaced when a delivery fails for a reason that is not the record's.
//!
//! An idempotent producer keeps a producer id, an epoch and per-partition sequence numbers.
//! After a delivery failure librdkafka repairs that state itself (epoch bump, KIP-360), and
//! Apache Kafka follows; brokers that implement it partially do not (tansu 0.6 loses its storage
//! task when a bumped epoch produces after a restart), and every later record fails although
//! the broker is back. So any failed delivery other than bad data replaces the producer with a
//! fresh one (a new producer id), at most once per [`MIN_RESET_INTERVAL`]. The old producer's
//! remaining records are purged (their senders get `AR` and resend, which is what a failed
//! delivery means anyway); it is dropped on its own thread, as librdkafka's teardown blocks.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rdkafka::error::RDKafkaErrorCode;

use crate::error::{ErrorKind, KafkaFailure};
use crate::producer::{EventProducer, ProducerProfile};
use crate::settings::KafkaSettings;
use hub_telemetry::Health;
use prometheus::{IntCounter, Registry};
use rdkafka::producer::Producer;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Shortest time between two replacements.
pub const MIN_RESET_INTERVAL: Duration = Duration::from_secs(5);

/// The current producer, replaceable.
pub struct ResettableProducer {
    settings: KafkaSettings,
    client_id: String,
    current: RwLock<EventProducer>,
    last_reset: Mutex<Instant>,
    resets: IntCounter,
}

impl std::fmt::Debug for ResettableProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResettableProducer")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Why the producer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// librdkafka refused the configuration.
    #[error(transparent)]
    Kafka(#[from] KafkaFailure),
    /// The reset counter cannot be registered.
    #[error(transparent)]
    Metrics(#[from] prometheus::Error),
}

impl ResettableProducer {
    /// Creates the producer (low-latency profile) and registers
    /// `hub_kafka_producer_resets_total` in `registry`.
    ///
    /// # Errors
    /// Invalid configuration, or the counter is already registered.
    pub fn new(
        settings: KafkaSettings,
        client_id: &str,
        registry: &Registry,
    ) -> Result<Self, ProducerError> {
        let producer = EventProducer::new(&settings, client_id, ProducerProfile::LowLatency)?;
        let resets = IntCounter::new(
            "hub_kafka_producer_resets_total",
            "Kafka producers replaced after unrecoverable delivery errors.",
        )?;
        registry.register(Box::new(resets.clone()))?;
        Ok(Self {
            settings,
            client_id: client_id.to_owned(),
            current: RwLock::new(producer),
            last_reset: Mutex::new(Instant::now()),
            resets,
        })
    }

    /// The producer to use now (cheap clone).
    pub fn get(&self) -> EventProducer {
        // A panic while swapping cannot leave a half-written producer: use it anyway.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Looks at a failed delivery and replaces the producer if the failure calls for it.
    pub fn on_failure(&self, failure: &KafkaFailure) {
        if !needs_reset(failure) {
            return;
        }
        {
            let Ok(mut last) = self.last_reset.lock() else {
                return;
            };
            if last.elapsed() < MIN_RESET_INTERVAL {
                return;
            }
            *last = Instant::now();
        }
        match EventProducer::new(&self.settings, &self.client_id, ProducerProfile::LowLatency) {
            Ok(fresh) => {
                let old = std::mem::replace(
                    &mut *self.current.write().unwrap_or_else(|e| e.into_inner()),
                    fresh,
                );
                std::thread::spawn(move || drop(old));
                self.resets.inc();
                warn!(error = %failure.error, "Kafka producer replaced after a delivery error.");
            }
            Err(e) => warn!(error = %e, "Cannot replace the Kafka producer."),
        }
    }
}

impl ResettableProducer {
    /// Keeps `health` ready while the broker answers a metadata request (checked every few
    /// seconds with the current producer) and until `stop` is cancelled.
    pub async fn watch_broker(self: Arc<Self>, health: Health, stop: CancellationToken) {
        loop {
            let probe = self.get();
            let reachable = tokio::task::spawn_blocking(move || {
                probe
                    .inner()
                    .client()
                    .fetch_metadata(None, Duration::from_secs(3))
                    .is_ok()
            })
            .await
            .unwrap_or(false);
            if reachable != health.is_ready() {
                info!(ready = reachable, "Broker reachability changed.");
            }
            health.set_ready(reachable && !stop.is_cancelled());
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }
}

/// Whether a delivery failure means the producer should be replaced: any failure but bad data
/// (the record itself), a full local queue, or our own purge of a replaced producer.
fn needs_reset(failure: &KafkaFailure) -> bool {
    use RDKafkaErrorCode as C;
    failure.kind != ErrorKind::BadData
        && !matches!(
            failure.error.rdkafka_error_code(),
            Some(C::QueueFull | C::PurgeQueue | C::PurgeInflight)
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::KafkaError;

    fn failure(code: RDKafkaErrorCode) -> KafkaFailure {
        KafkaFailure::from(KafkaError::MessageProduction(code))
    }

    #[test]
    fn failures_other_than_bad_data_reset_the_producer() {
        assert!(needs_reset(&failure(RDKafkaErrorCode::MessageTimedOut)));
        assert!(!needs_reset(&failure(
            RDKafkaErrorCode::MessageSizeTooLarge
        )));
        assert!(!needs_reset(&failure(RDKafkaErrorCode::PurgeInflight)));
        assert!(needs_reset(&failure(RDKafkaErrorCode::Unknown)));
        assert!(needs_reset(&failure(
            RDKafkaErrorCode::OutOfOrderSequenceNumber
        )));
        assert!(needs_reset(&failure(RDKafkaErrorCode::UnknownProducerId)));
    }

    #[test]
    fn resets_are_rate_limited_and_counted() {
        let registry = Registry::new();
        let settings = KafkaSettings::with_bootstrap("127.0.0.1:1");
        let shared = ResettableProducer::new(settings, "test", &registry).unwrap();
        shared.on_failure(&failure(RDKafkaErrorCode::Unknown));
        assert_eq!(shared.resets.get(), 0, "too soon after creation");
        *shared.last_reset.lock().unwrap() = Instant::now() - MIN_RESET_INTERVAL;
        shared.on_failure(&failure(RDKafkaErrorCode::PurgeQueue));
        assert_eq!(shared.resets.get(), 0, "our own purge never resets");
        shared.on_failure(&failure(RDKafkaErrorCode::Unknown));
        assert_eq!(shared.resets.get(), 1);
        let _ = shared.get();
    }
}
