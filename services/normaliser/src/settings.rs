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
    /// Put in front of every canonical topic name produced (empty in production; end-to-end
    /// tests use a random prefix so that parallel runs never share canonical topics).
    pub topic_prefix: String,
    /// Consumer group.
    pub group_id: String,
    /// Most messages in flight: being normalised, or whose output is still waiting for the
    /// broker's acknowledgement.
    pub max_in_flight: usize,
    /// How long a canonical event may wait for the broker before its delivery fails, in
    /// milliseconds (librdkafka's `message.timeout.ms` for this service's producer; the
    /// `kafka.message_timeout_ms` of the connectors is kept short for their senders' ACKs). No
    /// sender waits on the normaliser: it waits out a slow or restarting broker (intake stops at
    /// `max_in_flight`) instead of giving up after seconds. A failed delivery still stops the
    /// service without storing the offset, so the message is read again after the restart.
    pub delivery_timeout_ms: u32,
    /// Most messages normalised at once (messages of one Kafka key always go one after another).
    /// The EMPI's database pool holds this many connections plus two.
    pub concurrency: usize,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub admin_listen: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Exactly-once delivery with Kafka transactions: `auto` (detect at start-up), `on`, `off`.
    pub transactions: Transactions,
    /// This replica's name: the transactional id is `<group_id>-<instance>`. Keep it stable
    /// across restarts of the same replica (a restart then fences the old one) and unique among
    /// replicas running at once.
    pub instance: String,
    /// Transactional mode: commit a transaction after this many input messages...
    pub transaction_max_messages: usize,
    /// ...or when its first message is this old, in milliseconds, whichever comes first.
    pub transaction_max_ms: u64,
    /// How often `hub_kafka_consumer_lag_messages` is refreshed, in seconds (0: never).
    pub lag_interval_secs: u64,
    /// Create the output topics at start-up if missing. Turn off where topics are managed
    /// elsewhere (and the service may not create them), or on brokers without CreateTopics.
    pub create_topics: bool,
}

/// Whether the normaliser runs consume-transform-produce in Kafka transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transactions {
    /// Probe the broker at start-up; use transactions where it completes one, else `off`.
    #[default]
    Auto,
    /// Always (start-up fails where the broker lacks transactions).
    On,
    /// The idempotent producer with offsets stored after delivery (at-least-once).
    Off,
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
                "raw.imaging.dicom",
                "raw.insurance.settlement",
                "raw.his.table",
                "raw.lab.table",
            ]
            .map(str::to_owned)
            .to_vec(),
            topic_prefix: String::new(),
            group_id: "normaliser".to_owned(),
            max_in_flight: 5_000,
            delivery_timeout_ms: 300_000,
            concurrency: 8,
            admin_listen: "127.0.0.1:9301".to_owned(),
            log_format: LogFormat::default(),
            transactions: Transactions::default(),
            instance: "0".to_owned(),
            transaction_max_messages: 500,
            transaction_max_ms: 1_000,
            lag_interval_secs: 15,
            create_topics: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_loads_and_documents_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("normaliser.example.yaml");
        let loaded: Settings = hub_config::load_layers(Some(&path), std::iter::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        let defaults = Settings::default();
        assert_eq!(
            format!("{loaded:?}"),
            format!("{defaults:?}"),
            "the example shows the defaults"
        );
        assert_eq!(loaded.transactions, Transactions::Auto);
        let env = [("HUB__TRANSACTIONS".to_owned(), "off".to_owned())];
        let overridden: Settings =
            hub_config::load_layers(Some(&path), env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(overridden.transactions, Transactions::Off);
    }
}
