//! The sink against the real broker, PostgreSQL and the hub's registry (in-process): canonical
//! Avro in, the record out. Every test uses its own topic prefix, group and database, so tests
//! never see each other's events.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::time::Duration;

use common::*;
use hub_avro::RegistryClient;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use hub_kafka::rdkafka::message::Headers;
use hub_kafka::rdkafka::{Message, Offset, TopicPartitionList};
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_schemas::{AnyEvent, CanonicalEvent, EncounterAction, LabResultStatus};
use hub_test_utils::{TestDatabase, kafka_bootstrap, random_name};
use record::Settings;
use sqlx::PgPool;

struct Stack {
    _registry_db: TestDatabase,
    registry: schema_registry::Running,
    db: TestDatabase,
    pool: PgPool,
    prefix: String,
    group: String,
}

fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

async fn stack() -> Stack {
    let registry_db = TestDatabase::create().await.unwrap();
    let registry = schema_registry::spawn(schema_registry::Settings {
        database_url: registry_db.url().to_owned().into(),
        ..schema_registry::Settings::default()
    })
    .await
    .unwrap();
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    Stack {
        _registry_db: registry_db,
        registry,
        db,
        pool,
        prefix: format!("{}.", random_name("rec")),
        group: random_name("record-test"),
    }
}

impl Stack {
    fn settings(&self) -> Settings {
        Settings {
            kafka: kafka(),
            registry_url: self.registry.url.clone(),
            database_url: self.db.url().to_owned().into(),
            topic_prefix: self.prefix.clone(),
            group_id: self.group.clone(),
            batch_max_wait_ms: 100,
            ..Settings::default()
        }
    }

    fn topic<T: CanonicalEvent>(&self) -> String {
        format!("{}{}", self.prefix, T::CONTRACT.topic)
    }

    async fn produce(&self, events: &[AnyEvent]) {
        let registry = RegistryClient::new(&self.registry.url).unwrap();
        let producer = EventProducer::new(&kafka(), "test", ProducerProfile::LowLatency).unwrap();
        for event in events {
            let topic = format!("{}{}", self.prefix, event.contract().topic);
            let payload = encode(&registry, event).await;
            self.send(&producer, &topic, event.person_id(), &payload)
                .await;
        }
    }

    async fn send(&self, producer: &EventProducer, topic: &str, key: &str, payload: &[u8]) {
        producer
            .send(OutRecord {
                topic,
                key: key.as_bytes(),
                payload,
                headers: None,
            })
            .await
            .unwrap();
    }

    /// The group's committed offset per partition of `topic` (`None`: nothing committed) and
    /// the partition's high watermark.
    fn committed(&self, topic: &str) -> Vec<(Option<i64>, i64)> {
        let consumer: BaseConsumer = kafka()
            .client_config("test-offsets")
            .set("group.id", &self.group)
            .create()
            .unwrap();
        let mut list = TopicPartitionList::new();
        for p in 0..hub_schemas::topics::DATA_PARTITIONS {
            list.add_partition(topic, p);
        }
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .unwrap();
        committed
            .elements()
            .iter()
            .map(|e| {
                let (_, high) = consumer
                    .fetch_watermarks(topic, e.partition(), Duration::from_secs(10))
                    .unwrap();
                match e.offset() {
                    Offset::Offset(o) => (Some(o), high),
                    _ => (None, high),
                }
            })
            .collect()
    }

    /// Whether the group committed the end of every partition of `topic` that holds records.
    fn caught_up(&self, topic: &str) -> bool {
        self.committed(topic)
            .iter()
            // tansu reports the high watermark as the last offset rather than the next one.
            .all(|(committed, high)| *high == 0 || committed.is_some_and(|c| c >= *high))
    }

    /// The YAML configuration of a `record` process on this stack's topics, group and database,
    /// with batches of `batch` records and a short session timeout (a killed member is dropped
    /// from the group within seconds).
    fn child_config(&self, batch: usize) -> String {
        format!(
            "kafka:\n  bootstrap_servers: {kafka}\n  librdkafka_options:\n    \
             session.timeout.ms: \"6000\"\n    heartbeat.interval.ms: \"1000\"\n\
             registry_url: {registry}\n\
             database_url: {db}\n\
             topic_prefix: \"{prefix}\"\n\
             group_id: {group}\n\
             batch_max_records: {batch}\n\
             batch_max_wait_ms: 100\n\
             listen: 127.0.0.1:0\n",
            kafka = kafka_bootstrap(),
            registry = self.registry.url,
            db = self.db.url(),
            prefix = self.prefix,
            group = self.group,
        )
    }
}

/// The `record` binary running as a child process.
struct RecordProcess(tokio::process::Child);

impl RecordProcess {
    /// Starts it with `--config` (the caller waits for what it needs to see).
    async fn start(config: &std::path::Path) -> Self {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_record"))
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .expect("the record binary starts");
        Self(child)
    }

    /// SIGKILL, and the exit reaped.
    async fn kill(&mut self) {
        self.0.kill().await.expect("the record process is killed");
    }
}

async fn rows(pool: &PgPool, sql: &'static str, person: &str) -> i64 {
    scalar_i64(pool, sql, person).await
}

#[tokio::test]
async fn replays_duplicates_corrections_cancellations_reversals_and_merges() {
    let stack = stack().await;
    let service = Service::start(stack.settings()).await;
    let f = unique("F");
    let p = unique("P-");
    let old = unique("P-old-");

    let first = lab(&format!("{p}-l1"), &p, &f, T0, "5.0");
    let mut corrected = lab(&format!("{p}-l2"), &p, &f, T0 + HOUR, "5.6");
    corrected.order_id = first.order_id.clone();
    corrected.result_status = LabResultStatus::Corrected;
    let admit = encounter(&format!("{p}-adm"), &p, &f, T0, EncounterAction::Admit);
    let mut cancel = encounter(
        &format!("{p}-cxl"),
        &p,
        &f,
        T0 + HOUR,
        EncounterAction::CancelAdmit,
    );
    cancel.cancels_event_id = Some(admit.event_id.clone());
    let setl = settlement(&format!("{p}-s1"), &p, &f, T0, &format!("{p}-S1"), None);
    let reversal = settlement(
        &format!("{p}-s2"),
        &p,
        &f,
        T0 + HOUR,
        &format!("{p}-S2"),
        Some(&setl.setl_id),
    );
    let events = vec![
        AnyEvent::Person(person(&p, &f, "210102199003071234", "13856785678")),
        AnyEvent::LabResult(first.clone()),
        AnyEvent::LabResult(first.clone()), // a duplicate inside one batch
        AnyEvent::LabResult(corrected),
        AnyEvent::Encounter(cancel), // the cancellation arrives before what it cancels
        AnyEvent::Encounter(admit),
        AnyEvent::Settlement(reversal), // and the reversal before its settlement
        AnyEvent::Settlement(setl),
        AnyEvent::LabResult(lab(&format!("{old}-l"), &old, &f, T0 - HOUR, "4.0")),
        AnyEvent::IdentityLink(merge(&format!("{old}-m"), &old, &p, T0 + 2 * HOUR)),
    ];
    stack.produce(&events).await;
    // A late event for the merged-away id, after the merge.
    let late = AnyEvent::LabResult(lab(&format!("{old}-late"), &old, &f, T0 - 2 * HOUR, "3.0"));
    stack.produce(std::slice::from_ref(&late)).await;

    let pool = &stack.pool;
    eventually(60, "every event written", || async {
        rows(pool, "SELECT count(*) FROM lab_results WHERE person_id LIKE $1 || '%' OR person_id LIKE 'P-old-%'", &p).await >= 4
            && rows(pool, "SELECT count(*) FROM person_aliases WHERE survivor_id = $1", &p).await == 1
            && rows(pool, "SELECT count(*) FROM settlements WHERE person_id = $1", &p).await == 2
            && rows(pool, "SELECT count(*) FROM encounters WHERE person_id = $1", &p).await == 2
    })
    .await;

    let check = || async {
        assert_eq!(
            rows(
                pool,
                "SELECT count(*) FROM lab_results WHERE person_id = $1",
                &p
            )
            .await,
            2
        );
        let current: String = sqlx::query_scalar(
            "SELECT value_text FROM lab_results WHERE person_id = $1 AND is_current AND order_id LIKE '%-l1'",
        )
        .bind(&p)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(current, "5.6", "the correction replaces the value");
        let cancelled: bool = sqlx::query_scalar(
            "SELECT cancelled FROM encounters WHERE person_id = $1 AND action = 'ADMIT'",
        )
        .bind(&p)
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(cancelled, "the admission is marked cancelled");
        let reversed_by: Option<String> = sqlx::query_scalar(
            "SELECT reversed_by FROM settlements WHERE person_id = $1 AND kind = 'SETTLEMENT'",
        )
        .bind(&p)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(reversed_by, Some(format!("{p}-S2")));
    };
    check().await;

    // Through the API, the merged-away id shows the survivor with both histories in time order.
    let client = reqwest::Client::new();
    let timeline: serde_json::Value = client
        .get(format!("{}/persons/{old}/timeline?type=lab", service.url))
        .bearer_auth("admin-token-not-configured")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(timeline["error"], "unauthorized");
    let ids = record::api::access::members(pool, &p).await.unwrap();
    assert_eq!(ids, vec![p.clone(), old.clone()]);
    let survivor = record::api::access::survivor(pool, &old).await.unwrap();
    assert_eq!(survivor, p);

    // Replaying everything changes nothing.
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM lab_results")
        .fetch_one(pool)
        .await
        .unwrap();
    let marker = lab(&format!("{p}-marker"), &unique("P-m-"), &f, T0, "1");
    let mut replay = events.clone();
    replay.push(late);
    replay.push(AnyEvent::LabResult(marker.clone()));
    stack.produce(&replay).await;
    eventually(60, "the replay's marker", || async {
        rows(
            pool,
            "SELECT count(*) FROM lab_results WHERE event_id = $1",
            &marker.event_id,
        )
        .await
            == 1
    })
    .await;
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM lab_results")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(after, written + 1, "only the marker is new");
    check().await;
    service.stop().await;
}

#[tokio::test]
async fn bad_records_go_to_the_dlq_and_the_sink_moves_on() {
    let stack = stack().await;
    let service = Service::start(stack.settings()).await;
    let f = unique("F");
    let p = unique("P-");
    let topic = stack.topic::<hub_schemas::LabResult>();
    let producer = EventProducer::new(&kafka(), "test", ProducerProfile::LowLatency).unwrap();
    stack.send(&producer, &topic, &p, b"not avro at all").await;
    stack
        .produce(&[
            AnyEvent::LabResult(lab(&format!("{p}-nobody"), "", &f, T0, "1")),
            AnyEvent::LabResult(lab(&format!("{p}-ok"), &p, &f, T0, "2")),
        ])
        .await;
    let pool = &stack.pool;
    eventually(60, "the valid event", || async {
        rows(
            pool,
            "SELECT count(*) FROM lab_results WHERE person_id = $1",
            &p,
        )
        .await
            == 1
    })
    .await;

    let consumer: BaseConsumer = kafka()
        .client_config("test-dlq")
        .set("group.id", random_name("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["dlq.record"]).unwrap();
    let mut codes = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while codes.len() < 2 && std::time::Instant::now() < deadline {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let header = |key: &str| {
            message.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == key)
                    .and_then(|x| x.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        if header("hub-source-topic").as_deref() == Some(topic.as_str()) {
            codes.push(header("hub-error-code").unwrap());
        }
    }
    codes.sort();
    assert_eq!(
        codes,
        vec!["record_missing_person_id", "record_undecodable"]
    );
    eventually(30, "offsets past the dead letters", || async {
        stack.caught_up(&topic)
    })
    .await;
    service.stop().await;
}

#[tokio::test]
async fn offsets_are_stored_only_after_the_transaction_commits() {
    let stack = stack().await;
    let service = Service::start(stack.settings()).await;
    let pool = &stack.pool;
    sqlx::query("ALTER TABLE lab_results RENAME TO lab_results_away")
        .execute(pool)
        .await
        .unwrap();
    let f = unique("F");
    let p = unique("P-");
    let events: Vec<AnyEvent> = (0..3)
        .map(|i| AnyEvent::LabResult(lab(&format!("{p}-{i}"), &p, &f, T0 + i * HOUR, "1")))
        .collect();
    stack.produce(&events).await;
    let topic = stack.topic::<hub_schemas::LabResult>();
    // The sink retries the failing batch; nothing may be committed meanwhile.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let committed = stack.committed(&topic);
    assert!(committed.iter().any(|(_, high)| *high > 0), "{committed:?}");
    assert!(
        committed.iter().all(|(c, _)| c.is_none()),
        "no offset before the commit: {committed:?}"
    );

    sqlx::query("ALTER TABLE lab_results_away RENAME TO lab_results")
        .execute(pool)
        .await
        .unwrap();
    eventually(60, "the retried batch", || async {
        rows(
            pool,
            "SELECT count(*) FROM lab_results WHERE person_id = $1",
            &p,
        )
        .await
            == 3
    })
    .await;
    eventually(30, "the committed offsets", || async {
        stack.caught_up(&topic)
    })
    .await;
    service.stop().await;
}

#[tokio::test]
async fn killed_mid_batch_and_restarted_loses_nothing_and_writes_nothing_twice() {
    const EVENTS: i64 = 3_000;
    let stack = stack().await;
    let f = unique("F");
    let p = unique("P-");
    // Two lab results to one encounter event, every visit its own; all on the topics before the
    // sink starts, so that it is busy writing batches when it is killed.
    let events: Vec<AnyEvent> = (0..EVENTS)
        .map(|i| {
            let t = T0 + i * 60_000;
            if i % 3 == 2 {
                let mut e = encounter(&format!("{p}-e{i}"), &p, &f, t, EncounterAction::Admit);
                e.encounter_id = format!("V-{p}-{i}");
                AnyEvent::Encounter(e)
            } else {
                AnyEvent::LabResult(lab(&format!("{p}-l{i}"), &p, &f, t, &format!("{i}")))
            }
        })
        .collect();
    let registry = RegistryClient::new(&stack.registry.url).unwrap();
    let codecs = hub_avro::CanonicalCodecs::register(&registry)
        .await
        .unwrap();
    let payloads: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| {
            (
                format!("{}{}", stack.prefix, e.contract().topic),
                codecs.encode(e).unwrap(),
            )
        })
        .collect();
    let specs: Vec<_> = stack
        .settings()
        .topics()
        .into_iter()
        .map(|(t, _)| TopicSpec::new(t, hub_schemas::topics::DATA_PARTITIONS))
        .collect();
    ensure_topics(&kafka(), &specs).await.unwrap();
    // One record per produce request, awaited: the local test broker (tansu) reports the high
    // watermarks of multi-record batches by batch rather than by record, which would make the
    // `caught_up` check below meaningless.
    let producer = EventProducer::new(&kafka(), "test", ProducerProfile::LowLatency).unwrap();
    for (topic, payload) in &payloads {
        stack.send(&producer, topic, &p, payload).await;
    }

    let written = |pool: PgPool, p: String| async move {
        rows(
            &pool,
            "SELECT (SELECT count(*) FROM lab_results WHERE person_id = $1) \
                  + (SELECT count(*) FROM encounters WHERE person_id = $1)",
            &p,
        )
        .await
    };
    // The record binary, started as its own process and killed with SIGKILL: no shutdown, no
    // leave-group, its open PostgreSQL transaction cut off by the server when the socket closes.
    let dir = std::env::temp_dir().join(random_name("record-kill"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("record.yaml");
    std::fs::write(&config, stack.child_config(200)).unwrap();
    // The tables exist before the child starts, so that the progress query below can run at once
    // (the child finds the migrations applied).
    record::migrate(&stack.pool).await.unwrap();
    let mut child = RecordProcess::start(&config).await;
    // Kill it as soon as the first batches are in, while the rest are being collected and written.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let n = written(stack.pool.clone(), p.clone()).await;
        if n > 0 {
            break n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sink wrote nothing"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    child.kill().await;
    let after_kill = written(stack.pool.clone(), p.clone()).await;
    assert!(
        after_kill < EVENTS,
        "killed mid-way: {at_kill} written when the kill was decided, {after_kill} after it"
    );

    // Restarted with the same group: it resumes from the last committed offsets, repeats what
    // was written but not committed, and the upserts by event id make the repeat harmless. The
    // killed member never left the group: the broker drops it after its session timeout (6 s
    // in the child's configuration), then the partitions are assigned to the new process.
    let mut child = RecordProcess::start(&config).await;
    let pool = &stack.pool;
    eventually(120, "every event after the restart", || async {
        written(pool.clone(), p.clone()).await >= EVENTS
    })
    .await;
    for topic in [
        stack.topic::<hub_schemas::LabResult>(),
        stack.topic::<hub_schemas::Encounter>(),
    ] {
        eventually(60, "the committed offsets", || async {
            stack.caught_up(&topic)
        })
        .await;
    }
    child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);

    let mut stored: Vec<String> = sqlx::query_scalar(
        "SELECT event_id FROM lab_results WHERE person_id = $1 \
         UNION ALL SELECT event_id FROM encounters WHERE person_id = $1",
    )
    .bind(&p)
    .fetch_all(pool)
    .await
    .unwrap();
    stored.sort();
    let mut expected: Vec<String> = events.iter().map(|e| e.event_id().to_owned()).collect();
    expected.sort();
    assert_eq!(stored.len(), expected.len(), "each event exactly once");
    assert_eq!(stored, expected, "none missing, none extra");
    let current: i64 =
        sqlx::query_scalar("SELECT count(*) FROM encounters WHERE person_id = $1 AND is_current")
            .bind(&p)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        current,
        EVENTS / 3,
        "every visit has exactly one current version"
    );
    eprintln!(
        "killed after {after_kill} of {EVENTS} events; all {EVENTS} present once after the restart"
    );
}
