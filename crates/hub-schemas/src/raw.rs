//! The raw envelope: a message exactly as a connector stored it on a `raw.*` topic, with the
//! metadata from its headers (see `schemas/envelope/README.md`).

/// One raw message with its envelope headers and position. Plain data: no Kafka types, so that
/// mapping code can be tested without a broker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEnvelope {
    /// Topic it was read from, e.g. `raw.lab.hl7v2`.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Kafka key (`<facility>:<message id>`).
    pub key: Vec<u8>,
    /// `hub-facility`: the sending facility's code.
    pub facility: String,
    /// `hub-source`: `his`, `lab`, `imaging`, `insurance`.
    pub source: String,
    /// `hub-content-type`, e.g. `x-application/hl7-v2+er7`.
    pub content_type: String,
    /// `hub-charset`: how to read the bytes, e.g. `UTF-8`, `GB18030`.
    pub charset: String,
    /// `hub-received-at` as epoch milliseconds.
    pub received_at_ms: i64,
    /// `hub-message-id`: the sender's id (HL7 MSH-10, NHSA setl_id, ...).
    pub message_id: String,
    /// True when the message comes from the simulator (synthetic data).
    pub synthetic: bool,
    /// The original bytes, untouched.
    pub payload: Vec<u8>,
}
