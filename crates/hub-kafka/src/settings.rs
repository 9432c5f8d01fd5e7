//! Broker connection settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rdkafka::ClientConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How to reach the Kafka cluster. Loaded from the `kafka` section of a service's config; a
/// `sasl_password_file` is read while the settings are loaded, so a missing or unreadable secret
/// file is a configuration error at start, and every service gets the same rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "KafkaSettingsFile")]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub security_protocol: String,
    /// CA bundle to verify the brokers' certificates (TLS).
    pub ssl_ca_location: Option<String>,
    /// SASL mechanism, e.g. `SCRAM-SHA-512`.
    pub sasl_mechanism: Option<String>,
    /// SASL user name.
    pub sasl_username: Option<String>,
    /// SASL password (redacted in logs): from `sasl_password_file`, or `HUB__KAFKA__SASL_PASSWORD`.
    pub sasl_password: Option<SecretString>,
    /// How long a produced record may wait for the broker before its delivery fails, in
    /// milliseconds. A connector answers a negative ACK after this, so keep it below the
    /// senders' ACK timeout.
    pub message_timeout_ms: u32,
    /// This process's static group membership (`group.instance.id`, KIP-345), set on every
    /// group consumer it runs; unique per running instance (a pod or host name plus the
    /// service). A restarted instance takes its partitions back at once instead of waiting for a
    /// rebalance, and on tansu it is what lets a consumer that was killed resume at all.
    pub group_instance_id: Option<String>,
    /// Any other librdkafka property, passed through unchanged (last word wins).
    pub librdkafka_options: BTreeMap<String, String>,
}

/// The `kafka` section as written: [`KafkaSettings`] with the password's file not yet read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaSettingsFile {
    #[serde(default = "default_bootstrap")]
    bootstrap_servers: String,
    #[serde(default = "default_protocol")]
    security_protocol: String,
    #[serde(default)]
    ssl_ca_location: Option<String>,
    #[serde(default)]
    sasl_mechanism: Option<String>,
    #[serde(default)]
    sasl_username: Option<String>,
    #[serde(default)]
    sasl_password: Option<SecretString>,
    /// A file holding the SASL password (a trailing newline is trimmed).
    #[serde(default)]
    sasl_password_file: Option<PathBuf>,
    #[serde(default = "default_message_timeout_ms")]
    message_timeout_ms: u32,
    #[serde(default)]
    group_instance_id: Option<String>,
    #[serde(default)]
    librdkafka_options: BTreeMap<String, String>,
}

impl TryFrom<KafkaSettingsFile> for KafkaSettings {
    type Error = String;

    fn try_from(file: KafkaSettingsFile) -> Result<Self, String> {
        // As for the services' other secrets: the file wins over the value. The error names the
        // path and the cause, never the file's content.
        let sasl_password = match file.sasl_password_file {
            Some(path) => {
                Some(hub_config::read_secret_file(&path).map_err(|e| format!("kafka: {e}"))?)
            }
            None => file.sasl_password,
        };
        Ok(Self {
            bootstrap_servers: file.bootstrap_servers,
            security_protocol: file.security_protocol,
            ssl_ca_location: file.ssl_ca_location,
            sasl_mechanism: file.sasl_mechanism,
            sasl_username: file.sasl_username,
            sasl_password,
            message_timeout_ms: file.message_timeout_ms,
            group_instance_id: file.group_instance_id.filter(|id| !id.is_empty()),
            librdkafka_options: file.librdkafka_options,
        })
    }
}

const fn default_message_timeout_ms() -> u32 {
    10_000
}

fn default_bootstrap() -> String {
    "127.0.0.1:9092".to_owned()
}

fn default_protocol() -> String {
    "plaintext".to_owned()
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: default_bootstrap(),
            security_protocol: default_protocol(),
            ssl_ca_location: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            message_timeout_ms: default_message_timeout_ms(),
            group_instance_id: None,
            librdkafka_options: BTreeMap::new(),
        }
    }
}

impl KafkaSettings {
    /// Settings for the given bootstrap servers, everything else default.
    pub fn with_bootstrap(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            ..Self::default()
        }
    }

    /// The librdkafka configuration common to producers, consumers and admin clients.
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", client_id)
            .set("security.protocol", &self.security_protocol)
            // IPv4 first: local brokers such as tansu listen on 127.0.0.1 only.
            .set("broker.address.family", "v4");
        if let Some(ca) = &self.ssl_ca_location {
            config.set("ssl.ca.location", ca);
        }
        if let Some(mechanism) = &self.sasl_mechanism {
            config.set("sasl.mechanism", mechanism);
        }
        if let Some(user) = &self.sasl_username {
            config.set("sasl.username", user);
        }
        if let Some(password) = &self.sasl_password {
            config.set("sasl.password", password.expose_secret());
        }
        for (key, value) in &self.librdkafka_options {
            config.set(key, value);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn parse(yaml_json: serde_json::Value) -> Result<KafkaSettings, String> {
        serde_json::from_value(yaml_json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_sasl_password_is_read_from_its_file_and_never_shown() {
        let dir = std::env::temp_dir().join(format!("hub-kafka-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sasl");
        std::fs::write(&path, "s3cret-pw\n").unwrap();
        // The file wins over a value from the environment.
        let settings = parse(serde_json::json!({
            "sasl_password": "from-the-environment",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "normaliser",
            "sasl_password_file": path,
        }))
        .unwrap();
        assert_eq!(
            settings.sasl_password.as_ref().unwrap().expose_secret(),
            "s3cret-pw"
        );
        assert!(!format!("{settings:?}").contains("s3cret-pw"));
        let config = settings.client_config("test");
        assert_eq!(config.get("sasl.password"), Some("s3cret-pw"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_or_an_unknown_key_is_a_configuration_error() {
        let missing = parse(serde_json::json!({
            "sasl_password": "a",
            "sasl_password_file": "/nonexistent/sasl",
        }));
        assert!(missing.unwrap_err().contains("/nonexistent/sasl"));
        let unknown = parse(serde_json::json!({ "sasl_pasword": "typo" }));
        assert!(unknown.unwrap_err().contains("unknown field"));
        assert_eq!(
            parse(serde_json::json!({})).unwrap().bootstrap_servers,
            "127.0.0.1:9092"
        );
    }
}
