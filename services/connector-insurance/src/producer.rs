//! The connector's producer, replaced after a delivery failure that is not the record's fault.
//!
//! The same work-around as `connector-hl7`'s `producer.rs` (tansu 0.6 breaks an idempotent
//! producer whose epoch was bumped after a failure, so every later record fails although the
//! broker is back): replace the producer with a fresh one, at most once per
//! [`MIN_RESET_INTERVAL`]. This is the second copy of the rule; it belongs in `hub-kafka`
//! (a `ResettableProducer`) and both connectors should use that.

use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use hub_kafka::rdkafka::error::RDKafkaErrorCode;
use hub_kafka::{ErrorKind, EventProducer, KafkaFailure, KafkaSettings, ProducerProfile};
use prometheus::{IntCounter, Registry};
use tracing::warn;

/// Shortest time between two replacements.
pub const MIN_RESET_INTERVAL: Duration = Duration::from_secs(5);

/// The current producer, replaceable.
pub struct SharedProducer {
    settings: KafkaSettings,
    client_id: String,
    current: RwLock<EventProducer>,
    last_reset: Mutex<Instant>,
    resets: IntCounter,
}

impl std::fmt::Debug for SharedProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedProducer")
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

impl SharedProducer {
    /// Creates the producer (low-latency profile) and registers
    /// `hub_insurance_producer_resets_total` in `registry`.
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
            "hub_insurance_producer_resets_total",
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
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Looks at a failed delivery and replaces the producer if the failure calls for it.
    pub fn on_failure(&self, failure: &KafkaFailure) {
        use RDKafkaErrorCode as C;
        let ours = matches!(
            failure.error.rdkafka_error_code(),
            Some(C::QueueFull | C::PurgeQueue | C::PurgeInflight)
        );
        if failure.kind == ErrorKind::BadData || ours {
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
                // librdkafka's teardown blocks: drop the old producer on its own thread.
                std::thread::spawn(move || drop(old));
                self.resets.inc();
                warn!(error = %failure.error, "Kafka producer replaced after a delivery error.");
            }
            Err(e) => warn!(error = %e, "Cannot replace the Kafka producer."),
        }
    }
}
