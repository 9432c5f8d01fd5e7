//! `connector-insurance`: NHSA-shaped insurance settlement records (settlements, cancellations
//! 2208/2305, reversals 2601) from the insurance bureau into `raw.insurance.settlement`, one
//! record per Kafka message, durable before anyone is told so.
//!
//! Two ways in, one path through:
//! - [`http`]: `POST /v1/settlements` (HTTPS with [`tls`]), a per-sender bearer token
//!   ([`auth`]), a JSON array of records (or `{"records": [...]}`), answered per record after
//!   the broker confirmed every accepted one (commit-then-answer);
//! - [`dropfolder`]: each sender's `incoming/` folder of JSON Lines and CSV files, moved to
//!   `done/` or `failed/` (with an errors sidecar) only once every record is durable.
//!
//! Both cut input into records ([`records`], [`csv_records`]) and hand them to [`ingest`], which
//! validates each with `hub_settlement::validate`, produces valid ones to the raw topic and
//! invalid ones to `dlq.connector-insurance` with their field errors. [`producer`] replaces the
//! producer after broker failures; [`metrics`] are `hub_insurance_*`; [`settings`] documents
//! every option (see `connector-insurance.example.yaml`).
//!
//! [`Connector::bind`] binds the listeners (tests use port 0) and [`Connector::run`] serves until
//! the shutdown future completes, then drains requests, finishes the file under way and flushes.

pub mod auth;
pub mod csv_records;
pub mod dropfolder;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod producer;
pub mod records;
mod service;
pub mod settings;
pub mod tls;

pub use service::{Connector, RunError, run};
pub use settings::{SenderSettings, Settings};

/// The service name: `service` label of every metric, `hub-error-stage` of dead letters.
pub const SERVICE: &str = "connector-insurance";
