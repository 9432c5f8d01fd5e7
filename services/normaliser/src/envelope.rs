//! Reading a raw Kafka message into a [`RawEnvelope`].

use hub_kafka::headers;
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{BorrowedMessage, Headers};
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
    envelope
}
