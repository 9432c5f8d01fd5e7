//! Concurrent normalisation keeps the order of each Kafka key: one patient's messages, read
//! from one key of a raw topic by a normaliser that normalises eight messages at once, come out
//! on the canonical topic in the order they were sent (real broker, EMPI on PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{FACILITY, golden, settings, stack, start};
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::headers;
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_schemas::topics::DATA_PARTITIONS;
use hub_schemas::{CanonicalEvent, Encounter};
use hub_test_utils::{kafka_bootstrap, random_name};

/// Messages about the one patient, all with one key.
const MESSAGES: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_of_one_key_leave_in_the_order_they_came() {
    let kafka = KafkaSettings::with_bootstrap(kafka_bootstrap());
    let stack = stack().await;
    let raw_topic = format!("raw.{}.hl7v2", random_name("order"));
    // The canonical topic too: on a fresh broker a reader subscribed before its topic exists
    // may not see it for a minute (tansu).
    ensure_topics(
        &kafka,
        &[
            TopicSpec::new(&raw_topic, 1),
            TopicSpec::new(Encounter::CONTRACT.topic, DATA_PARTITIONS),
        ],
    )
    .await
    .unwrap();
    let producer =
        EventProducer::new(&kafka, "test-connector", ProducerProfile::Throughput).unwrap();
    let payload = golden("adt_a01_inpatient_dg1");
    let key = format!("{FACILITY}:MRN-ORDER-1");
    let ids: Vec<String> = (0..MESSAGES).map(|i| format!("ORDER-{i:04}")).collect();
    let records = ids.iter().map(|id| {
        let pairs = [
            (headers::FACILITY, FACILITY),
            (headers::SOURCE, "his"),
            (headers::CONTENT_TYPE, headers::HL7_V2_ER7),
            (headers::CHARSET, "UTF-8"),
            (headers::RECEIVED_AT, "2026-11-23T08:00:00+08:00"),
            (headers::MESSAGE_ID, id.as_str()),
            (headers::SYNTHETIC, "true"),
        ];
        let headers = common::headers_of(&pairs);
        OutRecord {
            topic: &raw_topic,
            key: key.as_bytes(),
            payload: &payload,
            headers: Some(headers),
        }
    });
    for delivered in producer.send_all(records).await {
        delivered.unwrap();
    }

    let mut settings = settings(&stack, &kafka, &raw_topic);
    settings.concurrency = 8;
    let normaliser = start(settings).await;
    let encounters: Vec<Encounter> = common::read(
        &kafka,
        &stack.registry.url,
        &raw_topic,
        MESSAGES,
        Duration::from_secs(2),
    )
    .await;
    normaliser.abort();

    // The broker may repeat a batch (tansu): the first copy of each event is its place.
    let mut seen = HashSet::new();
    let order: Vec<&str> = encounters
        .iter()
        .filter(|e| seen.insert(e.event_id.clone()))
        .map(|e| e.provenance.source_message_id.as_str())
        .collect();
    let sent: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(order, sent, "one key's encounters in the order sent");
}
