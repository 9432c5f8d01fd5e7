//! Broker connection settings.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How to reach the Kafka cluster. Loaded from the `kafka` section of a service's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    #[serde(default = "default_bootstrap")]
    pub bootstrap_servers: String,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    #[serde(default = "default_protocol")]
    pub security_protocol: String,
    /// CA bundle to verify the brokers' certificates (TLS).
    #[serde(default)]
    pub ssl_ca_location: Option<String>,
    /// SASL mechanism, e.g. `SCRAM-SHA-512`.
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    /// SASL user name.
    #[serde(default)]
    pub sasl_username: Option<String>,
    /// SASL password (redacted in logs; prefer `HUB__KAFKA__SASL_PASSWORD` or a secret file).
    #[serde(default)]
    pub sasl_password: Option<SecretString>,
    /// How long a produced record may wait for the broker before its delivery fails, in
    /// milliseconds. A connector answers a negative ACK after this, so keep it below the
    /// senders' ACK timeout.
    #[serde(default = "default_message_timeout_ms")]
    pub message_timeout_ms: u32,
    /// Any other librdkafka property, passed through unchanged (last word wins).
    #[serde(default)]
    pub librdkafka_options: BTreeMap<String, String>,
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
