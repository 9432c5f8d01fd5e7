//! The connector binary is killed (SIGKILL) in the middle of its batches and started again:
//! every row is in the topic afterwards, and a row seen more than once is the same message.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use connector_table::cursor::StateStore;
use connector_table::publish::raw_topic;
use hub_test_utils::{TestDatabase, random_name};

use crate::support::{FACILITY, Source, TABLE, message_id, read_topic, settings, wait_for_cursor};

fn spawn(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_connector-table"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The YAML the binary reads: the same settings the in-process tests use.
fn config_yaml(source: &Source, kind: &str, state_url: &str) -> String {
    let s = settings(source, kind, state_url);
    let t = &s.sources[0].tables[0];
    let columns: String = t
        .columns
        .iter()
        .map(|(k, v)| format!("          {k}: {v}\n"))
        .collect();
    format!(
        "admin_listen: \"127.0.0.1:0\"
kafka:
  bootstrap_servers: \"{}\"
state_database_url: \"{state_url}\"
dlq_topic: {}
poll_interval_ms: 100
batch_size: 100
safety_window_ms: 1000
sources:
  - facility: \"{FACILITY}\"
    source: {kind}
    url: \"{}\"
    tables:
      - name: {TABLE}
        kind: lab_result
        table: lab_results
        pk: id
        change_time: change_time
        columns:
{columns}",
        s.kafka.bootstrap_servers,
        s.dlq_topic,
        source.url()
    )
}

async fn killed_mid_batch_loses_nothing(source: Source) {
    // Enough rows that both kills land mid-run on a fast machine (6,000 were read in under 200 ms).
    source.insert_committed(1..30001, 30).await;
    let kind = random_name("it");
    let state_db = TestDatabase::create().await.unwrap();
    let dir = std::env::temp_dir().join(random_name("connector-table"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(&config, config_yaml(&source, &kind, state_db.url())).unwrap();
    let state = StateStore::open(state_db.url()).await.unwrap();
    let (rows, last) = source.rows().await;

    // Kill it twice while batches are under way: once the first cursor is stored, then again a
    // little later.
    for _ in 0..2 {
        let mut child = spawn(&config);
        let start = state.cursor(FACILITY, TABLE).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let now = state.cursor(FACILITY, TABLE).await.unwrap();
            if now.is_some() && now != start {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        child.kill().unwrap(); // SIGKILL: no flush, no goodbye.
        child.wait().unwrap();
        let cursor = state.cursor(FACILITY, TABLE).await.unwrap();
        assert_ne!(cursor.as_ref(), Some(&last), "killed before the end");
    }

    let mut child = spawn(&config);
    wait_for_cursor(&state, &last, Duration::from_secs(40)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let messages = read_topic(&raw_topic(&kind), rows.len()).await;
    for (pk, time) in &rows {
        let copies = messages
            .get(&message_id(pk, time))
            .unwrap_or_else(|| panic!("row {pk} lost"));
        assert!(
            copies.windows(2).all(|w| w[0] == w[1]),
            "row {pk}: duplicates differ"
        );
    }
    assert_eq!(messages.len(), rows.len(), "no message that is not a row");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_poller_killed_mid_batch_loses_nothing() {
    killed_mid_batch_loses_nothing(Source::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_poller_killed_mid_batch_loses_nothing() {
    killed_mid_batch_loses_nothing(Source::mysql().await).await;
}
