//! Helpers shared by the normaliser's integration tests: raw messages as a connector writes them,
//! the in-process registry and EMPI database, settings, and a registry-decoding reader.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // Each test binary uses a part.

use std::time::Duration;

use hub_avro::{EventCodec, RegistryClient};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::headers;
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{Header, OwnedHeaders};
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_schemas::CanonicalEvent;
use hub_test_utils::{TestDatabase, random_name};
use normaliser::Settings;

/// The sending facility of every test message (in deploy/terminology/facilities.csv).
pub const FACILITY: &str = "H21028100001";

/// A golden HL7 message of hub-hl7.
pub fn golden(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../crates/hub-hl7/tests/golden/{name}.hl7",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

/// One raw message: message id, `hub-received-at`, payload.
pub struct Raw {
    pub id: String,
    pub received_at: String,
    /// `hub-charset` (UTF-8 unless a test says otherwise).
    pub charset: String,
    pub payload: Vec<u8>,
}

impl Raw {
    pub fn new(id: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            id: id.into(),
            received_at: "2026-11-23T08:00:00+08:00".into(),
            charset: "UTF-8".into(),
            payload,
        }
    }
}

/// Kafka headers from `(name, value)` pairs.
pub fn headers_of(pairs: &[(&str, &str)]) -> OwnedHeaders {
    pairs.iter().fold(OwnedHeaders::new(), |h, (key, value)| {
        h.insert(Header {
            key,
            value: Some(*value),
        })
    })
}

/// Writes raw messages as the HL7 connector would: original bytes, envelope headers.
pub async fn send_raw(kafka: &KafkaSettings, topic: &str, messages: &[Raw]) {
    let producer =
        EventProducer::new(kafka, "test-connector", ProducerProfile::LowLatency).unwrap();
    for raw in messages {
        let key = format!("{FACILITY}:{}", raw.id);
        let pairs = [
            (headers::FACILITY, FACILITY),
            (headers::SOURCE, "lab"),
            (headers::CONTENT_TYPE, headers::HL7_V2_ER7),
            (headers::CHARSET, raw.charset.as_str()),
            (headers::RECEIVED_AT, raw.received_at.as_str()),
            (headers::MESSAGE_ID, raw.id.as_str()),
            (headers::SYNTHETIC, "true"),
        ];
        let headers = headers_of(&pairs);
        producer
            .send(OutRecord {
                topic,
                key: key.as_bytes(),
                payload: &raw.payload,
                headers: Some(headers),
            })
            .await
            .unwrap();
    }
}

/// The registry (on its own database) and the EMPI's database.
pub struct Stack {
    _registry_db: TestDatabase,
    pub empi_db: TestDatabase,
    pub registry: schema_registry::Running,
}

pub async fn stack() -> Stack {
    hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
    let registry_db = TestDatabase::create().await.unwrap();
    let empi_db = TestDatabase::create().await.unwrap();
    let registry = schema_registry::spawn(schema_registry::Settings {
        database_url: registry_db.url().to_owned().into(),
        ..schema_registry::Settings::default()
    })
    .await
    .unwrap();
    Stack {
        _registry_db: registry_db,
        empi_db,
        registry,
    }
}

/// The committed terminology folder.
pub fn terminology() -> std::path::PathBuf {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/terminology").into()
}

/// Settings of a normaliser on `raw_topic` with a fresh group.
pub fn settings(stack: &Stack, kafka: &KafkaSettings, raw_topic: &str) -> Settings {
    Settings {
        kafka: kafka.clone(),
        registry_url: stack.registry.url.clone(),
        database_url: stack.empi_db.url().to_owned().into(),
        pseudonym_key: "test-pseudonym-key-0123456789".to_owned().into(),
        terminology_dir: terminology(),
        input_topics: vec![raw_topic.to_owned()],
        group_id: random_name("norm"),
        lag_interval_secs: 1,
        ..Settings::default()
    }
}

/// Starts the service with `settings`; abort the handle to kill it.
pub async fn start(settings: Settings) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(normaliser::run(
        settings,
        admin,
        std::future::pending::<()>(),
    ))
}

/// Reads a canonical topic (`read_committed`, fresh group) and keeps the events derived from
/// `raw_topic`: waits up to 60 s for `wanted`, then reads on until the topic is quiet for
/// `quiet` (zero: returns as soon as `wanted` arrived).
pub async fn read<T: CanonicalEvent + Clone>(
    kafka: &KafkaSettings,
    registry: &str,
    raw_topic: &str,
    wanted: usize,
    quiet: Duration,
) -> Vec<T> {
    let codec = EventCodec::<T>::register(RegistryClient::new(registry).unwrap())
        .await
        .unwrap();
    let consumer = HubConsumer::subscribe(
        kafka,
        "test-reader",
        &random_name("reader"),
        &[T::CONTRACT.topic],
        Isolation::ReadCommitted,
    )
    .unwrap();
    let mut found = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if found.len() >= wanted && quiet.is_zero() {
            break;
        }
        let remaining = if found.len() >= wanted {
            quiet
        } else {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        };
        let Ok(next) = tokio::time::timeout(remaining, consumer.recv()).await else {
            assert!(
                found.len() >= wanted,
                "only {} of {wanted} {} events",
                found.len(),
                T::CONTRACT.entity
            );
            break;
        };
        let Ok(message) = next else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let event: T = codec.decode(message.payload().unwrap()).await.unwrap();
        let value = serde_json::to_value(&event).unwrap();
        if value["provenance"]["source_topic"] == raw_topic {
            found.push(event);
        }
    }
    found
}
