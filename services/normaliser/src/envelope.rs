//! Reading a raw Kafka message, or a dead letter of one, into a [`RawEnvelope`].

use hub_kafka::headers;
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{
    BorrowedHeaders, BorrowedMessage, Header, Headers, OwnedHeaders,
};
use hub_schemas::raw::RawEnvelope;

/// The envelope of `message`: its bytes, position and `hub-*` headers. Missing headers are left
/// empty; the mapping decides whether it can do without them.
pub fn envelope_from(message: &BorrowedMessage<'_>) -> RawEnvelope {
    let mut envelope = RawEnvelope {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().unwrap_or_default().to_vec(),
        payload: message.payload().unwrap_or_default().to_vec(),
        ..RawEnvelope::default()
    };
    if let Some(found) = message.headers() {
        read_headers(&mut envelope, found);
    }
    envelope
}

/// A dead letter of `dlq.normaliser` and what it says about its input.
#[derive(Debug)]
pub struct DeadLetterInput {
    /// The input as it was first read: the original bytes, key and envelope headers, and the
    /// ORIGINAL raw topic, partition and offset (so provenance and event ids are those a first
    /// success would have had).
    pub raw: RawEnvelope,
    /// The error code it was dead-lettered with.
    pub error_code: String,
    /// The dead letter's headers (the envelope's in front), for a new dead letter.
    pub headers: OwnedHeaders,
}

/// Rebuilds the raw input of a dead letter; `None` when the letter lacks its source position
/// (`hub-source-topic/partition/offset`), without which it cannot be re-driven faithfully.
pub fn envelope_from_dead_letter(message: &BorrowedMessage<'_>) -> Option<DeadLetterInput> {
    let found = message.headers()?;
    let text = |key: &str| {
        found
            .iter()
            .find(|h| h.key == key)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let mut raw = RawEnvelope {
        topic: text(headers::SOURCE_TOPIC).filter(|t| !t.is_empty())?,
        partition: text(headers::SOURCE_PARTITION)?.parse().ok()?,
        offset: text(headers::SOURCE_OFFSET)?.parse().ok()?,
        key: message.key().unwrap_or_default().to_vec(),
        payload: message.payload().unwrap_or_default().to_vec(),
        ..RawEnvelope::default()
    };
    read_headers(&mut raw, found);
    Some(DeadLetterInput {
        raw,
        error_code: text(headers::ERROR_CODE).unwrap_or_default(),
        headers: owned(found),
    })
}

/// An owned copy of `found`, in order.
pub fn owned(found: &BorrowedHeaders) -> OwnedHeaders {
    found.iter().fold(OwnedHeaders::new(), |acc, header| {
        acc.insert(Header {
            key: header.key,
            value: header.value,
        })
    })
}

fn read_headers(envelope: &mut RawEnvelope, found: &BorrowedHeaders) {
    for header in found.iter() {
        let value = header
            .value
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned();
        match header.key {
            headers::FACILITY => envelope.facility = value,
            headers::SOURCE => envelope.source = value,
            headers::CONTENT_TYPE => envelope.content_type = value,
            headers::CHARSET => envelope.charset = value,
            headers::MESSAGE_ID => envelope.message_id = value,
            headers::SYNTHETIC => envelope.synthetic = value == "true",
            headers::RECEIVED_AT => {
                envelope.received_at_ms = chrono::DateTime::parse_from_rfc3339(&value)
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_default();
            }
            _ => {}
        }
    }
}
