//! `connector-table`: incremental, lossless polling of the intermediate tables (中间表) that
//! HIS/LIS vendors fill on a facility's front-end processor (前置机), PostgreSQL or
//! MySQL/MariaDB, into `raw.<source>.table`, one JSON row document per row version.
//!
//! - [`poller`]: per table, a `(change time, key)` cursor, a safety window on the source's clock
//!   for transactions still in flight, and the cursor advanced only after every row of the batch
//!   is confirmed by Kafka (the module docs argue why nothing is lost).
//! - [`source`]: the SQL of each database, values read as text, cursor compared in the columns'
//!   own types.
//! - [`publish`]: rows to Kafka (raw envelope headers, deterministic message ids) and the DLQ.
//! - [`cursor`]: cursors, the ledger of delivered versions and reconciliation results in the
//!   hub's PostgreSQL.
//! - [`reconcile`]: per day, row count and hash of source versus hub; re-sends late rows.
//! - [`metrics`] (`hub_table_*`), [`settings`] (see `connector-table.example.yaml`).
//!
//! [`Connector::bind`] connects and prepares every table; [`Connector::run`] polls until the
//! shutdown future completes, then lets each table finish its batch.

pub mod cursor;
pub mod metrics;
pub mod poller;
pub mod publish;
pub mod reconcile;
mod service;
pub mod settings;
pub mod source;

pub use service::{Connector, RunError, run};
pub use settings::Settings;

/// The service name: `service` label of every metric, `hub-error-stage` of dead letters.
pub const SERVICE: &str = "connector-table";
