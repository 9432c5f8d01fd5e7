//! The topic catalogue: every topic the hub reads or writes besides the canonical ones.
//!
//! Raw topics hold the senders' original bytes (`raw.<source>.<format>`); dead-letter topics
//! (`dlq.<stage>`) hold rejected input with the reason in headers. Canonical topics come from
//! [`CANONICAL`](crate::CANONICAL).

/// Raw topics, one per source kind and wire format.
pub const RAW_TOPICS: &[&str] = &[
    "raw.his.hl7v2",
    "raw.lab.hl7v2",
    "raw.imaging.hl7v2",
    "raw.imaging.dicom",
    "raw.insurance.settlement",
    "raw.his.table",
    "raw.lab.table",
];

/// Stages that reject input, each with its dead-letter topic `dlq.<stage>`.
pub const DLQ_STAGES: &[&str] = &[
    "connector-hl7",
    "connector-insurance",
    "connector-imaging",
    "connector-table",
    "normaliser",
    "record",
    "monitor",
];

/// Partitions of raw and canonical topics: the parallelism available to each consuming stage.
/// Keys (facility + message id, person id) keep each source's and each person's order.
pub const DATA_PARTITIONS: i32 = 4;

/// The dead-letter topic of `stage`.
pub fn dlq_topic(stage: &str) -> String {
    format!("dlq.{stage}")
}
