//! Against the local broker (`HUB_TEST_KAFKA`, tansu): `transactions: auto` falls back to the
//! idempotent runner (tansu 0.6.0 does not complete transactions), and the consumer lag gauge
//! reports the unread messages of a group.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use common::{Raw, golden, send_raw};
use hub_kafka::KafkaSettings;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::lag::LagMonitor;
use hub_test_utils::{kafka_bootstrap, random_name};
use normaliser::Settings;
use normaliser::settings::Transactions;
use prometheus::{IntGaugeVec, Opts};

fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_the_idempotent_fallback_on_tansu() {
    ensure_topics(&kafka(), &[TopicSpec::new("dlq.normaliser", 1)])
        .await
        .unwrap();
    let settings = Settings {
        kafka: kafka(),
        group_id: random_name("norm"),
        transactions: Transactions::Auto,
        ..Settings::default()
    };
    assert!(!normaliser::delivery::exactly_once(&settings, "dlq.normaliser").await);
    let off = Settings {
        transactions: Transactions::Off,
        ..settings
    };
    assert!(!normaliser::delivery::exactly_once(&off, "dlq.normaliser").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lag_gauge_counts_the_unread_messages() {
    let topic = format!("raw.{}.hl7v2", random_name("lag"));
    ensure_topics(&kafka(), &[TopicSpec::new(&topic, 2)])
        .await
        .unwrap();
    let messages: Vec<Raw> = (0..5)
        .map(|i| Raw::new(format!("LAG-{i}"), golden("oru_r01_lab_panel")))
        .collect();
    send_raw(&kafka(), &topic, &messages).await;
    let gauge = IntGaugeVec::new(Opts::new("lag", "lag"), &["topic", "partition"]).unwrap();
    let monitor = LagMonitor::new(
        &kafka(),
        "normaliser-lag",
        &random_name("norm"),
        std::slice::from_ref(&topic),
        gauge.clone(),
    )
    .unwrap();
    tokio::task::spawn_blocking(move || monitor.sample())
        .await
        .unwrap()
        .unwrap();
    let lag: Vec<i64> = (0..2)
        .map(|p| {
            gauge
                .with_label_values(&[topic.as_str(), &p.to_string()])
                .get()
        })
        .collect();
    assert_eq!(lag.iter().sum::<i64>(), 5, "{lag:?}");
    assert!(lag.iter().all(|l| *l >= 0));
}
