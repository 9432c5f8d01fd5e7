//! Replay and re-drive against the real broker (`HUB_TEST_KAFKA`), PostgreSQL (the EMPI) and the
//! in-process registry: a replay yields the same event ids as the first run, a windowed replay
//! takes only the messages received inside the window, and a re-drive after the cause was fixed
//! produces exactly the events (ids and provenance) a first-time success would have.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{FACILITY, Raw, golden, read, send_raw, settings, stack, start};
use hub_kafka::KafkaSettings;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_schemas::LabResult;
use hub_test_utils::{kafka_bootstrap, random_name};
use normaliser::commands;
use normaliser::intake::Window;

const QUIET: Duration = Duration::from_secs(3);

fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

async fn raw_topic() -> String {
    let topic = format!("raw.{}.hl7v2", random_name("it"));
    ensure_topics(&kafka(), &[TopicSpec::new(&topic, 2)])
        .await
        .unwrap();
    topic
}

fn ids(events: &[LabResult]) -> BTreeSet<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

/// Event id with its provenance: what a first-time success would have produced.
fn ids_and_positions(events: &[LabResult]) -> BTreeSet<(String, String, i32, i64)> {
    events
        .iter()
        .map(|e| {
            let p = &e.provenance;
            (
                e.event_id.clone(),
                p.source_topic.clone(),
                p.source_partition,
                p.source_offset,
            )
        })
        .collect()
}

fn at(text: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_yields_the_same_event_ids_and_stops_when_caught_up() {
    let stack = stack().await;
    let topic = raw_topic().await;
    let messages: Vec<Raw> = (0..3)
        .map(|i| Raw::new(format!("ORU-{i}"), golden("oru_r01_lab_panel")))
        .collect();
    send_raw(&kafka(), &topic, &messages).await;

    let first = start(settings(&stack, &kafka(), &topic)).await;
    let url = &stack.registry.url;
    let original: Vec<LabResult> = read(&kafka(), url, &topic, 39, Duration::ZERO).await;
    first.abort();

    let counts = commands::replay(
        settings(&stack, &kafka(), &topic),
        &topic,
        Window::default(),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(counts.read, 3, "{counts}");
    assert_eq!(counts.dead_lettered, 0, "{counts}");
    assert!(counts.produced_events >= 39, "{counts}");
    let all: Vec<LabResult> = read(&kafka(), url, &topic, 78, QUIET).await;
    assert_eq!(
        ids(&all),
        ids(&original),
        "the replay converges on the same ids"
    );
    assert_eq!(all.len(), 78, "each OBX once per run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_replay_processes_only_the_messages_received_inside_it() {
    let stack = stack().await;
    let topic = raw_topic().await;
    let days = ["20", "21", "22", "23"];
    let messages: Vec<Raw> = days
        .iter()
        .map(|day| Raw {
            received_at: format!("2026-11-{day}T08:00:00+08:00"),
            ..Raw::new(format!("ORU-DAY-{day}"), golden("oru_r01_lab_panel"))
        })
        .collect();
    send_raw(&kafka(), &topic, &messages).await;

    let window = Window {
        since: at("2026-11-21T00:00:00+08:00"),
        until: at("2026-11-23T00:00:00+08:00"),
    };
    let counts = commands::replay(
        settings(&stack, &kafka(), &topic),
        &topic,
        window,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(counts.read, 4, "{counts}");
    assert_eq!(counts.skipped_outside_window, 2, "{counts}");
    let labs: Vec<LabResult> = read(&kafka(), &stack.registry.url, &topic, 26, QUIET).await;
    let messages: BTreeSet<String> = labs
        .iter()
        .map(|l| l.provenance.source_message_id.clone())
        .collect();
    assert_eq!(
        messages,
        BTreeSet::from(["ORU-DAY-21".to_owned(), "ORU-DAY-22".to_owned()]),
        "only the 21st and the 22nd are inside [21st, 23rd)"
    );
    assert_eq!(labs.len(), 26);
}

/// A copy of the terminology without the test facility.
fn terminology_without_facility() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(random_name("terminology"));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(common::terminology()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: String = text
            .lines()
            // The registry row, and the lab code rows that name the facility (which the
            // terminology refuses for an unknown facility).
            .filter(|line| !line.starts_with(&format!("{FACILITY},")))
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(dir.join(path.file_name().unwrap()), kept).unwrap();
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_after_the_fix_yields_what_a_first_success_would_have() {
    let stack = stack().await;
    let topic = raw_topic().await;
    let messages: Vec<Raw> = (0..2)
        .map(|i| Raw::new(format!("ORU-FIX-{i}"), golden("oru_r01_lab_panel")))
        .collect();
    send_raw(&kafka(), &topic, &messages).await;

    // First run: the facility is unknown, so both messages are dead-lettered.
    let mut broken = settings(&stack, &kafka(), &topic);
    broken.terminology_dir = terminology_without_facility();
    let first = start(broken).await;
    let letters = dead_letters_of(&topic, 2).await;
    assert!(
        letters.iter().all(|code| code == "unknown_facility"),
        "{letters:?}"
    );
    first.abort();
    let _ = first.await;

    // The fix: the full facility registry. The re-drive (its own group, so from the DLQ's start)
    // takes this test's letters (and any older unknown_facility letter of this broker).
    let counts = commands::redrive(
        settings(&stack, &kafka(), &topic),
        Some("unknown_facility".into()),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert!(counts.produced_events >= 26, "{counts}");
    let url = &stack.registry.url;
    let redriven: Vec<LabResult> = read(&kafka(), url, &topic, 26, QUIET).await;
    assert_eq!(redriven.len(), 26, "each OBX of both messages, once");

    // What a first-time success yields: a replay of the raw topic with the full registry.
    let counts = commands::replay(
        settings(&stack, &kafka(), &topic),
        &topic,
        Window::default(),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(counts.dead_lettered, 0, "{counts}");
    let all: Vec<LabResult> = read(&kafka(), url, &topic, 52, QUIET).await;
    assert_eq!(all.len(), 52);
    assert_eq!(
        ids_and_positions(&redriven),
        ids_and_positions(&all),
        "same ids and the ORIGINAL raw positions as provenance, not the DLQ's"
    );
}

/// The error codes of the dead letters whose input came from `raw_topic` (waits for `wanted`).
async fn dead_letters_of(raw_topic: &str, wanted: usize) -> Vec<String> {
    use hub_kafka::consumer::{HubConsumer, Isolation};
    use hub_kafka::headers;
    use hub_kafka::rdkafka::message::{Headers, Message};
    let reader = HubConsumer::subscribe(
        &kafka(),
        "test-reader",
        &random_name("dlq"),
        &["dlq.normaliser"],
        Isolation::ReadCommitted,
    )
    .unwrap();
    let mut codes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while codes.len() < wanted {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Ok(message) = tokio::time::timeout(remaining, reader.recv())
            .await
            .unwrap()
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let Some(found) = message.headers() else {
            continue;
        };
        let get = |key: &str| {
            found
                .iter()
                .find(|h| h.key == key)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        if get(headers::SOURCE_TOPIC).as_deref() == Some(raw_topic) {
            codes.push(get(headers::ERROR_CODE).unwrap_or_default());
        }
    }
    codes
}
