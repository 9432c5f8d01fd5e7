//! The transactional producer, for consume-transform-produce stages that need exactly-once.
//!
//! Output records and the input offsets are committed in one Kafka transaction; consumers
//! reading `read_committed` never see the output of an aborted attempt. librdkafka's
//! transactional calls block, so they run on the blocking pool.
//!
//! Note: the local test broker (tansu 0.6.0) does not advertise EndTxn, so transactions cannot
//! complete against it; this type is tested against librdkafka's in-process mock cluster, and
//! stages fall back to [`EventProducer`](crate::EventProducer) plus offsets stored after delivery
//! where the broker lacks transactions.

use std::future::Future;
use std::time::Duration;

use rdkafka::TopicPartitionList;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, Producer};

use crate::error::KafkaFailure;
use crate::producer::{Delivery, OutRecord, outcome};
use crate::settings::KafkaSettings;

/// How long a transactional control call may take before it fails.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// A producer whose records become visible only when their transaction commits.
#[derive(Clone)]
pub struct TransactionalProducer {
    inner: FutureProducer,
}

impl std::fmt::Debug for TransactionalProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionalProducer")
            .finish_non_exhaustive()
    }
}

impl TransactionalProducer {
    /// Creates the producer and initialises transactions for `transactional_id`, fencing any
    /// earlier instance with the same id (a restarted replica of the same stage and partition).
    ///
    /// # Errors
    /// Invalid configuration, or the coordinator cannot be reached in time.
    pub async fn new(
        settings: &KafkaSettings,
        client_id: &str,
        transactional_id: &str,
    ) -> Result<Self, KafkaFailure> {
        let mut config = settings.client_config(client_id);
        config
            .set("transactional.id", transactional_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "10")
            .set(
                "message.timeout.ms",
                settings.message_timeout_ms.to_string(),
            );
        for (key, value) in &settings.librdkafka_options {
            config.set(key, value);
        }
        let inner: FutureProducer = config.create()?;
        let producer = Self { inner };
        producer
            .blocking(|p| p.init_transactions(CONTROL_TIMEOUT))
            .await?;
        Ok(producer)
    }

    /// Starts a transaction.
    ///
    /// # Errors
    /// A transaction is already open, or the producer is in an error state.
    pub fn begin(&self) -> Result<(), KafkaFailure> {
        self.inner.begin_transaction().map_err(KafkaFailure::from)
    }

    /// Enqueues a record in the open transaction; the future resolves on its delivery report.
    ///
    /// # Errors
    /// The record cannot be queued.
    pub fn send(
        &self,
        record: OutRecord<'_>,
    ) -> Result<impl Future<Output = Result<Delivery, KafkaFailure>> + Send + 'static, KafkaFailure>
    {
        let delivery = self
            .inner
            .send_result(record.into_future_record())
            .map_err(|(e, _)| KafkaFailure::from(e))?;
        Ok(outcome(delivery))
    }

    /// Adds the consumer's next offsets to the open transaction, so that they commit with it.
    ///
    /// # Errors
    /// The coordinator refuses or times out; abort the transaction.
    pub async fn send_offsets(
        &self,
        offsets: TopicPartitionList,
        group: ConsumerGroupMetadata,
    ) -> Result<(), KafkaFailure> {
        self.blocking(move |p| p.send_offsets_to_transaction(&offsets, &group, CONTROL_TIMEOUT))
            .await
    }

    /// Commits the open transaction: its records and offsets become visible together.
    ///
    /// # Errors
    /// The commit failed; abort and redo the work from the last committed offsets.
    pub async fn commit(&self) -> Result<(), KafkaFailure> {
        self.blocking(|p| p.commit_transaction(CONTROL_TIMEOUT))
            .await
    }

    /// Aborts the open transaction: its records are never visible to `read_committed` readers.
    ///
    /// # Errors
    /// The abort failed; the producer must be recreated.
    pub async fn abort(&self) -> Result<(), KafkaFailure> {
        self.blocking(|p| p.abort_transaction(CONTROL_TIMEOUT))
            .await
    }

    async fn blocking(
        &self,
        call: impl FnOnce(&FutureProducer) -> Result<(), KafkaError> + Send + 'static,
    ) -> Result<(), KafkaFailure> {
        let producer = self.inner.clone();
        tokio::task::spawn_blocking(move || call(&producer))
            .await
            .map_err(|_| KafkaFailure::from(KafkaError::Canceled))?
            .map_err(KafkaFailure::from)
    }
}
