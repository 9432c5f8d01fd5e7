//! Exactly-once mode on librdkafka's in-process mock cluster (which implements the
//! transactional protocol the local tansu broker lacks), with the in-process registry and a
//! fresh EMPI database.
//!
//! Two gaps of the mock (librdkafka 2.12, rdkafka_mock_handlers.c) bound what can be asserted:
//! it answers TxnOffsetCommit without storing the offsets, so a restarted normaliser re-reads
//! its input from the beginning and re-produces what was already committed; and its Fetch
//! reports LastStableOffset = high watermark with no aborted transactions, so a record that
//! reached it is visible even to `read_committed` readers whatever its transaction became. The
//! normaliser sends a batch only when committing it, so a kill while a batch is being built
//! leaves nothing on the broker: that is what the kill test proves, on any broker.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Raw, golden, read, send_raw, settings, stack, start};
use hub_kafka::KafkaSettings;
use hub_kafka::rdkafka::mocking::MockCluster;
use hub_schemas::LabResult;
use normaliser::settings::Transactions;

const QUIET: Duration = Duration::from_secs(4);
const PER_MESSAGE: usize = 13; // OBX segments of the lab panel.

fn mock_settings(
    cluster: &MockCluster<'_, impl hub_kafka::rdkafka::producer::ProducerContext>,
) -> KafkaSettings {
    let mut kafka = KafkaSettings::with_bootstrap(cluster.bootstrap_servers());
    kafka
        .librdkafka_options
        .insert("broker.address.family".into(), "any".into());
    kafka
}

/// A mock cluster with the raw topic, every canonical topic and the DLQ.
fn cluster() -> MockCluster<'static, hub_kafka::rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("raw.lab.hl7v2", 1, 3).unwrap();
    cluster.create_topic("dlq.normaliser", 1, 3).unwrap();
    for contract in hub_schemas::CANONICAL {
        cluster.create_topic(contract.topic, 3, 3).unwrap();
    }
    cluster
}

fn messages(count: usize) -> Vec<Raw> {
    (0..count)
        .map(|i| Raw::new(format!("ORU-TX-{i}"), golden("oru_r01_lab_panel")))
        .collect()
}

fn counts(events: &[LabResult]) -> BTreeMap<String, (usize, i64)> {
    let mut out: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for e in events {
        let entry = out
            .entry(e.event_id.clone())
            .or_insert((0, e.provenance.source_offset));
        entry.0 += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_committed_consumer_sees_each_event_exactly_once() {
    let cluster = cluster();
    let kafka = mock_settings(&cluster);
    send_raw(&kafka, "raw.lab.hl7v2", &messages(6)).await;
    let stack = stack().await;
    let mut config = settings(&stack, &kafka, "raw.lab.hl7v2");
    config.transactions = Transactions::On;
    config.create_topics = false; // The mock hangs on CreateTopics; cluster() made them.
    config.transaction_max_messages = 4;
    config.transaction_max_ms = 500;
    let running = start(config).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    if running.is_finished() {
        panic!("normaliser stopped: {:?}", running.await);
    }

    let labs: Vec<LabResult> = read(
        &kafka,
        &stack.registry.url,
        "raw.lab.hl7v2",
        6 * PER_MESSAGE,
        QUIET,
    )
    .await;
    let seen = counts(&labs);
    assert_eq!(seen.len(), 6 * PER_MESSAGE);
    assert!(
        seen.values().all(|(n, _)| *n == 1),
        "every event exactly once"
    );
    assert!(!running.is_finished(), "still running: {running:?}");
    running.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_transaction_leaves_nothing_of_it_and_the_restart_produces_the_rest() {
    let cluster = cluster();
    let kafka = mock_settings(&cluster);
    send_raw(&kafka, "raw.lab.hl7v2", &messages(12)).await;
    let stack = stack().await;
    let url = stack.registry.url.clone();
    let mut config = settings(&stack, &kafka, "raw.lab.hl7v2");
    config.transactions = Transactions::On;
    config.create_topics = false; // The mock hangs on CreateTopics; cluster() made them.
    config.transaction_max_messages = 5;
    // Messages 0-4 and 5-9 commit by count; 10 and 11 wait in an open transaction for a
    // time-based commit that never comes: the kill lands while it is open.
    config.transaction_max_ms = 120_000;
    let (group, instance) = (config.group_id.clone(), config.instance.clone());
    let first = start(config).await;
    let committed: Vec<LabResult> =
        read(&kafka, &url, "raw.lab.hl7v2", 10 * PER_MESSAGE, QUIET).await;
    first.abort();
    let _ = first.await;
    let before = counts(&committed);
    assert_eq!(
        before.len(),
        10 * PER_MESSAGE,
        "two transactions of five messages"
    );
    assert!(
        before.values().all(|(n, offset)| *n == 1 && *offset < 10),
        "nothing of the open transaction (messages 10 and 11) is visible"
    );
    let after_kill: Vec<LabResult> =
        read(&kafka, &url, "raw.lab.hl7v2", 10 * PER_MESSAGE, QUIET).await;
    assert_eq!(counts(&after_kill), before, "the kill left nothing behind");

    // Restart: same group and transactional id (fencing the old producer), quick commits.
    let mut config = settings(&stack, &kafka, "raw.lab.hl7v2");
    config.group_id = group;
    config.instance = instance;
    config.transactions = Transactions::On;
    config.create_topics = false; // The mock hangs on CreateTopics; cluster() made them.
    config.transaction_max_messages = 5;
    config.transaction_max_ms = 300;
    let second = start(config).await;
    // The mock forgot the committed offsets, so the restart re-reads all 12 messages.
    let all: Vec<LabResult> = read(&kafka, &url, "raw.lab.hl7v2", 22 * PER_MESSAGE, QUIET).await;
    second.abort();
    let after = counts(&all);
    assert_eq!(after.len(), 12 * PER_MESSAGE, "every event is present");
    for (id, (n, offset)) in &after {
        if *offset >= 10 {
            assert_eq!(
                *n, 1,
                "{id} of the killed transaction is produced exactly once"
            );
        } else {
            assert!(
                *n == 2 && before.contains_key(id),
                "{id}: a repeat is only an already committed event, re-produced because the mock does not keep transactional offsets"
            );
        }
    }
    let repeated: BTreeSet<&String> = after
        .iter()
        .filter(|(_, (n, _))| *n > 1)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(repeated.len(), 10 * PER_MESSAGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_finds_transactions_on_the_mock_cluster() {
    let cluster = cluster();
    let kafka = mock_settings(&cluster);
    assert!(
        normaliser::delivery::supports_transactions(&kafka, "probe-0", "probe", "dlq.normaliser")
            .await
    );
}
