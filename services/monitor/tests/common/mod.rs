//! Shared helpers of the monitor's integration tests: the stack (in-process registry, a fresh
//! database, random topics and group), a monitor started in-process on port 0, producing
//! canonical events through the registry, and reading the alert topic.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

pub mod county;

use std::collections::HashMap;
use std::time::Duration;

use hub_avro::{CanonicalCodecs, RegistryClient};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_schemas::{AnyEvent, ClinicalAlert};
use hub_test_utils::{TestDatabase, kafka_bootstrap, random_name};
use monitor::Settings;

pub fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

pub struct Stack {
    _registry_db: TestDatabase,
    pub registry: schema_registry::Running,
    pub db: TestDatabase,
    pub prefix: String,
}

impl Stack {
    pub async fn new() -> Self {
        let registry_db = TestDatabase::create().await.unwrap();
        let registry = schema_registry::spawn(schema_registry::Settings {
            database_url: registry_db.url().to_owned().into(),
            ..schema_registry::Settings::default()
        })
        .await
        .unwrap();
        Self {
            _registry_db: registry_db,
            registry,
            db: TestDatabase::create().await.unwrap(),
            prefix: format!("{}.", random_name("mon")),
        }
    }

    /// Settings of a monitor on this stack, consuming with `group`.
    pub fn settings(&self, group: &str) -> Settings {
        Settings {
            kafka: kafka(),
            registry_url: self.registry.url.clone(),
            database_url: self.db.url().to_owned().into(),
            topic_prefix: self.prefix.clone(),
            group_id: group.to_owned(),
            batch_max_wait_ms: 50,
            terminology_dir: repo("deploy/terminology"),
            targets_file: repo("deploy/monitor/targets.yaml"),
            critical_values_file: repo("deploy/monitor/critical-values.yaml"),
            refresh_secs: 1,
            alert_max_age_secs: 0,
            ..Settings::default()
        }
    }

    /// Produces `events` to their prefixed canonical topics, keyed by person id.
    pub async fn produce(&self, events: &[AnyEvent]) {
        let registry = RegistryClient::new(&self.registry.url).unwrap();
        let codecs = CanonicalCodecs::register(&registry).await.unwrap();
        let producer = EventProducer::new(&kafka(), "test", ProducerProfile::LowLatency).unwrap();
        for event in events {
            let topic = format!("{}{}", self.prefix, event.contract().topic);
            let payload = codecs.encode(event).unwrap();
            producer
                .send(OutRecord {
                    topic: &topic,
                    key: event.person_id().as_bytes(),
                    payload: &payload,
                    headers: None,
                })
                .await
                .unwrap();
        }
    }

    /// Produces a dead letter of `stage` (bytes that are not Avro) to the prefixed `dlq.<stage>`
    /// with `headers`.
    pub async fn dead_letter(&self, stage: &str, headers: &[(&str, &str)]) {
        use hub_kafka::rdkafka::message::{Header, OwnedHeaders};
        let producer = EventProducer::new(&kafka(), "test", ProducerProfile::LowLatency).unwrap();
        let topic = format!("{}dlq.{stage}", self.prefix);
        let mut owned = OwnedHeaders::new();
        for (key, value) in headers {
            owned = owned.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
        producer
            .send(OutRecord {
                topic: &topic,
                key: b"H|m-1",
                payload: b"MSH|^~\\&|broken",
                headers: Some(owned),
            })
            .await
            .unwrap();
    }

    /// Every alert on the alert topic after `wait`, decoded.
    pub async fn alerts(&self, wait: Duration) -> Vec<ClinicalAlert> {
        let registry = RegistryClient::new(&self.registry.url).unwrap();
        let codecs = CanonicalCodecs::register(&registry).await.unwrap();
        let consumer: BaseConsumer = kafka()
            .client_config("test-alerts")
            .set("group.id", random_name("alerts"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let topic = format!("{}canonical.clinical-alert.v1", self.prefix);
        consumer.subscribe(&[&topic]).unwrap();
        let mut payloads = Vec::new();
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                payloads.push(m.payload().unwrap_or_default().to_vec());
            }
        }
        let mut out = Vec::new();
        for p in payloads {
            match codecs.decode("clinical-alert", &p).await.unwrap().unwrap() {
                AnyEvent::ClinicalAlert(a) => out.push(a),
                other => panic!("not an alert: {other:?}"),
            }
        }
        out
    }
}

/// A monitor running in-process.
pub struct Service {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), monitor::RunError>>>,
}

impl Service {
    pub async fn start(settings: Settings) -> Self {
        hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(monitor::run(settings, listener, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{url}/readyz")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(!handle.is_finished(), "the monitor did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            url,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{path}", self.url)).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Sum of `hub_component_received_events_total` over entities.
    pub async fn received(&self) -> u64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .filter(|l| l.starts_with("hub_component_received_events_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }
}

/// Indicators of a JSON report by id (county-level) or `id@facility`.
pub fn by_id(report: &serde_json::Value) -> HashMap<String, serde_json::Value> {
    report["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let key = match i["facility"].as_str() {
                Some(f) => format!("{}@{f}", i["id"].as_str().unwrap()),
                None => i["id"].as_str().unwrap().to_owned(),
            };
            (key, i.clone())
        })
        .collect()
}

/// Polls `f` until true, or panics after `secs`.
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("timed out waiting for {what}");
}
