//! The normaliser's settings (`HUB__...` environment, or a YAML file with `--config`).

use std::path::PathBuf;

use hub_kafka::KafkaSettings;
use hub_telemetry::LogFormat;
use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the normaliser.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The Kafka cluster.
    pub kafka: KafkaSettings,
    /// Schema registry base URL (ours or Confluent's).
    pub registry_url: String,
    /// PostgreSQL URL of the EMPI's database (created and migrated on start).
    pub database_url: SecretString,
    /// Read `database_url` from this file instead.
    pub database_url_file: Option<PathBuf>,
    /// The key of the EMPI's pseudonyms (HMAC-SHA256). Keep it secret and stable: changing it
    /// makes every stored identifier unrecognisable.
    pub pseudonym_key: SecretString,
    /// Read `pseudonym_key` from this file instead.
    pub pseudonym_key_file: Option<PathBuf>,
    /// Folder of the terminology files (facility registry, code maps).
    pub terminology_dir: PathBuf,
    /// Raw topics to consume.
    pub input_topics: Vec<String>,
    /// Consumer group.
    pub group_id: String,
    /// Most messages whose output is still waiting for the broker's acknowledgement.
    pub max_in_flight: usize,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub admin_listen: String,
    /// Log line format.
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            kafka: KafkaSettings::default(),
            registry_url: "http://127.0.0.1:8081".to_owned(),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/hub_empi"),
            database_url_file: None,
            pseudonym_key: SecretString::from(String::new()),
            pseudonym_key_file: None,
            terminology_dir: PathBuf::from("deploy/terminology"),
            input_topics: [
                "raw.his.hl7v2",
                "raw.lab.hl7v2",
                "raw.imaging.hl7v2",
                "raw.insurance.settlement",
            ]
            .map(str::to_owned)
            .to_vec(),
            group_id: "normaliser".to_owned(),
            max_in_flight: 5_000,
            admin_listen: "127.0.0.1:9301".to_owned(),
            log_format: LogFormat::default(),
        }
    }
}
