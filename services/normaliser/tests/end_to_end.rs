//! The normaliser end to end, against the real broker, PostgreSQL (the EMPI) and the hub's
//! registry: raw HL7 in, canonical Avro out, decoded with the registry; a replay yields the same
//! event ids; bad input lands in the dead-letter topic and the partition keeps moving.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::collections::BTreeSet;
use std::time::Duration;

use hub_avro::{EventCodec, RegistryClient};
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::headers;
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{Header, Headers, OwnedHeaders};
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_schemas::{CanonicalEvent, IdentityLink, LabResult, Person};
use hub_test_utils::{TestDatabase, kafka_bootstrap, random_name};
use normaliser::Settings;

const FACILITY: &str = "H21028100001";

fn golden(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../crates/hub-hl7/tests/golden/{name}.hl7",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

/// Writes raw messages as the HL7 connector would: original bytes, envelope headers.
async fn send_raw(topic: &str, messages: &[(&str, &str, Vec<u8>)]) {
    let producer =
        EventProducer::new(&kafka(), "test-connector", ProducerProfile::LowLatency).unwrap();
    for (message_id, charset, payload) in messages {
        let key = format!("{FACILITY}:{message_id}");
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: headers::FACILITY,
                value: Some(FACILITY),
            })
            .insert(Header {
                key: headers::SOURCE,
                value: Some("his"),
            })
            .insert(Header {
                key: headers::CONTENT_TYPE,
                value: Some("x-application/hl7-v2+er7"),
            })
            .insert(Header {
                key: headers::CHARSET,
                value: Some(*charset),
            })
            .insert(Header {
                key: headers::RECEIVED_AT,
                value: Some("2026-11-23T08:00:00+08:00"),
            })
            .insert(Header {
                key: headers::MESSAGE_ID,
                value: Some(*message_id),
            })
            .insert(Header {
                key: headers::SYNTHETIC,
                value: Some("true"),
            });
        producer
            .send(OutRecord {
                topic,
                key: key.as_bytes(),
                payload,
                headers: Some(headers),
            })
            .await
            .unwrap();
    }
}

struct Stack {
    _registry_db: TestDatabase,
    empi_db: TestDatabase,
    registry: schema_registry::Running,
}

async fn stack() -> Stack {
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

/// Runs the normaliser on `raw_topic` with `group` until `expected` canonical events of this test
/// were read back (or fails after 60 s); returns the decoded events of the wanted types.
async fn normalise(
    stack: &Stack,
    raw_topic: &str,
    group: &str,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let settings = Settings {
        kafka: kafka(),
        registry_url: stack.registry.url.clone(),
        database_url: stack.empi_db.url().to_owned().into(),
        pseudonym_key: "test-pseudonym-key-0123456789".to_owned().into(),
        terminology_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/terminology").into(),
        input_topics: vec![raw_topic.to_owned()],
        group_id: group.to_owned(),
        ..Settings::default()
    };
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(normaliser::run(settings, admin, async {
        let _ = stopped.await;
    }));
    // Keep the stop sender alive inside a task that ends with the test.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(120)).await;
        let _ = stop.send(());
    });
    handle
}

/// Reads a canonical topic and keeps the events derived from `raw_topic`: at least `wanted`,
/// and everything else that arrives until the topic has been quiet for 3 s.
async fn read<T: CanonicalEvent + Clone>(registry: &str, raw_topic: &str, wanted: usize) -> Vec<T> {
    read_until_quiet(registry, raw_topic, wanted, Duration::from_secs(3)).await
}

/// [`read`] with the quiet period given (zero: return as soon as `wanted` arrived).
async fn read_until_quiet<T: CanonicalEvent + Clone>(
    registry: &str,
    raw_topic: &str,
    wanted: usize,
    quiet: Duration,
) -> Vec<T> {
    let codec = EventCodec::<T>::register(RegistryClient::new(registry).unwrap())
        .await
        .unwrap();
    let consumer = HubConsumer::subscribe(
        &kafka(),
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
            // Enough seen: keep reading until the topic stays quiet, to catch any surplus.
            quiet
        } else {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        };
        if found.len() >= wanted && tokio::time::Instant::now() > deadline {
            break;
        }
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
            // The topic may not exist until the normaliser created it.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_hl7_becomes_canonical_events_and_a_replay_converges() {
    let stack = stack().await;
    let raw_topic = format!("raw.{}.hl7v2", random_name("it"));
    ensure_topics(&kafka(), &[TopicSpec::new(&raw_topic, 1)])
        .await
        .unwrap();
    send_raw(
        &raw_topic,
        &[
            ("ADT-1", "UTF-8", golden("adt_a01_inpatient_dg1")),
            ("ORU-1", "UTF-8", golden("oru_r01_lab_panel")),
        ],
    )
    .await;

    let first = normalise(&stack, &raw_topic, &random_name("norm")).await;
    let persons: Vec<Person> = read(&stack.registry.url, &raw_topic, 1).await;
    let labs: Vec<LabResult> = read(&stack.registry.url, &raw_topic, 13).await;
    assert_eq!(labs.len(), 13, "one lab result per OBX of the panel");
    let person_id = persons[0].person_id.clone();
    assert!(person_id.starts_with('P'), "{person_id}");
    assert!(
        labs.iter().all(|l| l.person_id == person_id),
        "the ADT and the ORU are one person"
    );
    assert!(
        labs.iter().all(|l| l.provenance.synthetic),
        "synthetic header carried through"
    );
    first.abort();

    // Replay with a new group: the same messages again give the same event ids and person.
    let second = normalise(&stack, &raw_topic, &random_name("replay")).await;
    let replayed: Vec<LabResult> = read(&stack.registry.url, &raw_topic, 26).await;
    assert_eq!(replayed.len(), 26, "each OBX once per run");
    let ids = |events: &[LabResult]| {
        events
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        ids(&replayed),
        ids(&labs),
        "the replay produced the same event ids"
    );
    assert!(replayed.iter().all(|l| l.person_id == person_id));
    let links: Vec<IdentityLink> = read(&stack.registry.url, &raw_topic, 4).await;
    assert!(links.iter().all(|l| l.person_id == person_id));
    second.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_goes_to_the_dead_letter_topic_and_the_partition_moves_on() {
    let stack = stack().await;
    let raw_topic = format!("raw.{}.hl7v2", random_name("it"));
    ensure_topics(&kafka(), &[TopicSpec::new(&raw_topic, 1)])
        .await
        .unwrap();
    send_raw(
        &raw_topic,
        &[
            (
                "BAD-1",
                "UTF-8",
                b"this is not HL7 at all \xff\xfe".to_vec(),
            ),
            ("ADT-2", "GB18030", golden("adt_a01_gb18030")),
        ],
    )
    .await;
    let dlq_reader = HubConsumer::subscribe(
        &kafka(),
        "test-reader",
        &random_name("dlq"),
        &["dlq.normaliser"],
        Isolation::ReadCommitted,
    )
    .unwrap();
    let running = normalise(&stack, &raw_topic, &random_name("norm")).await;

    let persons: Vec<Person> = read(&stack.registry.url, &raw_topic, 1).await;
    assert!(
        !persons[0].name.is_empty(),
        "the GB18030 message after the bad one was processed"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Ok(message) = tokio::time::timeout(remaining, dlq_reader.recv())
            .await
            .unwrap()
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let headers = message.headers().unwrap();
        let get = |k: &str| {
            headers
                .iter()
                .find(|h| h.key == k)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        if get(headers::SOURCE_TOPIC).as_deref() == Some(raw_topic.as_str()) {
            assert_eq!(
                message.payload(),
                Some(&b"this is not HL7 at all \xff\xfe"[..]),
                "original bytes kept"
            );
            assert!(
                get(headers::ERROR_CODE).unwrap().starts_with("hl7_"),
                "{:?}",
                get(headers::ERROR_CODE)
            );
            assert_eq!(
                get(headers::FACILITY).as_deref(),
                Some(FACILITY),
                "envelope kept"
            );
            break;
        }
    }
    running.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normaliser_killed_mid_stream_loses_nothing_after_restart() {
    let stack = stack().await;
    let raw_topic = format!("raw.{}.hl7v2", random_name("it"));
    ensure_topics(&kafka(), &[TopicSpec::new(&raw_topic, 1)])
        .await
        .unwrap();
    let oru = golden("oru_r01_lab_panel");
    let messages: Vec<(String, Vec<u8>)> = (0..150)
        .map(|i| (format!("ORU-{i}"), oru.clone()))
        .collect();
    let borrowed: Vec<(&str, &str, Vec<u8>)> = messages
        .iter()
        .map(|(id, p)| (id.as_str(), "UTF-8", p.clone()))
        .collect();
    send_raw(&raw_topic, &borrowed).await;

    let group = random_name("norm");
    let first = normalise(&stack, &raw_topic, &group).await;
    // Let it get some way, then kill it without any shutdown (no drain, no final commit).
    let some: Vec<LabResult> =
        read_until_quiet(&stack.registry.url, &raw_topic, 13, Duration::ZERO).await;
    first.abort();
    let _ = first.await;

    let second = normalise(&stack, &raw_topic, &group).await;
    let all: Vec<LabResult> = read(&stack.registry.url, &raw_topic, 150 * 13).await;
    let distinct: BTreeSet<String> = all.iter().map(|e| e.event_id.clone()).collect();
    assert!(some.len() < 150 * 13, "the kill came mid-stream");
    assert_eq!(
        distinct.len(),
        150 * 13,
        "every event of every message, repeats allowed, none lost"
    );
    second.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insurance_settlement_from_the_bureau_becomes_a_canonical_settlement() {
    use hub_schemas::{Settlement, SettlementKind};
    let stack = stack().await;
    let raw_topic = format!("raw.{}.settlement", random_name("it"));
    ensure_topics(&kafka(), &[TopicSpec::new(&raw_topic, 1)])
        .await
        .unwrap();
    let record = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/hub-settlement/tests/golden/inpatient-2304.json"
    ))
    .unwrap();
    // As the insurance connector writes it: the bureau (not a facility) is the sender.
    let producer =
        EventProducer::new(&kafka(), "test-connector", ProducerProfile::LowLatency).unwrap();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: headers::FACILITY,
            value: Some("YB210281"),
        })
        .insert(Header {
            key: headers::SOURCE,
            value: Some("insurance"),
        })
        .insert(Header {
            key: headers::CONTENT_TYPE,
            value: Some(headers::JSON),
        })
        .insert(Header {
            key: headers::CHARSET,
            value: Some("UTF-8"),
        })
        .insert(Header {
            key: headers::RECEIVED_AT,
            value: Some("2026-11-23T08:00:00+08:00"),
        })
        .insert(Header {
            key: headers::MESSAGE_ID,
            value: Some("SETL-1"),
        });
    producer
        .send(OutRecord {
            topic: &raw_topic,
            key: b"YB210281:SETL-1",
            payload: &record,
            headers: Some(headers),
        })
        .await
        .unwrap();
    let running = normalise(&stack, &raw_topic, &random_name("norm")).await;
    let settlements: Vec<Settlement> = read(&stack.registry.url, &raw_topic, 1).await;
    assert_eq!(settlements.len(), 1);
    let settlement = &settlements[0];
    assert_eq!(settlement.kind, SettlementKind::Settlement);
    assert!(settlement.inpatient);
    assert!(settlement.medfee_sumamt > 0 && settlement.person_id.starts_with('P'));
    running.abort();
}
