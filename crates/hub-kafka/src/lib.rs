//! Kafka plumbing shared by every hub service.
//!
//! - [`settings`]: broker connection settings (TLS/SASL, librdkafka pass-through) from config.
//! - [`producer`]: the idempotent `acks=all` producer. Sends are enqueued without waiting for
//!   each other; a caller awaits the delivery report of its own record only, and that report is
//!   what a connector's ACK waits for.
//! - [`transactional`]: the transactional producer for consume-transform-produce stages.
//! - [`consumer`]: consumers that store an offset only after the work on its message is done,
//!   plus [`consumer::OffsetLedger`] for work that completes out of order.
//! - [`resettable`]: a producer replaced after a non-data delivery failure (a broker workaround).
//! - [`admin`]: idempotent topic creation.
//! - [`headers`] and [`dlq`]: the header contract of raw and dead-letter topics.
//! - [`error`]: whose fault a Kafka error is and whether to retry.

pub mod admin;
pub mod consumer;
pub mod dlq;
pub mod error;
pub mod headers;
pub mod lag;
pub mod producer;
pub mod resettable;
pub mod settings;
pub mod transactional;

pub use error::{ErrorKind, KafkaFailure};
pub use producer::{EventProducer, OutRecord, ProducerProfile};
pub use settings::KafkaSettings;
pub use transactional::TransactionalProducer;

/// Re-exported so services use the same rdkafka types as this crate.
pub use rdkafka;
