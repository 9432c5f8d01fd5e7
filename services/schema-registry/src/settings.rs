//! Settings, loaded by `hub_config` from defaults, an optional YAML file and `HUB__<KEY>`
//! environment variables (e.g. `HUB__LISTEN=0.0.0.0:8081`, `HUB__DATABASE_URL=...`).

use std::path::PathBuf;

use hub_telemetry::LogFormat;
use secrecy::SecretString;
use serde::Deserialize;

/// The service's settings.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address of the HTTP listener (the Confluent API, `/metrics`, `/healthz`, `/readyz`).
    pub listen: String,
    /// PostgreSQL URL. If the database does not exist, the service creates it (connecting to the
    /// `postgres` database of the same server), so the role needs `CREATEDB` on first start.
    pub database_url: SecretString,
    /// Read `database_url` from this file instead (keeps credentials out of the environment).
    pub database_url_file: Option<PathBuf>,
    /// Size of the connection pool.
    pub max_connections: u32,
    /// On start, register every canonical hub schema under its subject with `FULL_TRANSITIVE`.
    pub seed_canonical: bool,
    /// Log line format.
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8081".to_owned(),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/hub_registry"),
            database_url_file: None,
            max_connections: 10,
            seed_canonical: true,
            log_format: LogFormat::default(),
        }
    }
}

/// The usage line printed for `--help` and on a usage error.
pub const USAGE: &str = "usage: schema-registry [--config <file.yaml>]";

pub use hub_config::cli::{Command, UsageError, parse_args};

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn command_line() {
        assert_eq!(parse_args(args(&[])).unwrap(), Command::Run(None));
        let file = Some(PathBuf::from("r.yaml"));
        assert_eq!(
            parse_args(args(&["--config", "r.yaml"])).unwrap(),
            Command::Run(file.clone())
        );
        assert_eq!(
            parse_args(args(&["--config=r.yaml"])).unwrap(),
            Command::Run(file)
        );
        assert_eq!(parse_args(args(&["--help"])).unwrap(), Command::Help);
        assert!(parse_args(args(&["--config"])).is_err());
        assert!(parse_args(args(&["serve"])).is_err());
    }

    #[test]
    fn defaults_and_environment() {
        let settings: Settings = hub_config::load_layers(None, Vec::new()).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:8081");
        assert!(settings.seed_canonical);
        let env = vec![
            ("HUB__SEED_CANONICAL".to_owned(), "false".to_owned()),
            ("HUB__LOG_FORMAT".to_owned(), "json".to_owned()),
        ];
        let settings: Settings = hub_config::load_layers(None, env).unwrap();
        assert!(!settings.seed_canonical);
        assert_eq!(settings.log_format, LogFormat::Json);
        let unknown = vec![("HUB__NOPE".to_owned(), "1".to_owned())];
        assert!(hub_config::load_layers::<Settings>(None, unknown).is_err());
    }

    #[test]
    fn the_example_file_loads() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/schema-registry.example.yaml");
        let settings: Settings =
            hub_config::load_layers(Some(std::path::Path::new(file)), Vec::new()).unwrap();
        assert_eq!(settings.max_connections, 10);
    }
}
