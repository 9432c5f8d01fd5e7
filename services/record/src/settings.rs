//! The record service's settings (`HUB__...` environment, or a YAML file with `--config`).

use std::path::PathBuf;

use hub_kafka::KafkaSettings;
use hub_telemetry::LogFormat;
use secrecy::SecretString;
use serde::Deserialize;

use crate::api::auth::TokenEntry;

/// Settings of the record service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The Kafka cluster.
    pub kafka: KafkaSettings,
    /// Schema registry base URL (ours or Confluent's); writer schemas are fetched from it by id.
    pub registry_url: String,
    /// PostgreSQL URL of the record's database (created and migrated on start).
    pub database_url: SecretString,
    /// Read `database_url` from this file instead.
    pub database_url_file: Option<PathBuf>,
    /// Most pooled PostgreSQL connections (the sink holds one per batch, the API the rest).
    pub max_connections: u32,
    /// Prefix put in front of every canonical topic name consumed (empty in production; tests
    /// use a random prefix so that they never share topics).
    pub topic_prefix: String,
    /// Consumer group.
    pub group_id: String,
    /// Most records written in one transaction.
    pub batch_max_records: usize,
    /// Longest wait for a batch to fill, in milliseconds, counted from its first record.
    pub batch_max_wait_ms: u64,
    /// Seconds between samples of the sink's consumer lag (`hub_kafka_consumer_lag_messages`);
    /// 0 turns it off.
    pub lag_interval_secs: u64,
    /// Run the sink (false: serve the API only, e.g. a read replica).
    pub sink_enabled: bool,
    /// Address of the query API, `/openapi.json`, `/metrics`, `/healthz` and `/readyz`.
    pub listen: String,
    /// Bearer tokens, stored as the SHA-256 of the token (hex), never the token itself.
    pub tokens: Vec<TokenEntry>,
    /// Identifier system OID of the NHSA insurance number (`psn_no`) in `Person.identifiers`.
    pub insurance_oid: String,
    /// Log line format.
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            kafka: KafkaSettings::default(),
            registry_url: "http://127.0.0.1:8081".to_owned(),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/hub_record"),
            database_url_file: None,
            max_connections: 8,
            topic_prefix: String::new(),
            group_id: "record".to_owned(),
            batch_max_records: 500,
            batch_max_wait_ms: 200,
            lag_interval_secs: 15,
            sink_enabled: true,
            listen: "127.0.0.1:9310".to_owned(),
            tokens: Vec::new(),
            insurance_oid: "2.25.239410680594744812958318364745605549231".to_owned(),
            log_format: LogFormat::default(),
        }
    }
}

impl Settings {
    /// The canonical topics consumed, with `topic_prefix` applied, each with its entity name.
    pub fn topics(&self) -> Vec<(String, &'static str)> {
        hub_schemas::CANONICAL
            .iter()
            .map(|c| (format!("{}{}", self.topic_prefix, c.topic), c.entity))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_loads_and_its_tokens_are_valid() {
        let path =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/record.example.yaml"));
        let settings: Settings = hub_config::load_layers(Some(path), Vec::new()).unwrap();
        assert_eq!(settings.topics().len(), hub_schemas::CANONICAL.len());
        assert_eq!(settings.topics()[0].0, "canonical.clinical-alert.v1");
        crate::api::auth::Tokens::new(&settings.tokens).unwrap();
    }
}
