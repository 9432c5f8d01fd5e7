//! The record's benchmark (`cargo bench -p record --bench record_bench`; needs PostgreSQL like the
//! tests, `HUB_TEST_DATABASE_URL`). Bounded: about a minute or two on the 2-core machine.
//!
//! (a) Sink throughput: events/s written into PostgreSQL through the sink's batch writer
//!     (`Batch::write`, in-process, Kafka skipped), batches of 500 of a realistic mix (60 % lab
//!     results, 25 % encounter events, 15 % diagnoses), over many persons, into tables that
//!     already hold data.
//! (b) Query latency: p50/p99 of `GET /persons/{id}/timeline` (the first page, 50 entries, as a
//!     clinician's screen asks for it) through the HTTP API with an admin token, for a person with
//!     1,000 events in a database of at least 1,000,000 events (the background bulk-loaded with
//!     `INSERT ... SELECT generate_series`, then `ANALYZE`).
//!
//! Prints the figures and writes them to `target/bench/record.txt`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hub_schemas::{
    AnyEvent, CodedValue, Diagnosis, DiagnosisAction, DiagnosisCodeSystem, DiagnosisType,
    Encounter, EncounterAction, EncounterClass, LabResult, LabResultStatus, Person, Provenance,
};
use hub_test_utils::TestDatabase;
use record::Settings;
use record::api::auth::{Role, TokenEntry, hash_token};
use record::sink::write::Batch;
use sqlx::PgPool;

/// 2026-01-01T00:00:00Z in epoch milliseconds.
const T0: i64 = 1_767_225_600_000;
const BATCH: usize = 500;
const SINK_BATCHES: usize = 40;
const BACKGROUND: i64 = 1_000_000;
const PERSON_EVENTS: i64 = 1_000;
const REQUESTS: usize = 200;

fn provenance(t: i64, offset: i64) -> Provenance {
    Provenance {
        source_topic: "raw.bench".into(),
        source_offset: offset,
        source_message_id: format!("m{offset}"),
        received_at: t,
        synthetic: true,
        ..Provenance::default()
    }
}

/// Event number `n` of the mix, for `person`.
fn event(run: &str, n: i64, person: &str) -> AnyEvent {
    let t = T0 + n * 60_000;
    let facility = format!("F{:03}", n % 40);
    let visit = format!("V{}-{}", person, n / 8);
    match n % 20 {
        0..12 => AnyEvent::LabResult(LabResult {
            event_id: format!("{run}:lab:{n}"),
            person_id: person.into(),
            facility_code: facility,
            event_time: t,
            provenance: provenance(t, n),
            order_id: format!("O{}", n / 4),
            encounter_id: Some(visit),
            observation_seq: (n % 4) as i32,
            test: CodedValue {
                code: ["GLU", "K", "NA", "WBC"][(n % 4) as usize].into(),
                system: "LOCAL-LIS".into(),
                display: Some("检验".into()),
            },
            value_text: format!("{}.{}", 3 + n % 7, n % 10),
            value_numeric: Some(3.0 + (n % 70) as f64 / 10.0),
            unit: Some("mmol/L".into()),
            reference_range: Some("3.5-5.3".into()),
            result_status: LabResultStatus::Final,
            collected_at: Some(t),
            reported_at: Some(t + 3_600_000),
            ..LabResult::default()
        }),
        12..17 => AnyEvent::Encounter(Encounter {
            event_id: format!("{run}:enc:{n}"),
            person_id: person.into(),
            facility_code: facility,
            event_time: t,
            provenance: provenance(t, n),
            encounter_id: visit,
            encounter_class: EncounterClass::Outpatient,
            action: if n % 20 == 16 {
                EncounterAction::Discharge
            } else {
                EncounterAction::Register
            },
            department_name: Some("内科".into()),
            admit_time: Some(t),
            ..Encounter::default()
        }),
        _ => AnyEvent::Diagnosis(Diagnosis {
            event_id: format!("{run}:dx:{n}"),
            person_id: person.into(),
            facility_code: facility,
            event_time: t,
            provenance: provenance(t, n),
            encounter_id: visit,
            action: DiagnosisAction::Recorded,
            diagnosis: CodedValue {
                code: format!("E11.{}", n % 10),
                system: "ICD10".into(),
                display: Some("2型糖尿病".into()),
            },
            code_system: DiagnosisCodeSystem::Icd10GbClin20,
            diagnosis_type: DiagnosisType::Principal,
            diagnosed_at: Some(t),
            ..Diagnosis::default()
        }),
    }
}

fn batch(events: impl IntoIterator<Item = AnyEvent>) -> Batch {
    let mut b = Batch::default();
    for e in events {
        b.push(e);
    }
    b.deduped()
}

/// (a) Batches of 500 through the batch writer; events/s.
async fn sink_throughput(pool: &PgPool, out: &mut String) -> f64 {
    // Prepared outside the timing: building events is the decoder's work, not the writer's.
    let batches: Vec<Batch> = (0..=SINK_BATCHES)
        .map(|b| {
            batch((0..BATCH as i64).map(|i| {
                let n = (b * BATCH) as i64 + i;
                event("sink", n, &format!("S{}", n % 5_000))
            }))
        })
        .collect();
    let mut batches = batches.into_iter();
    batches.next().unwrap().write(pool).await.unwrap(); // warm-up: statements prepared
    let mut durations = Vec::new();
    let started = Instant::now();
    for b in batches {
        let t = Instant::now();
        b.write(pool).await.unwrap();
        durations.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    if std::env::var_os("RECORD_BENCH_EXPLAIN").is_some() {
        explain(pool).await;
    }
    let events = SINK_BATCHES * BATCH;
    let rate = events as f64 / elapsed.as_secs_f64();
    durations.sort();
    let line = format!(
        "sink: {events} events in {SINK_BATCHES} batches of {BATCH} (60% lab, 25% encounter, \
         15% diagnosis) in {:.2} s = {rate:.0} events/s; batch p50 {:.1} ms, max {:.1} ms",
        elapsed.as_secs_f64(),
        ms(durations[durations.len() / 2]),
        ms(*durations.last().unwrap()),
    );
    println!("{line}");
    writeln!(out, "{line}").unwrap();
    rate
}

/// With `RECORD_BENCH_EXPLAIN` set: the plans of the derived-state statements of one batch.
async fn explain(pool: &PgPool) {
    for table in ["lab_results", "encounters"] {
        let keys: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT natural_key FROM {table} ORDER BY random() LIMIT 300"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        let mut tx = pool.begin().await.unwrap();
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE, BUFFERS) UPDATE {table} x SET is_current = NOT x.is_current \
             FROM (SELECT k.natural_key, (SELECT n.event_id FROM {table} n \
                     WHERE n.natural_key = k.natural_key \
                     ORDER BY n.event_time DESC, n.received_at DESC, n.event_id DESC LIMIT 1) \
                     AS event_id \
                   FROM unnest($1::text[]) AS k(natural_key)) w \
             WHERE x.natural_key = w.natural_key AND x.event_id = w.event_id"
        )))
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        println!("{table}:\n{}", plan.join("\n"));
        tx.rollback().await.unwrap();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The 1,000,000 background events: 600k lab results, 250k encounter events, 150k diagnoses
/// over 100,000 persons, two years.
async fn bulk_load(pool: &PgPool) -> Duration {
    let started = Instant::now();
    let common = "'B' || (g % 100000), 'F' || lpad((g % 40)::text, 3, '0'), \
        timestamptz '2024-01-01' + g * interval '1 minute', \
        timestamptz '2024-01-01' + g * interval '1 minute', 'raw.bench', g, true";
    let labs = format!(
        "INSERT INTO lab_results (event_id, person_id, facility_code, event_time, received_at, \
           source_topic, source_offset, synthetic, natural_key, is_current, order_id, encounter_id, \
           observation_seq, test_code, test_system, test_display, value_text, value_numeric, unit, \
           reference_range, abnormal_flag, result_status, collected_at) \
         SELECT 'bg:lab:' || g, {common}, 'bg-lab-' || g, true, 'O' || g, 'V' || (g / 8), 1, \
           (ARRAY['GLU','K','NA','WBC'])[1 + g % 4], 'LOCAL-LIS', '检验', (g % 70)::text, \
           (g % 70) / 10.0, 'mmol/L', '3.5-5.3', 'NORMAL', 'FINAL', \
           timestamptz '2024-01-01' + g * interval '1 minute' \
         FROM generate_series(1, {}) g",
        BACKGROUND * 6 / 10
    );
    let encounters = format!(
        "INSERT INTO encounters (event_id, person_id, facility_code, event_time, received_at, \
           source_topic, source_offset, synthetic, natural_key, is_current, encounter_id, \
           encounter_class, action, department_name, admit_time) \
         SELECT 'bg:enc:' || g, {common}, 'bg-enc-' || g, true, 'V' || g, 'OUTPATIENT', \
           'REGISTER', '内科', timestamptz '2024-01-01' + g * interval '1 minute' \
         FROM generate_series(1, {}) g",
        BACKGROUND / 4
    );
    let diagnoses = format!(
        "INSERT INTO diagnoses (event_id, person_id, facility_code, event_time, received_at, \
           source_topic, source_offset, synthetic, natural_key, is_current, encounter_id, action, \
           code, code_display, code_system, diagnosis_type) \
         SELECT 'bg:dx:' || g, {common}, 'bg-dx-' || g, true, 'V' || g, 'RECORDED', \
           'E11.' || (g % 10), '2型糖尿病', 'ICD10_GB_CLIN_2_0', 'PRINCIPAL' \
         FROM generate_series(1, {}) g",
        BACKGROUND * 15 / 100
    );
    // Three tables in parallel (one connection each).
    let run = |sql: String| {
        let pool = pool.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap()
        }
    };
    tokio::join!(run(labs), run(encounters), run(diagnoses));
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    started.elapsed()
}

/// (b) p50/p99 of the timeline of a person with 1,000 events among 1,000,000.
async fn query_latency(db: &TestDatabase, pool: &PgPool, out: &mut String) -> (f64, f64) {
    let load = bulk_load(pool).await;
    let person = "PBENCH";
    let mut events = vec![AnyEvent::Person(Person {
        event_id: "bench:person".into(),
        person_id: person.into(),
        facility_code: "F000".into(),
        event_time: T0,
        provenance: provenance(T0, 0),
        name: "李四".into(),
        sex_code: "2".into(),
        ..Person::default()
    })];
    events.extend((0..PERSON_EVENTS).map(|n| event("person", n, person)));
    for chunk in events.chunks(BATCH) {
        batch(chunk.iter().cloned()).write(pool).await.unwrap();
    }
    let total: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM lab_results) + (SELECT count(*) FROM encounters) \
              + (SELECT count(*) FROM diagnoses)",
    )
    .fetch_one(pool)
    .await
    .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        database_url: db.url().to_owned().into(),
        sink_enabled: false,
        tokens: vec![TokenEntry {
            actor: "bench-admin".into(),
            role: Role::Admin,
            facility: None,
            sha256: hash_token("bench-admin-token"),
        }],
        ..Settings::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(record::run(settings, listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{url}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = format!("{url}/persons/{person}/timeline");
    let get = || {
        client
            .get(&path)
            .bearer_auth("bench-admin-token")
            .header("X-Purpose", "treatment")
            .send()
    };
    for _ in 0..10 {
        // Warm-up: connections, prepared statements, caches.
        let r = get().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["items"].as_array().map(Vec::len), Some(50));
    }
    let mut latencies = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let r = get().await.unwrap();
        let _ = r.bytes().await.unwrap();
        latencies.push(t.elapsed());
    }
    let _ = stop.send(());
    service.await.unwrap().unwrap();
    latencies.sort();
    let pct = |p: f64| {
        ms(latencies[((latencies.len() as f64 * p).ceil() as usize).min(latencies.len()) - 1])
    };
    let (p50, p99) = (pct(0.50), pct(0.99));
    let line = format!(
        "timeline: {REQUESTS} requests for a person with {PERSON_EVENTS} events among {total} \
         events (background bulk-loaded in {:.1} s): p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        load.as_secs_f64(),
        ms(*latencies.last().unwrap())
    );
    println!("{line}");
    writeln!(out, "{line}").unwrap();
    (p50, p99)
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let db = TestDatabase::create()
        .await
        .expect("PostgreSQL (scripts/stack.sh)");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(db.url())
        .await
        .unwrap();
    record::migrate(&pool).await.unwrap();
    let mut out = String::new();
    let rate = sink_throughput(&pool, &mut out).await;
    let (_, p99) = query_latency(&db, &pool, &mut out).await;
    let verdict = format!(
        "targets: sink >= 20000 events/s: {}; timeline p99 < 50 ms: {} (total {:.0} s)",
        if rate >= 20_000.0 { "met" } else { "NOT met" },
        if p99 < 50.0 { "met" } else { "NOT met" },
        started.elapsed().as_secs_f64()
    );
    println!("{verdict}");
    writeln!(out, "{verdict}").unwrap();
    pool.close().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("record.txt"), out).unwrap();
}
