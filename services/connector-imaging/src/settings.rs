//! Settings, loaded by `hub_config` from defaults, an optional YAML file (`--config`) and
//! `HUB__<SECTION>__<KEY>` environment variables. Every field is documented in
//! `connector-imaging.example.yaml`.

use std::path::PathBuf;

pub use hub_ingress::tls::TlsSettings;
use hub_kafka::KafkaSettings;
use hub_telemetry::LogFormat;
use serde::Deserialize;

/// The service's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address of the DICOM JSON API (`POST /v1/instances`).
    pub api_listen: String,
    /// Address of the operational listener (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: String,
    /// TLS for the API listener; none serves plain HTTP (behind a TLS-terminating proxy only).
    pub tls: Option<TlsSettings>,
    /// The broker.
    pub kafka: KafkaSettings,
    /// Raw topic of instance metadata.
    pub topic: String,
    /// Dead-letter topic of unreadable files and bodies.
    pub dlq_topic: String,
    /// Create the raw and DLQ topics at start-up if they are missing.
    pub create_topics: bool,
    /// Partitions of topics created at start-up.
    pub topic_partitions: i32,
    /// Largest request body accepted, in bytes; a larger one gets 413.
    pub max_body_bytes: usize,
    /// Most instances in one request; more gets 413.
    pub max_instances_per_request: usize,
    /// `Retry-After` of a 503 (the broker did not take every instance), in seconds.
    pub retry_after_secs: u64,
    /// Most API requests under way at once (each holds its body until the broker confirmed it);
    /// one more is answered 503 `busy` with `Retry-After`, its body unread. At least 1.
    pub max_in_flight_requests: usize,
    /// The drop-folder scanner.
    pub drop_folder: DropFolderSettings,
    /// On shutdown, how long requests and the file being read get to finish, in seconds; then
    /// the producer is flushed for as long again.
    pub shutdown_grace_secs: u64,
    /// Log line format.
    pub log_format: LogFormat,
    /// The senders (modalities, PACS, RIS) allowed to deliver.
    pub senders: Vec<SenderSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            api_listen: "127.0.0.1:8444".to_owned(),
            admin_listen: "127.0.0.1:9467".to_owned(),
            tls: None,
            kafka: KafkaSettings::default(),
            topic: "raw.imaging.dicom".to_owned(),
            dlq_topic: hub_schemas::topics::dlq_topic(crate::SERVICE),
            create_topics: true,
            topic_partitions: hub_schemas::topics::DATA_PARTITIONS,
            max_body_bytes: 16 * 1024 * 1024,
            max_instances_per_request: 1000,
            retry_after_secs: 30,
            max_in_flight_requests: hub_ingress::inflight::DEFAULT_MAX_IN_FLIGHT_REQUESTS,
            drop_folder: DropFolderSettings::default(),
            shutdown_grace_secs: 15,
            log_format: LogFormat::default(),
            senders: Vec::new(),
        }
    }
}

/// How drop folders are scanned (the same for every sender).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DropFolderSettings {
    /// Time between two scans of every `incoming/` folder, in milliseconds; also the retry
    /// interval of a file the broker did not take.
    pub poll_interval_ms: u64,
    /// A file is read only after its size and modification time stayed the same for this many
    /// seconds (for senders that write in place); `.part` files are never read at all.
    pub stable_secs: u64,
    /// Largest file read, in bytes; a larger one is moved to `failed/` with a sidecar. Only the
    /// header is parsed (reading stops at the pixel data), so this may be large.
    pub max_file_bytes: u64,
    /// An unreadable file goes to the DLQ with at most this many of its first bytes (the whole
    /// file stays in `failed/`).
    pub dlq_max_bytes: usize,
}

impl Default for DropFolderSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 2000,
            stable_secs: 5,
            max_file_bytes: 4 * 1024 * 1024 * 1024,
            dlq_max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// One sender (a modality, a PACS, a RIS) and how it authenticates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderSettings {
    /// Sender code: `hub-facility` of its instances and the key prefix; no `:`.
    pub code: String,
    /// SHA-256 (lower-case hex) of each bearer token the sender may use (several during a
    /// rotation). Generate with `printf %s "$TOKEN" | sha256sum`.
    #[serde(default)]
    pub token_sha256: Vec<String>,
    /// Whether the sender may use the HTTP API (a valid token of a sender without it gets 403).
    #[serde(default = "default_true")]
    pub http: bool,
    /// The sender's drop folder (holding `incoming/`, `done/`, `failed/`, created if missing).
    #[serde(default)]
    pub drop_dir: Option<PathBuf>,
    /// Mark everything from this sender as synthetic (`hub-synthetic: true`).
    #[serde(default)]
    pub synthetic: bool,
}

const fn default_true() -> bool {
    true
}

impl SenderSettings {
    /// A sender with defaults for everything but the code.
    pub fn new(code: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            token_sha256: Vec::new(),
            http: true,
            drop_dir: None,
            synthetic: false,
        }
    }
}

impl hub_ingress::auth::SenderConfig for SenderSettings {
    fn code(&self) -> &str {
        &self.code
    }

    fn token_sha256(&self) -> &[String] {
        &self.token_sha256
    }

    fn http(&self) -> bool {
        self.http
    }

    fn synthetic(&self) -> bool {
        self.synthetic
    }
}

/// The usage line printed for `--help` and on a usage error.
pub const USAGE: &str = "usage: connector-imaging [--config <file.yaml>]";

/// Parses the arguments after the program name: `--config <file>`, `--config=<file>`, `--help`;
/// `Ok(None)` asks for the usage.
///
/// # Errors
/// An unknown argument, or `--config` without a file.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
) -> Result<Option<Option<PathBuf>>, String> {
    match hub_config::cli::parse_args(args) {
        Ok(hub_config::cli::Command::Run(config)) => Ok(Some(config)),
        Ok(hub_config::cli::Command::Help) => Ok(None),
        Err(e) => Err(format!("{e}\n{USAGE}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_loads() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/connector-imaging.example.yaml"
        );
        let settings: Settings =
            hub_config::load_layers(Some(std::path::Path::new(file)), Vec::new()).unwrap();
        assert_eq!(settings.topic, "raw.imaging.dicom");
        assert_eq!(settings.dlq_topic, "dlq.connector-imaging");
        assert_eq!(settings.senders.len(), 2);
        assert!(settings.senders[1].drop_dir.is_some());
        assert!(!settings.senders[1].http);
        assert!(hub_ingress::auth::Senders::from_settings(&settings.senders).is_ok());
        let unknown = vec![("HUB__NOPE".to_owned(), "1".to_owned())];
        assert!(hub_config::load_layers::<Settings>(None, unknown).is_err());
    }
}
