//! Real source databases (a fresh PostgreSQL database or MariaDB schema per test), writers that
//! commit out of order, the connector's settings, and a reader of the raw topic.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use connector_table::Settings;
use connector_table::cursor::{Cursor, StateStore};
use connector_table::settings::{SourceSettings, TableKind, TableSettings};
use hub_kafka::KafkaSettings;
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::headers;
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::Headers;
use hub_table::RowDocument;
use hub_test_utils::{TestDatabase, kafka_bootstrap, random_name};
use rand::Rng;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::{AssertSqlSafe, Connection, Executor, PgPool};

/// The facility of every test source.
pub const FACILITY: &str = "H21028100001";
/// The logical table name.
pub const TABLE: &str = "lab";

/// MariaDB/MySQL server of the tests (`HUB_TEST_MYSQL_URL`, default root on 127.0.0.1:3306).
pub fn mysql_admin_url() -> String {
    std::env::var("HUB_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

pub fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

/// A source database with the test table `lab_results`.
pub enum Source {
    Postgres {
        _db: TestDatabase,
        pool: PgPool,
        url: String,
    },
    MySql {
        name: String,
        pool: MySqlPool,
        url: String,
    },
}

impl Source {
    pub async fn postgres() -> Self {
        let db = TestDatabase::create().await.unwrap();
        let pool = db.pool().await.unwrap();
        pool.execute(
            "CREATE TABLE lab_results (id bigint PRIMARY KEY, change_time timestamp(6) NOT NULL,
               order_no text, item text, value text, patient_id text);
             CREATE INDEX ON lab_results (change_time, id);",
        )
        .await
        .unwrap();
        let url = db.url().to_owned();
        Self::Postgres { _db: db, pool, url }
    }

    pub async fn mysql() -> Self {
        let admin = mysql_admin_url();
        let name = format!("hub_test_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::MySqlConnection::connect(&admin)
            .await
            .expect("MariaDB on HUB_TEST_MYSQL_URL (scripts/setup.sh starts it)");
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = format!("{}/{name}", admin.trim_end_matches('/'));
        let options = MySqlConnectOptions::from_str(&url).unwrap().timezone(None);
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .unwrap();
        pool.execute(
            "CREATE TABLE lab_results (id BIGINT PRIMARY KEY, change_time DATETIME(6) NOT NULL,
               order_no VARCHAR(40), item VARCHAR(40), value VARCHAR(40), patient_id VARCHAR(40),
               INDEX by_change (change_time, id)) ENGINE=InnoDB",
        )
        .await
        .unwrap();
        Self::MySql { name, pool, url }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Postgres { url, .. } | Self::MySql { url, .. } => url,
        }
    }

    /// Inserts rows `ids` in one transaction, with change times `minutes_ago` in the past.
    pub async fn insert_committed(&self, ids: std::ops::Range<i64>, minutes_ago: i64) {
        for chunk in ids.collect::<Vec<_>>().chunks(1000) {
            let values: Vec<String> = chunk
                .iter()
                .map(|id| match self {
                    Self::Postgres { .. } => format!(
                        "({id}, LOCALTIMESTAMP - interval '{minutes_ago} minutes' \
                         + interval '{id} microseconds', 'O{id}', 'GLU', '{}.{}', 'P{}')",
                        id % 10,
                        id % 7,
                        id % 97
                    ),
                    Self::MySql { .. } => format!(
                        "({id}, NOW(6) - INTERVAL {minutes_ago} MINUTE \
                         + INTERVAL {id} MICROSECOND, 'O{id}', 'GLU', '{}.{}', 'P{}')",
                        id % 10,
                        id % 7,
                        id % 97
                    ),
                })
                .collect();
            let sql = format!(
                "INSERT INTO lab_results (id, change_time, order_no, item, value, patient_id) \
                 VALUES {}",
                values.join(",")
            );
            self.execute(&sql).await;
        }
    }

    /// Inserts rows `ids` in one statement, all with the same change time.
    pub async fn insert_same_time(&self, ids: std::ops::Range<i64>, minutes_ago: i64) {
        let time = match self {
            Self::Postgres { .. } => format!("LOCALTIMESTAMP - interval '{minutes_ago} minutes'"),
            Self::MySql { .. } => format!("NOW(6) - INTERVAL {minutes_ago} MINUTE"),
        };
        let values: Vec<String> = ids
            .map(|id| format!("({id}, {time}, 'O{id}', 'GLU', '1', 'P1')"))
            .collect();
        self.execute(&format!(
            "INSERT INTO lab_results (id, change_time, order_no, item, value, patient_id) \
             VALUES {}",
            values.join(",")
        ))
        .await;
    }

    async fn execute(&self, sql: &str) {
        match self {
            Self::Postgres { pool, .. } => {
                pool.execute(AssertSqlSafe(sql.to_owned())).await.unwrap();
            }
            Self::MySql { pool, .. } => {
                pool.execute(AssertSqlSafe(sql.to_owned())).await.unwrap();
            }
        }
    }

    /// One writer transaction: inserts `ids` and updates `update` with the change time taken at
    /// its start, holds it open for `hold`, then commits, so writers commit out of order.
    pub async fn write_transaction(&self, ids: &[i64], update: Option<i64>, hold: Duration) {
        let now = match self {
            // now()/LOCALTIMESTAMP is the transaction's start: the worst case for a poller.
            Self::Postgres { .. } => "LOCALTIMESTAMP",
            Self::MySql { .. } => "NOW(6)",
        };
        let mut statements = Vec::new();
        for id in ids {
            statements.push(format!(
                "INSERT INTO lab_results VALUES ({id}, {now}, 'O{id}', 'GLU', '5.{}', 'P{}')",
                id % 10,
                id % 97
            ));
        }
        if let Some(id) = update {
            statements.push(format!(
                "UPDATE lab_results SET value = CONCAT(value, '+'), change_time = {now} \
                 WHERE id = {id}"
            ));
        }
        match self {
            Self::Postgres { pool, .. } => {
                let mut tx = pool.begin().await.unwrap();
                for s in &statements {
                    tx.execute(AssertSqlSafe(s.clone())).await.unwrap();
                }
                tokio::time::sleep(hold).await;
                tx.commit().await.unwrap();
            }
            Self::MySql { pool, .. } => {
                let mut tx = pool.begin().await.unwrap();
                for s in &statements {
                    tx.execute(AssertSqlSafe(s.clone())).await.unwrap();
                }
                tokio::time::sleep(hold).await;
                tx.commit().await.unwrap();
            }
        }
    }

    /// The current `(pk, change time)` of every row, and the last row in cursor order.
    pub async fn rows(&self) -> (BTreeMap<String, String>, Cursor) {
        let pairs: Vec<(String, String)> = match self {
            Self::Postgres { pool, .. } => sqlx::query_as(
                "SELECT CAST(id AS text) AS k, CAST(change_time AS text) AS c FROM lab_results \
                 ORDER BY change_time, id",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            Self::MySql { pool, .. } => sqlx::query_as(
                "SELECT CAST(id AS CHAR) AS k, CAST(change_time AS CHAR) AS c FROM lab_results \
                 ORDER BY change_time, id",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        };
        let last = pairs.last().map(|(pk, t)| Cursor {
            change_time: t.clone(),
            pk: pk.clone(),
        });
        (pairs.into_iter().collect(), last.unwrap())
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Self::MySql { name, .. } = self {
            let statement = format!("DROP DATABASE IF EXISTS `{name}`");
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    if let Ok(mut c) = sqlx::MySqlConnection::connect(&mysql_admin_url()).await {
                        let _ = c.execute(AssertSqlSafe(statement)).await;
                    }
                });
            })
            .join();
        }
    }
}

/// Runs `writers` concurrent writers for `rounds` transactions each; every transaction inserts
/// a few new rows, sometimes updates an old one, and stays open up to `max_hold`.
pub async fn run_writers(source: &Arc<Source>, writers: usize, rounds: usize, max_hold: Duration) {
    let next = Arc::new(AtomicI64::new(1));
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let source = Arc::clone(source);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            for _ in 0..rounds {
                let (n, update, hold) = {
                    let mut rng = rand::rng();
                    let n = rng.random_range(1..=5);
                    let seen = next.load(Ordering::SeqCst);
                    let update =
                        (seen > 10 && rng.random_bool(0.3)).then(|| rng.random_range(1..seen - 5));
                    let hold = Duration::from_millis(
                        rng.random_range(0..=u64::try_from(max_hold.as_millis()).unwrap()),
                    );
                    (n, update, hold)
                };
                let first = next.fetch_add(n, Ordering::SeqCst);
                let ids: Vec<i64> = (first..first + n).collect();
                source.write_transaction(&ids, update, hold).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The connector's settings for one source table.
pub fn settings(source: &Source, source_kind: &str, state_url: &str) -> Settings {
    let columns = [
        ("order_id", "order_no"),
        ("test_code", "item"),
        ("value", "value"),
        ("patient_mrn", "patient_id"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Settings {
        admin_listen: "127.0.0.1:0".into(),
        kafka: kafka(),
        state_database_url: state_url.to_owned().into(),
        dlq_topic: random_name("dlq"),
        poll_interval_ms: 100,
        batch_size: 200,
        safety_window_ms: 2500,
        sources: vec![SourceSettings {
            facility: FACILITY.into(),
            source: source_kind.into(),
            url: Some(source.url().to_owned().into()),
            url_file: None,
            time_zone: None,
            synthetic: true,
            tables: vec![TableSettings {
                name: TABLE.into(),
                kind: TableKind::LabResult,
                table: "lab_results".into(),
                pk: "id".into(),
                change_time: "change_time".into(),
                columns,
            }],
        }],
        ..Settings::default()
    }
}

/// Waits until the committed cursor is `target`.
pub async fn wait_for_cursor(state: &StateStore, target: &Cursor, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let cursor = state.cursor(FACILITY, TABLE).await.unwrap();
        if cursor.as_ref() == Some(target) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "cursor {cursor:?} did not reach {target:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every message of `topic`: message id to the payloads seen under it (one per copy).
pub async fn read_topic(topic: &str, wanted_ids: usize) -> HashMap<String, Vec<Vec<u8>>> {
    let consumer = HubConsumer::subscribe(
        &kafka(),
        "test-reader",
        &random_name("reader"),
        &[topic],
        Isolation::ReadUncommitted,
    )
    .unwrap();
    let mut out: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut quiet_until = None;
    loop {
        let now = tokio::time::Instant::now();
        if now > deadline || quiet_until.is_some_and(|q| now > q) {
            return out;
        }
        let Ok(Ok(message)) =
            tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await
        else {
            continue;
        };
        let id = message
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == headers::MESSAGE_ID))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap();
        let payload = message.payload().unwrap_or_default().to_vec();
        let document: RowDocument = serde_json::from_slice(&payload).unwrap();
        assert_eq!(document.message_id(), id);
        assert_eq!(
            message.key(),
            Some(format!("{FACILITY}:{TABLE}:{}", document.pk).as_bytes())
        );
        out.entry(id).or_default().push(payload);
        if out.len() >= wanted_ids {
            // Read on until the topic is quiet: duplicates must show up too.
            quiet_until = Some(tokio::time::Instant::now() + Duration::from_secs(2));
        }
    }
}

/// The message id a row version must have.
pub fn message_id(pk: &str, change_time: &str) -> String {
    format!("{TABLE}:{pk}@{change_time}")
}
