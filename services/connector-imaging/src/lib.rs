//! `connector-imaging`: DICOM study, series and instance metadata from the county's modalities,
//! PACS and RIS into `raw.imaging.dicom`, one instance per Kafka message, durable before anyone
//! is told so. Pixel data never reaches Kafka.
//!
//! Two ways in, one shape out:
//! - [`dropfolder`]: DICOM Part-10 files dropped into each sender's `incoming/` folder, read by
//!   dicom-object up to the pixel data ([`instance::read_part10`]), moved to `done/` or
//!   `failed/` only once the outcome is durable;
//! - [`http`]: `POST /v1/instances` (HTTPS via `hub_ingress::tls`, a per-sender bearer token),
//!   DICOM JSON instances as QIDO-RS returns them, answered after the broker confirmed them.
//!
//! Both yield the hub's DICOM JSON of the instance ([`dicomjson`], PS3.18 F.2), with Chinese
//! text decoded whatever Specific Character Set form the sender used ([`charset`]), produced by
//! [`ingest`] with key `<sender>:<SOP Instance UID>`; unreadable files and bodies go to
//! `dlq.connector-imaging` with an error code ([`instance`] lists them). [`metrics`] are
//! `hub_imaging_*`; [`settings`] documents every option (see `connector-imaging.example.yaml`).
//!
//! [`Connector::bind`] binds the listeners (tests use port 0) and [`Connector::run`] serves until
//! the shutdown future completes, then drains requests, finishes the file under way and flushes.

pub mod charset;
pub mod dicomjson;
pub mod dropfolder;
pub mod http;
pub mod ingest;
pub mod instance;
pub mod lengths;
pub mod metrics;
mod service;
pub mod settings;

pub use service::{Connector, RunError, run};
pub use settings::{SenderSettings, Settings};

/// The service name: `service` label of every metric, `hub-error-stage` of dead letters.
pub const SERVICE: &str = "connector-imaging";
