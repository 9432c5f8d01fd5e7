//! A registry started in-process on a fresh database, driven over HTTP.

use std::time::Duration;

use hub_test_utils::TestDatabase;
use reqwest::Method;
use schema_registry::http::CONTENT_TYPE;
use schema_registry::{RunError, Settings};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running registry and the database it owns.
pub struct Registry {
    pub base: String,
    pub client: reqwest::Client,
    db: TestDatabase,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), RunError>>,
}

/// A response: status and JSON body (a body that is not JSON becomes a JSON string).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The Confluent `error_code`, if the body has one.
    pub fn code(&self) -> Option<u64> {
        self.body.get("error_code").and_then(Value::as_u64)
    }

    /// Asserts a Confluent error: status, code, and a message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: u64) {
        assert_eq!((self.status, self.code()), (status, Some(code)), "{self:?}");
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
    }

    /// The `id` of a successful registration.
    #[track_caller]
    pub fn id(&self) -> i64 {
        assert_eq!(self.status, 200, "{self:?}");
        self.body["id"].as_i64().expect("an id")
    }
}

impl Registry {
    /// Starts a registry on a new database, without the canonical seed unless `seed`.
    pub async fn start(seed: bool) -> anyhow::Result<Self> {
        Self::start_on(TestDatabase::create().await?, seed).await
    }

    /// Starts a registry on an existing database.
    pub async fn start_on(db: TestDatabase, seed: bool) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let settings = Settings {
            database_url: SecretString::from(db.url().to_owned()),
            seed_canonical: seed,
            max_connections: 12,
            ..Settings::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(schema_registry::run(settings, listener, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let registry = Self {
            base,
            client,
            db,
            stop,
            task,
        };
        registry.wait_ready().await?;
        Ok(registry)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        for _ in 0..600 {
            anyhow::ensure!(
                !self.task.is_finished(),
                "the registry stopped during start-up"
            );
            if let Ok(r) = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                && r.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the registry did not become ready")
    }

    /// Stops the registry gracefully and hands back its database.
    pub async fn stop(self) -> anyhow::Result<TestDatabase> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(self.db)
    }

    /// Sends a request with an optional JSON body; asserts the Confluent media type and that
    /// the server never answers 5xx.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", CONTENT_TYPE)
                .body(body.to_string());
        }
        self.send(request).await
    }

    /// Sends a prepared request, with the same checks as [`Registry::call`].
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the registry answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        assert!(status < 500, "server error: {status} {body}");
        assert_eq!(content_type, CONTENT_TYPE, "{status} {body}");
        Reply { status, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Registers `schema` under `subject`.
    pub async fn register(&self, subject: &str, schema: &str) -> Reply {
        self.post(
            &format!("/subjects/{subject}/versions"),
            &json!({ "schema": schema }),
        )
        .await
    }

    /// Sets the subject's compatibility level.
    pub async fn set_level(&self, subject: &str, level: &str) {
        let reply = self
            .put(
                &format!("/config/{subject}"),
                &json!({ "compatibility": level }),
            )
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
}

/// A record schema named `name` with the given field definitions.
pub fn record(name: &str, fields: &str) -> String {
    format!(r#"{{"type":"record","name":"{name}","namespace":"test","fields":[{fields}]}}"#)
}

/// Parses JSON text, for comparing schema texts independently of their formatting.
pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}
