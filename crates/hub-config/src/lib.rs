//! Layered configuration for every hub service.
//!
//! Each service describes its settings as a serde struct and loads it with [`load`]. Values are
//! layered, later layers winning:
//!
//! 1. the struct's own defaults (`#[serde(default)]`),
//! 2. an optional YAML file (`--config <file>` or the `HUB_CONFIG` environment variable),
//! 3. environment variables `HUB__<SECTION>__<KEY>` (double underscore separates levels), e.g.
//!    `HUB__KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092`.
//!
//! Credentials are [`secrecy::SecretString`]s: their `Debug` output is redacted, so a settings
//! struct can be logged at start-up without printing a password. A secret may also be read from a
//! file ([`read_secret_file`]) so that it never appears in the environment or a command line.

pub mod cli;

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::de::DeserializeOwned;

/// The environment variable naming the configuration file.
pub const CONFIG_FILE_ENV: &str = "HUB_CONFIG";
/// Prefix of environment overrides (`HUB__KAFKA__BOOTSTRAP_SERVERS`).
pub const ENV_PREFIX: &str = "HUB";
/// Separator between nesting levels in environment overrides.
pub const ENV_SEPARATOR: &str = "__";

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// A layer could not be parsed or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    /// A secret file could not be read.
    #[error("cannot read secret file {path}: {source}")]
    SecretFile {
        /// The file that was named.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Loads settings of type `T` from defaults, an optional YAML file and the environment.
///
/// `file` wins over `HUB_CONFIG`; with neither, only defaults and the environment are used.
///
/// # Errors
/// A named file that does not exist, a file that does not parse, or a value of the wrong type.
pub fn load<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, ConfigError> {
    let from_env = std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from);
    let file = file.map(Path::to_path_buf).or(from_env);
    load_layers(file.as_deref(), std::env::vars())
}

/// Like [`load`], with the environment given explicitly (for tests and tools).
///
/// # Errors
/// As [`load`].
pub fn load_layers<T: DeserializeOwned>(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError::MissingFile(path.to_path_buf()));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Yaml));
    }
    let env_map: config::Map<String, String> = env
        .into_iter()
        .filter(|(key, _)| key.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}")))
        .collect();
    builder = builder.add_source(
        config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator(ENV_SEPARATOR)
            .separator(ENV_SEPARATOR)
            .try_parsing(true)
            .source(Some(env_map)),
    );
    Ok(builder.build()?.try_deserialize()?)
}

/// Reads a secret (a password, a token, a database URL with credentials) from a file, trimming
/// the trailing newline that editors and `echo` add.
///
/// # Errors
/// The file cannot be read.
pub fn read_secret_file(path: &Path) -> Result<SecretString, ConfigError> {
    std::fs::read_to_string(path)
        .map(|text| SecretString::from(text.trim_end_matches(['\n', '\r']).to_owned()))
        .map_err(|source| ConfigError::SecretFile {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        #[serde(default)]
        kafka: Kafka,
        password: Option<SecretString>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Kafka {
        #[serde(default = "default_servers")]
        bootstrap_servers: String,
        #[serde(default)]
        linger_ms: u32,
    }

    impl Default for Kafka {
        fn default() -> Self {
            Self {
                bootstrap_servers: default_servers(),
                linger_ms: 0,
            }
        }
    }

    fn default_servers() -> String {
        "127.0.0.1:9092".into()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        let dir = std::env::temp_dir().join(format!("hub-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("svc.yaml");
        std::fs::write(
            &file,
            "kafka:\n  bootstrap_servers: file:9092\n  linger_ms: 5\n",
        )
        .unwrap();

        let s: Settings = load_layers(
            Some(&file),
            env(&[("HUB__KAFKA__LINGER_MS", "20"), ("OTHER", "x")]),
        )
        .unwrap();
        assert_eq!(s.kafka.bootstrap_servers, "file:9092");
        assert_eq!(s.kafka.linger_ms, 20);

        let s: Settings = load_layers(None, env(&[])).unwrap();
        assert_eq!(s.kafka.bootstrap_servers, "127.0.0.1:9092");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let s: Settings = load_layers(None, env(&[("HUB__PASSWORD", "hunter2")])).unwrap();
        assert_eq!(s.password.as_ref().unwrap().expose_secret(), "hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        let err = load_layers::<Settings>(None, env(&[("HUB__KAFKA__NOPE", "1")])).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        let missing = Path::new("/nonexistent/hub.yaml");
        assert!(matches!(
            load_layers::<Settings>(Some(missing), env(&[])),
            Err(ConfigError::MissingFile(_))
        ));
    }

    #[test]
    fn secret_file_is_trimmed() {
        let path = std::env::temp_dir().join(format!("hub-secret-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(read_secret_file(&path).unwrap().expose_secret(), "s3cret");
    }
}
