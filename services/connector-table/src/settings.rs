//! Settings, loaded by `hub_config` from defaults, an optional YAML file (`--config`) and
//! `HUB__<SECTION>__<KEY>` environment variables. Every field is documented in
//! `connector-table.example.yaml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hub_kafka::KafkaSettings;
use hub_telemetry::LogFormat;
use secrecy::SecretString;
use serde::Deserialize;

/// The service's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address of the operational listener (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: String,
    /// The broker.
    pub kafka: KafkaSettings,
    /// The hub's own PostgreSQL database holding cursors, the ledger of delivered row versions
    /// and the reconciliation results (created on first start).
    pub state_database_url: SecretString,
    /// A file holding `state_database_url` instead (a container secret; wins over the value).
    pub state_database_url_file: Option<PathBuf>,
    /// Dead-letter topic of rows the broker refuses (too large).
    pub dlq_topic: String,
    /// Create the raw and DLQ topics at start-up if they are missing.
    pub create_topics: bool,
    /// Partitions of topics created at start-up.
    pub topic_partitions: i32,
    /// Time between two polls of a table that was caught up, in milliseconds.
    pub poll_interval_ms: u64,
    /// Rows read, produced and committed together (one cursor advance per batch).
    pub batch_size: u32,
    /// Only rows whose change time is older than the database clock minus this window are read,
    /// in milliseconds; it must exceed the longest write transaction of the source (see
    /// `poller.rs`). Transactions that stay open longer are found by the reconciliation.
    pub safety_window_ms: u64,
    /// The reconciliation (source versus hub, per day).
    pub reconcile: ReconcileSettings,
    /// On shutdown, how long the batch under way gets to finish, in seconds.
    pub shutdown_grace_secs: u64,
    /// Log line format.
    pub log_format: LogFormat,
    /// The front-end-processor databases and their tables.
    pub sources: Vec<SourceSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            admin_listen: "127.0.0.1:9468".to_owned(),
            kafka: KafkaSettings::default(),
            state_database_url: SecretString::from(
                "postgres://postgres@127.0.0.1:5432/hub_connector_table",
            ),
            state_database_url_file: None,
            dlq_topic: hub_schemas::topics::dlq_topic(crate::SERVICE),
            create_topics: true,
            topic_partitions: hub_schemas::topics::DATA_PARTITIONS,
            poll_interval_ms: 1000,
            batch_size: 1000,
            safety_window_ms: 60_000,
            reconcile: ReconcileSettings::default(),
            shutdown_grace_secs: 15,
            log_format: LogFormat::default(),
            sources: Vec::new(),
        }
    }
}

/// When and how far back source and hub are compared.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileSettings {
    /// Time between two reconciliations of a table, in seconds (it also runs once at start-up,
    /// when the table is first caught up).
    pub interval_secs: u64,
    /// Days compared, counting back from the cursor's day (the source may purge older rows).
    pub days: u32,
    /// Re-send rows the source has but the hub never delivered (transactions that stayed open
    /// longer than the safety window). Without it they are only counted.
    pub resend_late_rows: bool,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            interval_secs: 3600,
            days: 3,
            resend_late_rows: true,
        }
    }
}

/// One front-end-processor database of one facility.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    /// Facility code (`hub-facility`, key prefix); must be in the facility registry.
    pub facility: String,
    /// Source kind (`hub-source` and the topic `raw.<source>.table`): `his`, `lab`, ...
    pub source: String,
    /// `postgres://...` or `mysql://...` (MariaDB too); read-only access is enough.
    #[serde(default)]
    pub url: Option<SecretString>,
    /// A file holding the URL instead (a mounted secret); wins over `url`.
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// Session time zone, which must be the zone the source writes `timestamp`/`DATETIME`
    /// change times in: an IANA name (`Asia/Shanghai`) for PostgreSQL, an offset (`+08:00`) or
    /// a name for MySQL/MariaDB. Default: UTC for PostgreSQL (sqlx's), the server's for MySQL.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Mark every row from this source as synthetic (`hub-synthetic: true`).
    #[serde(default)]
    pub synthetic: bool,
    /// The tables polled.
    pub tables: Vec<TableSettings>,
}

/// One intermediate table (or view).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    /// Logical name: metric label, part of message ids and of the cursor's key; unique per
    /// facility, `[A-Za-z0-9_-]` only.
    pub name: String,
    /// What a row is: `encounter`, `diagnosis` or `lab_result`.
    pub kind: TableKind,
    /// The table or view, optionally schema-qualified (`schema.table`).
    pub table: String,
    /// Its single-column primary key.
    pub pk: String,
    /// The column the source sets on every insert and update (a trigger or the HIS itself);
    /// a `timestamp`/`timestamptz` (PostgreSQL) or `DATETIME`/`TIMESTAMP` (MySQL) column,
    /// ideally indexed together with the key.
    pub change_time: String,
    /// Hub field name to source column name; see `hub_table` for each kind's fields.
    pub columns: BTreeMap<String, String>,
}

/// The kinds of rows, each mapped to canonical events by `hub-table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// A visit (门诊挂号 / 住院登记): `canonical.encounter.v1`.
    Encounter,
    /// A diagnosis of a visit: `canonical.diagnosis.v1`.
    Diagnosis,
    /// One lab observation: `canonical.lab-result.v1`.
    LabResult,
}

impl TableKind {
    /// The name in row documents.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Encounter => "encounter",
            Self::Diagnosis => "diagnosis",
            Self::LabResult => "lab_result",
        }
    }
}

/// The usage line printed for `--help` and on a usage error.
pub const USAGE: &str = "usage: connector-table [--config <file.yaml>]";

/// Parses the arguments after the program name: `--config <file>`, `--help`; `Ok(None)` asks
/// for the usage.
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

/// Checks what serde cannot: names, uniqueness, non-empty lists.
///
/// # Errors
/// A description of the first problem.
pub fn validate(settings: &Settings) -> Result<(), String> {
    if settings.sources.is_empty() {
        return Err("no sources configured".into());
    }
    if settings.batch_size == 0 {
        return Err("batch_size must be positive".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for source in &settings.sources {
        if source.facility.is_empty() || source.facility.contains(':') {
            return Err("a source's facility is empty or contains ':'".into());
        }
        if !plain_name(&source.source) {
            return Err(format!("source {:?}: not a plain name", source.source));
        }
        if source.url.is_none() && source.url_file.is_none() {
            return Err(format!("source of {}: no url or url_file", source.facility));
        }
        for table in &source.tables {
            if !plain_name(&table.name) {
                return Err(format!("table name {:?}: use [A-Za-z0-9_-]", table.name));
            }
            if !seen.insert((source.facility.clone(), table.name.clone())) {
                return Err(format!(
                    "table {} configured twice for {}",
                    table.name, source.facility
                ));
            }
            if table.columns.is_empty() {
                return Err(format!("table {}: no columns mapped", table.name));
            }
        }
    }
    Ok(())
}

fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_loads_and_validates() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/connector-table.example.yaml");
        let settings: Settings =
            hub_config::load_layers(Some(std::path::Path::new(file)), Vec::new()).unwrap();
        validate(&settings).unwrap();
        assert_eq!(settings.sources.len(), 2);
        assert_eq!(settings.sources[0].tables.len(), 3);
        assert_eq!(settings.sources[0].tables[2].kind, TableKind::LabResult);
        assert_eq!(settings.safety_window_ms, 60_000);
        assert_eq!(settings.reconcile.days, 3);
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut settings = Settings::default();
        assert!(validate(&settings).is_err(), "no sources");
        let table = TableSettings {
            name: "visits".into(),
            kind: TableKind::Encounter,
            table: "v".into(),
            pk: "id".into(),
            change_time: "t".into(),
            columns: BTreeMap::from([("encounter_id".into(), "visit_no".into())]),
        };
        settings.sources.push(SourceSettings {
            facility: "H1".into(),
            source: "his".into(),
            url: Some(SecretString::from("postgres://x")),
            url_file: None,
            time_zone: None,
            synthetic: false,
            tables: vec![table.clone(), table],
        });
        assert!(validate(&settings).unwrap_err().contains("twice"));
        settings.sources[0].tables.pop();
        validate(&settings).unwrap();
        settings.sources[0].tables[0].name = "a b".into();
        assert!(validate(&settings).is_err());
        let unknown = vec![("HUB__NOPE".to_owned(), "1".to_owned())];
        assert!(hub_config::load_layers::<Settings>(None, unknown).is_err());
    }
}
