//! Header names of raw and dead-letter topics (the contract in `schemas/envelope/README.md`).

/// Facility code of the sender.
pub const FACILITY: &str = "hub-facility";
/// Source kind: `his`, `lab`, `imaging`, `insurance`.
pub const SOURCE: &str = "hub-source";
/// Content type of the value, e.g. [`HL7_V2_ER7`].
pub const CONTENT_TYPE: &str = "hub-content-type";
/// Character set needed to read the value, e.g. `GB18030`.
pub const CHARSET: &str = "hub-charset";
/// When the connector received the message (RFC 3339).
pub const RECEIVED_AT: &str = "hub-received-at";
/// The sender's message id (e.g. HL7 MSH-10).
pub const MESSAGE_ID: &str = "hub-message-id";
/// `true` when the sender is a simulated facility: every event derived from it is synthetic.
pub const SYNTHETIC: &str = "hub-synthetic";
/// Dead letters: bounded snake_case reason.
pub const ERROR_CODE: &str = "hub-error-code";
/// Dead letters: human explanation without personal data.
pub const ERROR_DETAIL: &str = "hub-error-detail";
/// Dead letters: the stage that rejected the input.
pub const ERROR_STAGE: &str = "hub-error-stage";
/// Dead letters: where the input was read from.
pub const SOURCE_TOPIC: &str = "hub-source-topic";
/// Dead letters: partition of the input.
pub const SOURCE_PARTITION: &str = "hub-source-partition";
/// Dead letters: offset of the input.
pub const SOURCE_OFFSET: &str = "hub-source-offset";

/// `hub-content-type` of HL7 v2 messages in their pipe-and-hat (ER7) encoding, as HL7 names it.
pub const HL7_V2_ER7: &str = "x-application/hl7-v2+er7";
/// `hub-content-type` of JSON records (NHSA settlements).
pub const JSON: &str = "application/json";
