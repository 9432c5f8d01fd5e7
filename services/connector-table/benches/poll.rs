//! Table-poller throughput: rows per second from a PostgreSQL and a MariaDB source table into the
//! broker, cursor and ledger committed per batch exactly as the service does.
//!
//! `HUB_BENCH_KAFKA=127.0.0.1:19092 cargo bench -p connector-table --bench poll`; the figures are
//! printed and written to `target/bench/table_poll.txt`.
//! (`HUB_BENCH_ROWS`, default 200000; PostgreSQL and MariaDB as for the tests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // A benchmark.
#![allow(missing_docs, dead_code)]

#[path = "../tests/it/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_table::cursor::StateStore;
use connector_table::metrics::Metrics;
use connector_table::poller::{PollSettings, TablePoller};
use connector_table::publish::{Route, raw_topic};
use connector_table::source::{Db, SourceTable};
use hub_kafka::KafkaSettings;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::resettable::ResettableProducer;
use hub_test_utils::{TestDatabase, random_name};
use support::{FACILITY, Source, settings};

async fn measure(
    source: &Source,
    label: &str,
    rows: i64,
    batch_size: u32,
    kafka: &KafkaSettings,
) -> String {
    let kind = random_name("bench");
    let topic = raw_topic(&kind);
    ensure_topics(kafka, &[TopicSpec::new(&topic, 4)])
        .await
        .unwrap();
    let state_db = TestDatabase::create().await.unwrap();
    let state = StateStore::open(state_db.url()).await.unwrap();
    let s = settings(source, &kind, state_db.url());
    let table = &s.sources[0].tables[0];
    let registry = prometheus::Registry::new();
    let poller = TablePoller {
        route: Route {
            facility: FACILITY.into(),
            source: kind.clone(),
            topic,
            dlq_topic: s.dlq_topic.clone(),
            table: table.name.clone(),
            kind: table.kind,
            fields: table.columns.keys().cloned().collect(),
            synthetic: true,
        },
        source: SourceTable::prepare(Db::connect(&s.sources[0]).unwrap(), table)
            .await
            .unwrap(),
        state,
        producer: Arc::new(ResettableProducer::new(kafka.clone(), "bench", &registry).unwrap()),
        metrics: Metrics::register(&registry).unwrap(),
        settings: PollSettings {
            batch_size,
            safety_window: Duration::from_secs(60),
            poll_interval: Duration::from_millis(100),
            reconcile: s.reconcile.clone(),
        },
    };
    let started = Instant::now();
    let mut cursor = None;
    while !poller.poll_once(&mut cursor).await.unwrap() {}
    let polled = started.elapsed();
    let report = poller.reconcile(cursor.as_ref().unwrap()).await.unwrap();
    let reconciled = started.elapsed() - polled;
    assert_eq!(report.hub_rows(), rows, "every row delivered");
    let line = format!(
        "{label:<9} batch {batch_size:>5}: {rows} rows in {:.2} s = {:>7.0} rows/s \
         (reconciliation of the same rows: {:.2} s)",
        polled.as_secs_f64(),
        rows as f64 / polled.as_secs_f64(),
        reconciled.as_secs_f64()
    );
    println!("{line}");
    line
}

#[tokio::main]
async fn main() {
    let Ok(bootstrap) = std::env::var("HUB_BENCH_KAFKA") else {
        eprintln!("set HUB_BENCH_KAFKA to a broker (e.g. scripts/stack.sh broker-start)");
        return;
    };
    let kafka = KafkaSettings::with_bootstrap(bootstrap);
    let rows: i64 = std::env::var("HUB_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut out = format!("connector-table poll benchmark: {rows} rows per source, 4 partitions\n");
    println!("{}", out.trim_end());
    for (label, source) in [
        ("postgres", Source::postgres().await),
        ("mariadb", Source::mysql().await),
    ] {
        let filling = Instant::now();
        // Change times an hour old: all below the safety window's horizon.
        source.insert_committed(1..rows + 1, 60).await;
        eprintln!(
            "{label}: {rows} rows written in {:.1} s",
            filling.elapsed().as_secs_f64()
        );
        for batch in [1000, 5000] {
            out.push_str(&measure(&source, label, rows, batch, &kafka).await);
            out.push('\n');
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("table_poll.txt");
    std::fs::write(&file, &out).unwrap();
    println!("written to {}", file.display());
}
