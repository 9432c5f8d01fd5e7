//! Shared test support: the connector in-process with random topics, and reading topics back
//! with the hub's consumer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connector_imaging::{Connector, RunError, SenderSettings, Settings};
use hub_ingress::auth::token_hash;
use hub_kafka::KafkaSettings;
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::Headers;
use hub_telemetry::Telemetry;
use hub_test_utils::{kafka_bootstrap, random_name};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The HTTP sender's code and token (the county's shared imaging centre PACS).
pub const SENDER: &str = "H21028100001";
/// Its bearer token.
pub const TOKEN: &str = "test-token-pacs";
/// A sender with a token but without HTTP (a township centre's DR modality).
pub const FILE_ONLY: &str = "H21028100107";
/// Its token.
pub const FILE_ONLY_TOKEN: &str = "test-token-file-only";

/// A fresh folder under the temporary directory.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(random_name(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Settings against `bootstrap` with random topics, one HTTP sender and one file-only sender
/// whose drop folder is `drop_dir`.
pub fn settings(bootstrap: &str, drop_dir: Option<&Path>) -> Settings {
    let mut http = SenderSettings::new(SENDER);
    http.token_sha256 = vec![token_hash(TOKEN)];
    let mut file = SenderSettings::new(FILE_ONLY);
    file.token_sha256 = vec![token_hash(FILE_ONLY_TOKEN)];
    file.http = false;
    file.drop_dir = drop_dir.map(Path::to_path_buf);
    let mut s = Settings {
        api_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        kafka: KafkaSettings::with_bootstrap(bootstrap),
        topic: random_name("test.raw.imaging.dicom"),
        dlq_topic: random_name("test.dlq.connector-imaging"),
        topic_partitions: 1,
        max_body_bytes: 64 * 1024,
        retry_after_secs: 7,
        shutdown_grace_secs: 10,
        senders: vec![http, file],
        ..Settings::default()
    };
    s.drop_folder.poll_interval_ms = 100;
    s.drop_folder.stable_secs = 0;
    s
}

/// Settings against a broker that does not exist, failing deliveries after 1.5 s.
pub fn unreachable_settings(drop_dir: Option<&Path>) -> Settings {
    let mut s = settings("127.0.0.1:1", drop_dir);
    s.kafka.message_timeout_ms = 1500;
    s.create_topics = false;
    s
}

/// A connector running in the background.
pub struct Running {
    /// The API's base URL.
    pub base: String,
    /// The admin listener.
    pub admin: SocketAddr,
    /// The metrics registry.
    pub telemetry: Telemetry,
    /// The settings it runs with.
    pub settings: Settings,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
}

impl Running {
    /// Binds and runs `settings`.
    pub async fn start(settings: Settings) -> anyhow::Result<Self> {
        hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
        let connector = Connector::bind(settings.clone()).await?;
        let base = format!("http://{}", connector.api_addr()?);
        let admin = connector.admin_addr()?;
        let telemetry = connector.telemetry().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(connector.run(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            admin,
            telemetry,
            settings,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// POSTs `body` to `/v1/instances` with `token`; returns status, Retry-After and JSON.
    pub async fn post(
        &self,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> anyhow::Result<(u16, Option<String>, serde_json::Value)> {
        post_to(&self.base, token, body).await
    }

    /// Sum of a counter's samples whose labels include every `(name, value)` of `labels`.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut total = 0.0;
        for family in self.telemetry.registry().gather() {
            if family.name() != name {
                continue;
            }
            for m in family.get_metric() {
                let matches = labels.iter().all(|(k, v)| {
                    m.get_label()
                        .iter()
                        .any(|l| l.name() == *k && l.value() == *v)
                });
                if matches {
                    total += m.get_counter().get_value();
                    total += m.get_histogram().get_sample_count() as f64;
                }
            }
        }
        total
    }

    /// Asks the connector to stop and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(60), task).await???;
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// POSTs `body` to `<base>/v1/instances` with `token`; returns status, Retry-After and JSON (for
/// tasks that cannot borrow a [`Running`]).
pub async fn post_to(
    base: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> anyhow::Result<(u16, Option<String>, serde_json::Value)> {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/v1/instances"))
        .header("content-type", "application/dicom+json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await?;
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    Ok((status, retry, json))
}

/// A record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    /// Key as text.
    pub key: String,
    /// Value bytes.
    pub value: Vec<u8>,
    /// Headers as text.
    pub headers: BTreeMap<String, String>,
}

/// Reads `topic` from the beginning until `count` records arrived or `timeout` passed.
pub async fn consume(topic: &str, count: usize, timeout: Duration) -> anyhow::Result<Vec<Record>> {
    consume_from(&kafka_bootstrap(), topic, count, timeout).await
}

/// As [`consume`], from the broker at `bootstrap` (a test's private one).
pub async fn consume_from(
    bootstrap: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Record>> {
    let settings = KafkaSettings::with_bootstrap(bootstrap);
    let group = random_name("test-imaging-reader");
    let consumer = HubConsumer::subscribe(
        &settings,
        "test",
        &group,
        &[topic],
        Isolation::ReadUncommitted,
    )?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while out.len() < count {
        let Ok(message) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            break;
        };
        let message = message?;
        let mut headers = BTreeMap::new();
        if let Some(h) = message.headers() {
            for header in h.iter() {
                let value = String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned();
                headers.insert(header.key.to_owned(), value);
            }
        }
        out.push(Record {
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            value: message.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    Ok(out)
}

/// Waits until `check` holds, polling every 100 ms, for at most `timeout`.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

/// The names of the files in `dir`, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
