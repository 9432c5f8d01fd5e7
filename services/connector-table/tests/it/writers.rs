//! Concurrent writers commit out of order while the poller runs; afterwards every row version
//! is in Kafka exactly once and the reconciliation agrees with the source. A transaction held
//! open past the safety window is found by the reconciliation and re-sent.

use std::sync::Arc;
use std::time::Duration;

use connector_table::Connector;
use connector_table::cursor::{Cursor, StateStore};
use connector_table::metrics::Metrics;
use connector_table::poller::{PollSettings, TablePoller};
use connector_table::publish::{Route, raw_topic};
use connector_table::reconcile::Report;
use connector_table::source::{Db, SourceTable};
use hub_kafka::resettable::ResettableProducer;
use hub_test_utils::{TestDatabase, random_name};

use crate::support::{
    FACILITY, Source, kafka, message_id, read_topic, run_writers, settings, wait_for_cursor,
};

/// A poller of the test table built from the connector's own parts.
async fn poller(source: &Source, kind: &str, state: &StateStore, batch_size: u32) -> TablePoller {
    let s = settings(source, kind, "postgres://unused");
    let table = &s.sources[0].tables[0];
    let db = Db::connect(&s.sources[0]).unwrap();
    let registry = prometheus::Registry::new();
    TablePoller {
        route: Route {
            facility: FACILITY.into(),
            source: kind.into(),
            topic: raw_topic(kind),
            dlq_topic: s.dlq_topic.clone(),
            table: table.name.clone(),
            kind: table.kind,
            fields: table.columns.keys().cloned().collect(),
            synthetic: true,
        },
        source: SourceTable::prepare(db, table).await.unwrap(),
        state: state.clone(),
        producer: Arc::new(ResettableProducer::new(kafka(), "test", &registry).unwrap()),
        metrics: Metrics::register(&registry).unwrap(),
        settings: PollSettings {
            batch_size,
            safety_window: Duration::from_millis(s.safety_window_ms),
            poll_interval: Duration::from_millis(s.poll_interval_ms),
            reconcile: s.reconcile.clone(),
        },
    }
}

/// Runs one reconciliation of the test table with the connector's own code.
async fn reconcile(source: &Source, kind: &str, state: &StateStore, cursor: &Cursor) -> Report {
    let p = poller(source, kind, state, 200).await;
    p.reconcile(cursor).await.unwrap()
}

/// Many rows with one change time, keys whose text order differs from their numeric order
/// (9 < 10 < 100, but "10" < "100" < "9"), read in small batches: the key breaks the ties in
/// the column's own order, so a batch boundary inside the tie skips nothing.
async fn ties_are_split_by_the_key(source: Source) {
    let kind = random_name("it");
    let state_db = TestDatabase::create().await.unwrap();
    let state = StateStore::open(state_db.url()).await.unwrap();
    source.insert_same_time(1..251, 30).await;
    let spec = hub_kafka::admin::TopicSpec::new(raw_topic(&kind), 4);
    hub_kafka::admin::ensure_topics(&kafka(), &[spec])
        .await
        .unwrap();
    let p = poller(&source, &kind, &state, 7).await;
    let mut cursor = None;
    let mut batches = 0;
    while !p.poll_once(&mut cursor).await.unwrap() {
        batches += 1;
    }
    assert!(batches >= 35, "{batches} batches");
    let (rows, last) = source.rows().await;
    assert_eq!(cursor.as_ref(), Some(&last));
    let messages = read_topic(&raw_topic(&kind), rows.len()).await;
    for (pk, time) in &rows {
        assert!(
            messages.contains_key(&message_id(pk, time)),
            "row {pk} skipped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ties_are_split_by_the_key() {
    ties_are_split_by_the_key(Source::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_ties_are_split_by_the_key() {
    ties_are_split_by_the_key(Source::mysql().await).await;
}

async fn out_of_order_writers_lose_nothing(source: Source) {
    hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
    let source = Arc::new(source);
    let kind = random_name("it");
    let state_db = TestDatabase::create().await.unwrap();
    let connector = Connector::bind(settings(&source, &kind, state_db.url()))
        .await
        .unwrap();
    let state = connector.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(connector.run(async move {
        let _ = stopped.await;
    }));

    // 6 writers x 25 transactions, each open up to 600 ms (the window is 2.5 s).
    run_writers(&source, 6, 25, Duration::from_millis(600)).await;
    let (rows, last) = source.rows().await;
    wait_for_cursor(&state, &last, Duration::from_secs(30)).await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();

    let report = reconcile(&source, &kind, &state, &last).await;
    assert_eq!(report.late_rows, 0, "no transaction outlived the window");
    assert_eq!(report.mismatched_days, 0, "{report:?}");
    assert_eq!(report.source_rows(), rows.len() as i64);
    assert_eq!(report.hub_rows(), rows.len() as i64);

    // Every current row version is in the topic; a copy seen twice is the same message (tansu
    // 0.6 sometimes stores a batch twice, at consecutive offsets: the broker's at-least-once).
    let messages = read_topic(&raw_topic(&kind), rows.len()).await;
    for (pk, time) in &rows {
        let copies = messages
            .get(&message_id(pk, time))
            .unwrap_or_else(|| panic!("row {pk} version {time} missing"));
        assert!(
            copies.windows(2).all(|w| w[0] == w[1]),
            "row {pk}: copies differ"
        );
    }
    assert!(
        messages.len() > rows.len(),
        "updated rows were delivered again as corrections ({} messages, {} rows)",
        messages.len(),
        rows.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_out_of_order_commits_lose_nothing() {
    out_of_order_writers_lose_nothing(Source::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_out_of_order_commits_lose_nothing() {
    out_of_order_writers_lose_nothing(Source::mysql().await).await;
}

async fn late_transactions_are_found_and_resent(source: Source) {
    let source = Arc::new(source);
    let kind = random_name("it");
    let state_db = TestDatabase::create().await.unwrap();
    let mut s = settings(&source, &kind, state_db.url());
    s.reconcile.interval_secs = 3600;
    let connector = Connector::bind(s).await.unwrap();
    let state = connector.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(connector.run(async move {
        let _ = stopped.await;
    }));

    // A transaction open for 5 s (the window is 2.5 s) while others commit after it started.
    let slow = {
        let source = Arc::clone(&source);
        tokio::spawn(async move {
            source
                .write_transaction(&[1_000_000], None, Duration::from_secs(5))
                .await;
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    run_writers(&source, 2, 15, Duration::from_millis(200)).await;
    slow.await.unwrap();
    let (rows, last) = source.rows().await;
    wait_for_cursor(&state, &last, Duration::from_secs(30)).await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();

    let late_id = message_id("1000000", &rows["1000000"]);
    let before = read_topic(&raw_topic(&kind), rows.len() - 1).await;
    assert!(!before.contains_key(&late_id), "the poller cannot see it");

    let report = reconcile(&source, &kind, &state, &last).await;
    assert_eq!(report.late_rows, 1, "{report:?}");
    assert_eq!(report.mismatched_days, 0, "re-sent: {report:?}");
    assert_eq!(report.hub_rows(), rows.len() as i64);
    let after = read_topic(&raw_topic(&kind), rows.len()).await;
    for (pk, time) in &rows {
        assert!(
            after.contains_key(&message_id(pk, time)),
            "row {pk} missing"
        );
    }
    let again = reconcile(&source, &kind, &state, &last).await;
    assert_eq!((again.late_rows, again.mismatched_days), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_late_transactions_are_resent() {
    late_transactions_are_found_and_resent(Source::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_late_transactions_are_resent() {
    late_transactions_are_found_and_resent(Source::mysql().await).await;
}
