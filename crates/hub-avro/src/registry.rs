//! A client for the Confluent Schema Registry REST API, with caching.
//!
//! Registration results and schemas fetched by id are cached for the life of the client: an id
//! never changes meaning in a registry, so the hot path asks the registry once per schema.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

/// The registry's content type, which Confluent clients send and expect.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A failed registry call.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached or did not answer in time: retry later.
    #[error("schema registry unreachable: {0}")]
    Unreachable(#[from] reqwest::Error),
    /// The registry answered with a Confluent error body.
    #[error("schema registry refused ({status}, error code {error_code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Confluent error code, e.g. 40401 (subject not found) or 409 (incompatible).
        error_code: u32,
        /// The registry's message.
        message: String,
    },
}

impl RegistryError {
    /// Whether retrying the same call later may succeed (network trouble, a 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Refused { status, .. } => *status >= 500,
        }
    }
}

/// A registered schema as the registry reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubjectVersion {
    /// Subject name.
    pub subject: String,
    /// Version within the subject.
    pub version: u32,
    /// Global schema id.
    pub id: u32,
    /// Schema text.
    pub schema: String,
}

#[derive(Deserialize)]
struct IdBody {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaBody {
    schema: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: u32,
    message: String,
}

/// A cheaply clonable registry client.
#[derive(Clone)]
pub struct RegistryClient {
    base: Arc<str>,
    http: reqwest::Client,
    registered: Arc<RwLock<HashMap<(String, String), u32>>>,
    by_id: Arc<RwLock<HashMap<u32, Arc<str>>>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client for the registry at `base_url` (e.g. `http://127.0.0.1:8081`).
    ///
    /// # Errors
    /// The HTTP client cannot be built (TLS backend initialisation).
    pub fn new(base_url: &str) -> Result<Self, RegistryError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            base: base_url.trim_end_matches('/').into(),
            http,
            registered: Arc::default(),
            by_id: Arc::default(),
        })
    }

    /// The registry's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Registers `schema` under `subject` and returns its global id. Registering a schema the
    /// subject already has returns the existing id; the result is cached.
    ///
    /// # Errors
    /// The registry is unreachable, or refuses (invalid schema 42201, incompatible 409).
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let key = (subject.to_owned(), schema.to_owned());
        if let Some(id) = read(&self.registered).get(&key) {
            return Ok(*id);
        }
        let url = format!("{}/subjects/{}/versions", self.base, encode(subject));
        let body: IdBody = self
            .send(self.http.post(url).json(&json!({ "schema": schema })))
            .await?;
        write(&self.registered).insert(key, body.id);
        write(&self.by_id).insert(body.id, schema.into());
        Ok(body.id)
    }

    /// The schema text registered under `id`, cached after the first call.
    ///
    /// # Errors
    /// Unreachable registry, or an unknown id (40403).
    pub async fn schema_by_id(&self, id: u32) -> Result<Arc<str>, RegistryError> {
        if let Some(schema) = read(&self.by_id).get(&id) {
            return Ok(schema.clone());
        }
        let url = format!("{}/schemas/ids/{id}", self.base);
        let body: SchemaBody = self.send(self.http.get(url)).await?;
        let schema: Arc<str> = body.schema.into();
        write(&self.by_id).insert(id, schema.clone());
        Ok(schema)
    }

    /// The latest version registered under `subject` (not cached: it changes).
    ///
    /// # Errors
    /// Unreachable registry, or an unknown subject (40401).
    pub async fn latest(&self, subject: &str) -> Result<SubjectVersion, RegistryError> {
        let url = format!("{}/subjects/{}/versions/latest", self.base, encode(subject));
        self.send(self.http.get(url)).await
    }

    /// Sets the compatibility level of `subject` (e.g. `FULL_TRANSITIVE`).
    ///
    /// # Errors
    /// Unreachable registry, or an invalid level (42203).
    pub async fn set_compatibility(&self, subject: &str, level: &str) -> Result<(), RegistryError> {
        let url = format!("{}/config/{}", self.base, encode(subject));
        let _: serde_json::Value = self
            .send(self.http.put(url).json(&json!({ "compatibility": level })))
            .await?;
        Ok(())
    }

    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, RegistryError> {
        let response = request
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(reqwest::header::ACCEPT, CONTENT_TYPE)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let text = response.text().await.unwrap_or_default();
        let (error_code, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => (body.error_code, body.message),
            Err(_) => (u32::from(status.as_u16()), text.chars().take(200).collect()),
        };
        Err(RegistryError::Refused {
            status: status.as_u16(),
            error_code,
            message,
        })
    }
}

/// Percent-encodes a path segment (subjects may contain any character).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_percent_encoded() {
        assert_eq!(
            encode("canonical.lab-result.v1-value"),
            "canonical.lab-result.v1-value"
        );
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
