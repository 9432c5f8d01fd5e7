//! The normaliser end to end, against the real broker, PostgreSQL (the EMPI) and the hub's
//! registry: raw HL7 in, canonical Avro out, decoded with the registry; a replay yields the same
//! event ids; bad input lands in the dead-letter topic and the partition keeps moving.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{FACILITY, Raw, Stack, golden, send_raw, settings, stack, start};
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::headers;
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{Header, Headers, OwnedHeaders};
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_schemas::{CanonicalEvent, IdentityLink, LabResult, Person};
use hub_test_utils::{kafka_bootstrap, random_name};

fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

/// Starts a normaliser on `raw_topic` in consumer group `group`; abort the handle to kill it.
async fn normalise(
    stack: &Stack,
    raw_topic: &str,
    group: &str,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let mut settings = settings(stack, &kafka(), raw_topic);
    group.clone_into(&mut settings.group_id);
    start(settings).await
}

/// The events of `raw_topic` on `T`'s canonical topic: at least `wanted`, then whatever else
/// arrives until the topic has been quiet for 3 s.
async fn read<T: CanonicalEvent + Clone>(registry: &str, raw_topic: &str, wanted: usize) -> Vec<T> {
    common::read(
        &kafka(),
        registry,
        raw_topic,
        wanted,
        Duration::from_secs(3),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_hl7_becomes_canonical_events_and_a_replay_converges() {
    let stack = stack().await;
    let raw_topic = format!("raw.{}.hl7v2", random_name("it"));
    ensure_topics(&kafka(), &[TopicSpec::new(&raw_topic, 1)])
        .await
        .unwrap();
    send_raw(
        &kafka(),
        &raw_topic,
        &[
            Raw::new("ADT-1", golden("adt_a01_inpatient_dg1")),
            Raw::new("ORU-1", golden("oru_r01_lab_panel")),
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
        &kafka(),
        &raw_topic,
        &[
            Raw::new("BAD-1", b"this is not HL7 at all \xff\xfe".to_vec()),
            Raw {
                charset: "GB18030".into(),
                ..Raw::new("ADT-2", golden("adt_a01_gb18030"))
            },
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
    let messages: Vec<Raw> = (0..150)
        .map(|i| Raw::new(format!("ORU-{i}"), oru.clone()))
        .collect();
    send_raw(&kafka(), &raw_topic, &messages).await;

    let group = random_name("norm");
    let first = normalise(&stack, &raw_topic, &group).await;
    // Let it get some way, then kill it without any shutdown (no drain, no final commit).
    let some: Vec<LabResult> = common::read(
        &kafka(),
        &stack.registry.url,
        &raw_topic,
        13,
        Duration::ZERO,
    )
    .await;
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
