//! Settings, loaded by `hub_config` from defaults, an optional YAML file (`--config`) and
//! `HUB__<SECTION>__<KEY>` environment variables. Every field is documented in
//! `connector-hl7.example.yaml`.

use std::path::PathBuf;

use hub_kafka::KafkaSettings;
use hub_telemetry::LogFormat;
use serde::Deserialize;

/// The service's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address of the operational HTTP listener (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: String,
    /// The broker.
    pub kafka: KafkaSettings,
    /// Dead-letter topic for refused input.
    pub dlq_topic: String,
    /// Create the raw and DLQ topics at start-up if they are missing.
    pub create_topics: bool,
    /// Partitions of topics created at start-up.
    pub topic_partitions: i32,
    /// How long a key (facility + MSH-10) is remembered to count resends, in seconds.
    pub duplicate_window_secs: u64,
    /// How many keys are remembered at most (oldest forgotten first).
    pub duplicate_window_keys: usize,
    /// On shutdown, how long open connections get to finish their in-flight messages, in
    /// seconds; then the producer is flushed for as long again.
    pub shutdown_grace_secs: u64,
    /// Message bytes read from senders and not yet answered, over every listener and
    /// connection; beyond it connections stop reading until ACKs go out.
    pub max_in_flight_bytes: usize,
    /// Log line format.
    pub log_format: LogFormat,
    /// The MLLP listeners, one per facility and feed.
    pub listeners: Vec<ListenerSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            admin_listen: "127.0.0.1:9464".to_owned(),
            kafka: KafkaSettings::default(),
            dlq_topic: hub_schemas::topics::dlq_topic(crate::SERVICE),
            create_topics: true,
            topic_partitions: hub_schemas::topics::DATA_PARTITIONS,
            duplicate_window_secs: 3600,
            duplicate_window_keys: 100_000,
            shutdown_grace_secs: 15,
            max_in_flight_bytes: 256 * 1024 * 1024,
            log_format: LogFormat::default(),
            listeners: Vec::new(),
        }
    }
}

/// The kind of system feeding a listener; names the raw topic `raw.<source>.hl7v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Hospital information system (ADT, referrals).
    His,
    /// Laboratory information system (ORU^R01).
    Lab,
    /// Radiology/imaging (ORM, ORU reports).
    Imaging,
}

impl SourceKind {
    /// The `hub-source` header value and `source` metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::His => "his",
            Self::Lab => "lab",
            Self::Imaging => "imaging",
        }
    }
}

/// One MLLP listener: a facility's feed of one source kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSettings {
    /// Address to listen on, e.g. `0.0.0.0:2575`.
    pub bind: String,
    /// Code of the sending facility (`hub-facility`, the key prefix); must not contain `:`.
    pub facility: String,
    /// Source kind: `his`, `lab` or `imaging`.
    pub source: SourceKind,
    /// Raw topic; default `raw.<source>.hl7v2`.
    #[serde(default)]
    pub topic: Option<String>,
    /// Source addresses allowed to connect (exact IPs or CIDR blocks); empty allows any.
    #[serde(default)]
    pub allowed_sources: Vec<String>,
    /// Charset of messages whose MSH-18 is empty (an HL7 table 0211 name or `GBK`, `UTF-8`...).
    #[serde(default = "default_charset")]
    pub default_charset: String,
    /// TLS, optionally requiring client certificates.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Mark every message from this listener as synthetic (`hub-synthetic: true`), for a
    /// simulator or a training feed.
    #[serde(default)]
    pub synthetic: bool,
    /// Connections open at once on this listener; more are closed on accept.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Messages a sender may pipeline before reading their ACKs (per connection).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Largest message accepted, in bytes; a larger one gets `AE` and is skipped.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// A frame that has started must keep arriving: longest pause between reads, in seconds.
    #[serde(default = "default_read_timeout_secs")]
    pub read_timeout_secs: u64,
    /// A connection with no frame under way is closed after this many seconds.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Writing an ACK must finish within this many seconds, or the connection is closed.
    #[serde(default = "default_write_timeout_secs")]
    pub write_timeout_secs: u64,
}

/// TLS for one listener (PEM files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The listener's certificate chain.
    pub cert_file: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// CA bundle that client certificates must chain to; none disables client authentication.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// Names a client certificate must carry (one of them, as its subject CN or a DNS subject
    /// alternative name, ignoring ASCII case); empty: the listener's facility code.
    #[serde(default)]
    pub client_names: Vec<String>,
}

fn default_charset() -> String {
    "UTF-8".to_owned()
}
const fn default_max_connections() -> usize {
    64
}
const fn default_max_in_flight() -> usize {
    256
}
const fn default_max_message_bytes() -> usize {
    4 * 1024 * 1024
}
const fn default_read_timeout_secs() -> u64 {
    30
}
const fn default_idle_timeout_secs() -> u64 {
    600
}
const fn default_write_timeout_secs() -> u64 {
    30
}

impl ListenerSettings {
    /// A listener with defaults for everything but address, facility and source.
    pub fn new(bind: impl Into<String>, facility: impl Into<String>, source: SourceKind) -> Self {
        Self {
            bind: bind.into(),
            facility: facility.into(),
            source,
            topic: None,
            allowed_sources: Vec::new(),
            default_charset: default_charset(),
            tls: None,
            synthetic: false,
            max_connections: default_max_connections(),
            max_in_flight: default_max_in_flight(),
            max_message_bytes: default_max_message_bytes(),
            read_timeout_secs: default_read_timeout_secs(),
            idle_timeout_secs: default_idle_timeout_secs(),
            write_timeout_secs: default_write_timeout_secs(),
        }
    }

    /// The raw topic this listener writes to.
    pub fn topic(&self) -> String {
        self.topic
            .clone()
            .unwrap_or_else(|| format!("raw.{}.hl7v2", self.source.as_str()))
    }
}

/// The usage line printed for `--help` and on a usage error.
pub const USAGE: &str = "usage: connector-hl7 [--config <file.yaml>]";

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
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/connector-hl7.example.yaml");
        let settings: Settings =
            hub_config::load_layers(Some(std::path::Path::new(file)), Vec::new()).unwrap();
        assert_eq!(settings.listeners.len(), 3);
        assert_eq!(settings.listeners[1].topic(), "raw.lab.hl7v2");
        assert_eq!(settings.listeners[0].max_message_bytes, 4 * 1024 * 1024);
        assert!(settings.listeners[2].tls.is_some());
        assert_eq!(settings.dlq_topic, "dlq.connector-hl7");
    }

    #[test]
    fn the_compose_file_loads_with_registered_facilities() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/connector-hl7.yaml"
        );
        let settings: Settings =
            hub_config::load_layers(Some(std::path::Path::new(file)), Vec::new()).unwrap();
        let registry = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/terminology/facilities.csv"
        ))
        .unwrap();
        for listener in &settings.listeners {
            assert!(
                registry.contains(&format!("\n{},", listener.facility)),
                "{}",
                listener.facility
            );
        }
    }

    #[test]
    fn command_line_and_unknown_keys() {
        let args = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse_args(args(&[])).unwrap(), Some(None));
        assert_eq!(
            parse_args(args(&["--config", "c.yaml"])).unwrap(),
            Some(Some(PathBuf::from("c.yaml")))
        );
        assert_eq!(parse_args(args(&["-h"])).unwrap(), None);
        assert!(parse_args(args(&["serve"])).is_err());
        let unknown = vec![("HUB__NOPE".to_owned(), "1".to_owned())];
        assert!(hub_config::load_layers::<Settings>(None, unknown).is_err());
    }
}
