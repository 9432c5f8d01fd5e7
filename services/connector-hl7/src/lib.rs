//! `connector-hl7`: HL7 v2 over MLLP from HIS, LIS and RIS interfaces into `raw.<source>.hl7v2`,
//! acknowledged only after the broker has the message (commit-then-ACK).
//!
//! Layout:
//! - [`settings`]: configuration and the command line;
//! - [`mllp`]: framing (decoder with the garbage, truncation and size rules);
//! - [`msh`]: the header fields read from the bytes; [`charset`]: MSH-18 and encodings;
//!   [`batch`]: FHS/BHS batches; [`rejection`]: refusal reasons and their codes;
//! - [`ack`]: the ACK message in the sender's version, separators and charset;
//! - [`ingest`]: raw/DLQ writes and the reply built from the delivery report;
//! - [`connection`]: one connection (pipelined, ordered ACKs, timeouts); [`budget`]: the
//!   connector-wide cap on message bytes in flight;
//!   [`server`]: accepting (allow-list, connection limit, TLS); [`tls`]; [`access`];
//! - [`producer`]: the producer, replaced after unrecoverable delivery errors;
//! - [`dedup`]: recently stored keys (resend count); [`metrics`]: `hub_hl7_*`.
//!
//! [`Connector::bind`] binds every listener (so tests can use port 0 and ask for the
//! addresses) and [`Connector::run`] serves until the shutdown future completes: it stops
//! accepting, lets connections finish their in-flight messages and ACKs, flushes the producer.

pub mod access;
pub mod ack;
pub mod batch;
pub mod budget;
pub mod charset;
pub mod connection;
pub mod dedup;
pub mod ingest;
pub mod metrics;
pub mod mllp;
pub mod msh;
pub mod producer;
pub mod rejection;
pub mod server;
mod service;
pub mod settings;
pub mod tls;

pub use service::{Connector, RunError, run};
pub use settings::{ListenerSettings, Settings, SourceKind};

/// The service name: `service` label of every metric, `hub-error-stage` of dead letters.
pub const SERVICE: &str = "connector-hl7";
