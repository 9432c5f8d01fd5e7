//! The transactional producer against librdkafka's in-process mock cluster, which implements the
//! transactional protocol that the local broker (tansu 0.6.0) lacks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::time::Duration;

use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::consumer::Consumer;
use hub_kafka::rdkafka::mocking::MockCluster;
use hub_kafka::rdkafka::{Message, Offset, TopicPartitionList};
use hub_kafka::{KafkaSettings, OutRecord, TransactionalProducer};

/// Waits up to 30 s for the first message (group join and assignment take a few seconds), then
/// reads until `idle` passes without one; returns the payloads.
async fn drain(consumer: &HubConsumer, idle: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let mut wait = Duration::from_secs(30);
    while let Ok(message) = tokio::time::timeout(wait, consumer.recv()).await {
        wait = idle;
        let message = message.unwrap();
        out.push(String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_output_is_visible_and_aborted_output_is_not() {
    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("canonical.test.v1", 1, 3).unwrap();
    let mut settings = KafkaSettings::with_bootstrap(cluster.bootstrap_servers());
    settings
        .librdkafka_options
        .insert("broker.address.family".into(), "any".into());

    let producer = TransactionalProducer::new(&settings, "it", "normaliser-0")
        .await
        .unwrap();
    let send = |payload: &'static str| {
        producer
            .send(OutRecord {
                topic: "canonical.test.v1",
                key: b"P-1",
                payload: payload.as_bytes(),
                headers: None,
            })
            .unwrap()
    };

    producer.begin().unwrap();
    let a = send("committed-1");
    let b = send("committed-2");
    producer.commit().await.unwrap();
    a.await.unwrap();
    b.await.unwrap();

    producer.begin().unwrap();
    let c = send("aborted");
    producer.abort().await.unwrap();
    assert!(
        c.await.is_err(),
        "an aborted record reports failure to its sender"
    );

    producer.begin().unwrap();
    let d = send("committed-3");
    producer.commit().await.unwrap();
    d.await.unwrap();

    let consumer = HubConsumer::subscribe(
        &settings,
        "it",
        "reader",
        &["canonical.test.v1"],
        Isolation::ReadCommitted,
    )
    .unwrap();
    let seen = drain(&consumer, Duration::from_secs(2)).await;
    assert_eq!(seen, ["committed-1", "committed-2", "committed-3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_offsets_travel_in_the_transaction() {
    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("raw.test", 1, 3).unwrap();
    cluster.create_topic("canonical.test.v1", 1, 3).unwrap();
    let mut settings = KafkaSettings::with_bootstrap(cluster.bootstrap_servers());
    settings
        .librdkafka_options
        .insert("broker.address.family".into(), "any".into());

    let input = TransactionalProducer::new(&settings, "it", "feeder")
        .await
        .unwrap();
    input.begin().unwrap();
    let mut deliveries = Vec::new();
    for i in 0..5 {
        let payload = format!("raw-{i}");
        deliveries.push(
            input
                .send(OutRecord {
                    topic: "raw.test",
                    key: b"k",
                    payload: payload.as_bytes(),
                    headers: None,
                })
                .unwrap(),
        );
    }
    input.commit().await.unwrap();
    for delivery in deliveries {
        delivery.await.unwrap();
    }

    let stage = HubConsumer::subscribe(
        &settings,
        "it",
        "stage",
        &["raw.test"],
        Isolation::ReadCommitted,
    )
    .unwrap();
    let output = TransactionalProducer::new(&settings, "it", "stage-0")
        .await
        .unwrap();
    output.begin().unwrap();
    let mut last = 0;
    let mut deliveries = Vec::new();
    for _ in 0..5 {
        let message = tokio::time::timeout(Duration::from_secs(10), stage.recv())
            .await
            .unwrap()
            .unwrap();
        let payload = format!(
            "canonical-of-{}",
            String::from_utf8_lossy(message.payload().unwrap())
        );
        deliveries.push(
            output
                .send(OutRecord {
                    topic: "canonical.test.v1",
                    key: b"k",
                    payload: payload.as_bytes(),
                    headers: None,
                })
                .unwrap(),
        );
        last = message.offset();
    }
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset("raw.test", 0, Offset::Offset(last + 1))
        .unwrap();
    let group = stage.inner().group_metadata().expect("group metadata");
    output.send_offsets(offsets, group).await.unwrap();
    output.commit().await.unwrap();
    for delivery in deliveries {
        delivery.await.unwrap();
    }

    // librdkafka's mock cluster answers TxnOffsetCommit without storing the offsets (see
    // rd_kafka_mock_handle_TxnOffsetCommit), so a restarted consumer cannot prove the resume
    // position here; that needs Apache Kafka. What this proves: the consumer's group metadata
    // and offsets travel through AddOffsetsToTxn/TxnOffsetCommit and the transaction commits.
    let position = stage.inner().position().unwrap();
    let next = position.find_partition("raw.test", 0).unwrap().offset();
    assert_eq!(
        next,
        Offset::Offset(last + 1),
        "the stage read every input record"
    );
}
