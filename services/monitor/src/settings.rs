//! The monitor's settings (`HUB__...` environment, or a YAML file with `--config`).

use std::path::PathBuf;

use hub_kafka::KafkaSettings;
use hub_telemetry::LogFormat;
use secrecy::SecretString;
use serde::Deserialize;

/// The canonical entities the monitor consumes.
pub const CONSUMED: &[&str] = &[
    "encounter",
    "settlement",
    "referral",
    "lab-result",
    "imaging-study",
    "imaging-report",
    "identity-link",
];

/// The entity name given to the dead-letter topics in [`Settings::topics`].
pub const DEAD_LETTER: &str = "dead-letter";

/// Settings of the monitor service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The Kafka cluster.
    pub kafka: KafkaSettings,
    /// Schema registry base URL; writer schemas are fetched from it by id.
    pub registry_url: String,
    /// PostgreSQL URL of the monitor's database (created and migrated on start).
    pub database_url: SecretString,
    /// Read `database_url` from this file instead.
    pub database_url_file: Option<PathBuf>,
    /// Most pooled PostgreSQL connections.
    pub max_connections: u32,
    /// Prefix put in front of every canonical topic name, consumed and produced (empty in
    /// production; tests use a random prefix).
    pub topic_prefix: String,
    /// Consumer group (every instance uses the same one: partitions are shared out).
    pub group_id: String,
    /// Most records per database transaction.
    pub batch_max_records: usize,
    /// Longest wait for a batch to fill, in milliseconds, counted from its first record.
    pub batch_max_wait_ms: u64,
    /// Directory of the terminology files (`facilities.csv` is the one the indicators need).
    pub terminology_dir: PathBuf,
    /// Targets per province and year (`deploy/monitor/targets.yaml`).
    pub targets_file: PathBuf,
    /// Critical-value thresholds per test code (`deploy/monitor/critical-values.yaml`).
    pub critical_values_file: PathBuf,
    /// Counties (six-digit GB/T 2260 codes) whose indicators are exported as gauges.
    pub counties: Vec<String>,
    /// Seconds between two refreshes of the gauges from the database.
    pub refresh_secs: u64,
    /// Seconds between samples of the consumer lag (`hub_kafka_consumer_lag_messages`); 0: off.
    pub lag_interval_secs: u64,
    /// Smallest published cell: ratios with a smaller denominator and counts below it are
    /// suppressed (china-standards.md section 6).
    pub min_cell: i64,
    /// Offset of local time from UTC in hours for month boundaries (China: +8, no DST).
    pub utc_offset_hours: i32,
    /// Lab results older than this (by event time) raise no alert: a replay of history must not
    /// page anyone. 0 disables the limit.
    pub alert_max_age_secs: u64,
    /// A facility of the county with no event for this long is shown (and exported) as silent.
    pub silent_after_secs: u64,
    /// Address of the dashboard, the JSON API, `/metrics`, `/healthz` and `/readyz`.
    pub listen: String,
    /// Log line format.
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            kafka: KafkaSettings::default(),
            registry_url: "http://127.0.0.1:8081".to_owned(),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/hub_monitor"),
            database_url_file: None,
            max_connections: 6,
            topic_prefix: String::new(),
            group_id: "monitor".to_owned(),
            batch_max_records: 500,
            batch_max_wait_ms: 200,
            terminology_dir: PathBuf::from("deploy/terminology"),
            targets_file: PathBuf::from("deploy/monitor/targets.yaml"),
            critical_values_file: PathBuf::from("deploy/monitor/critical-values.yaml"),
            counties: vec!["210281".to_owned()],
            refresh_secs: 30,
            lag_interval_secs: 15,
            min_cell: 5,
            utc_offset_hours: 8,
            alert_max_age_secs: 86_400,
            silent_after_secs: 86_400,
            listen: "127.0.0.1:9320".to_owned(),
            log_format: LogFormat::default(),
        }
    }
}

impl Settings {
    /// The consumed topics with `topic_prefix` applied, each with its entity name: the
    /// canonical ones, and the dead-letter topics of the other stages ([`DEAD_LETTER`]; only
    /// their headers are read, for the data-quality figures).
    pub fn topics(&self) -> Vec<(String, &'static str)> {
        let canonical = hub_schemas::CANONICAL
            .iter()
            .filter(|c| CONSUMED.contains(&c.entity))
            .map(|c| (format!("{}{}", self.topic_prefix, c.topic), c.entity));
        let dead_letters = hub_schemas::topics::DLQ_STAGES
            .iter()
            .filter(|stage| **stage != crate::SERVICE)
            .map(|stage| {
                let topic = hub_schemas::topics::dlq_topic(stage);
                (format!("{}{topic}", self.topic_prefix), DEAD_LETTER)
            });
        canonical.chain(dead_letters).collect()
    }

    /// The topic clinical alerts are produced to.
    pub fn alert_topic(&self) -> String {
        format!(
            "{}{}",
            self.topic_prefix,
            <hub_schemas::ClinicalAlert as hub_schemas::CanonicalEvent>::CONTRACT.topic
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_loads() {
        let path =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/monitor.example.yaml"));
        let settings: Settings = hub_config::load_layers(Some(path), Vec::new()).unwrap();
        let topics = settings.topics();
        assert_eq!(
            topics.iter().filter(|(_, e)| *e != DEAD_LETTER).count(),
            CONSUMED.len()
        );
        assert!(topics.contains(&("dlq.normaliser".to_owned(), DEAD_LETTER)));
        assert!(
            !topics.iter().any(|(t, _)| t == "dlq.monitor"),
            "not its own"
        );
        assert_eq!(settings.alert_topic(), "canonical.clinical-alert.v1");
    }
}
