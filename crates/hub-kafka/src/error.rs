//! Classifying Kafka failures: whose fault, and whether to retry.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// What a caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The broker is unavailable or slow: retry later, acknowledge nothing meanwhile.
    Transient,
    /// The input itself cannot be written (too large, invalid): dead-letter it.
    BadData,
    /// Configuration, authorisation or a fenced producer: stop and let an operator act.
    Fatal,
}

/// A Kafka failure with its classification.
#[derive(Debug, thiserror::Error)]
#[error("kafka {kind:?} failure: {error}")]
pub struct KafkaFailure {
    /// What to do about it.
    pub kind: ErrorKind,
    /// The client's error.
    #[source]
    pub error: KafkaError,
}

impl From<KafkaError> for KafkaFailure {
    fn from(error: KafkaError) -> Self {
        Self {
            kind: classify(&error),
            error,
        }
    }
}

/// Classifies a librdkafka error.
pub fn classify(error: &KafkaError) -> ErrorKind {
    use RDKafkaErrorCode as C;
    match error.rdkafka_error_code() {
        Some(
            C::MessageSizeTooLarge | C::InvalidMessage | C::InvalidMessageSize | C::InvalidRecord,
        ) => ErrorKind::BadData,
        Some(
            C::Fatal
            | C::InvalidProducerEpoch
            | C::ProducerFenced
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::TransactionalIdAuthorizationFailed
            | C::SaslAuthenticationFailed
            | C::InvalidConfig,
        ) => ErrorKind::Fatal,
        _ => match error {
            KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) => ErrorKind::Fatal,
            _ => ErrorKind::Transient,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_error_code() {
        let timeout = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert_eq!(classify(&timeout), ErrorKind::Transient);
        let too_big = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert_eq!(classify(&too_big), ErrorKind::BadData);
        let fenced = KafkaError::MessageProduction(RDKafkaErrorCode::ProducerFenced);
        assert_eq!(classify(&fenced), ErrorKind::Fatal);
    }
}
