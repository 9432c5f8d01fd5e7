//! A small simulated county through the real pipeline: `hub-simulator` sends its HL7 over MLLP to
//! connector-hl7 (one listener per facility, as a county's interface engines would) and its
//! settlements over HTTP to connector-insurance, its DICOM files into connector-imaging's drop
//! folder and a village clinic's registrations into a front-end-processor table polled by
//! connector-table; the normaliser, the record and the monitor run
//! in-process against the test broker (`HUB_TEST_KAFKA`), fresh PostgreSQL databases and the
//! hub's registry. Every indicator the monitor publishes must equal the simulator's expected
//! numerator, denominator and case count, month by month, and a resident's health record must
//! hold every visit, lab result and settlement simulated for them.
//!
//! Isolation from parallel tests: every topic (raw, canonical, dead letters) carries a random
//! prefix, and every database and consumer group is new.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // Tests fail loudly.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use connector_hl7::{ListenerSettings, SourceKind};
use hub_kafka::KafkaSettings;
use hub_simulator::expected::ExpectedIndicator;
use hub_simulator::send::{Targets, send};
use hub_simulator::{Config, County, Route, Simulation};
use hub_test_utils::{TestDatabase, kafka_bootstrap, random_name};
use serde_json::Value;
use tokio::sync::oneshot;

const SETTLEMENT_TOKEN: &str = "e2e-simulated-bureau-token";
const ADMIN_TOKEN: &str = "e2e-simulated-admin-token";

fn repo(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(path)
}

/// A service running in-process until its stop signal.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn spawn<F, E>(name: &'static str, run: impl FnOnce(oneshot::Receiver<()>) -> F) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let (stop, stopped) = oneshot::channel();
        let future = run(stopped);
        let task = tokio::spawn(async move {
            if let Err(e) = future.await {
                panic!("{name} failed: {e}");
            }
        });
        Self {
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(20), self.task).await {
            Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            _ => {}
        }
    }
}

async fn until(stopped: oneshot::Receiver<()>) {
    let _ = stopped.await;
}

fn config() -> Config {
    // Small, but with rates raised so that every indicator cell reaches 5 cases in a month.
    let mut c = Config::new(
        20_261_101,
        200,
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        28,
    );
    c.visits_per_year = 8.0;
    c.admissions_per_year = 1.5;
    c.lab_order_rate = 0.4;
    c.imaging_order_rate = 0.15;
    c.referral_up_rate = 0.15;
    c.referral_down_rate = 0.6;
    c.reversal_rate = 0.05;
    c.resettle_rate = 0.05;
    c.cancel_rate = 0.05;
    c.merges = 2;
    c
}

/// Differences between the monitor's report and the expected indicators of one month.
fn mismatches(report: &Value, expected: &[ExpectedIndicator]) -> Vec<String> {
    let published: HashMap<(String, Option<String>), &Value> = report["indicators"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|i| {
                    let id = i["id"].as_str().unwrap_or_default().to_owned();
                    let facility = i["facility"].as_str().map(str::to_owned);
                    ((id, facility), i)
                })
                .collect()
        })
        .unwrap_or_default();
    let close = |v: &Value, e: Option<f64>| match (v.as_f64(), e) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        (None, None) => true,
        _ => false,
    };
    let mut out = Vec::new();
    for e in expected {
        let Some(p) = published.get(&(e.id.clone(), e.facility.clone())) else {
            out.push(format!("{} {:?}: not published", e.id, e.facility));
            continue;
        };
        let same = close(&p["value"], e.value)
            && close(&p["numerator"], e.numerator)
            && close(&p["denominator"], e.denominator)
            && p["cases"].as_i64() == e.cases
            && p["suppressed"].as_bool() == Some(e.suppressed);
        if !same {
            out.push(format!(
                "{} {:?}: expected value {:?} = {:?}/{:?} cases {:?} suppressed {}, got {} = {}/{} cases {} suppressed {}",
                e.id,
                e.facility,
                e.value,
                e.numerator,
                e.denominator,
                e.cases,
                e.suppressed,
                p["value"],
                p["numerator"],
                p["denominator"],
                p["cases"],
                p["suppressed"]
            ));
        }
    }
    // Indicators the simulator does not model (added to the monitor later) are listed, not
    // failed; a published id the simulator does model (say, an unexpected centre) is a failure.
    let known: std::collections::HashSet<&str> = expected.iter().map(|e| e.id.as_str()).collect();
    for (id, facility) in published.keys() {
        let wanted = expected
            .iter()
            .any(|e| &e.id == id && &e.facility == facility);
        if wanted {
            continue;
        }
        if known.contains(id.as_str()) {
            out.push(format!("{id} {facility:?}: published, not expected"));
        } else {
            eprintln!("not modelled by the simulator, not compared: {id} {facility:?}");
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_simulated_county_gives_the_expected_indicators_and_records() {
    hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
    let started = Instant::now();
    let kafka = KafkaSettings::with_bootstrap(kafka_bootstrap());
    let prefix = format!("{}.", random_name("e2e-county"));
    let terminology_dir = repo("deploy/terminology");
    let terminology = hub_terminology::Terminology::load(&terminology_dir).unwrap();
    let county = County::from_registry(&terminology, "210281").unwrap();
    // The first village clinic's HIS writes its registrations into a front-end-processor table.
    let table_facility = county.villages[0].code.clone();
    let mut config = config();
    config.table_facilities = vec![table_facility.clone()];
    let simulation = Simulation::run(&config, &county);
    let expected = simulation.expected();
    // The county has every case the indicators treat specially.
    for (what, needle) in [
        ("a cancelled registration", "ADT^A11"),
        ("a merge", "ADT^A40"),
        ("a critical potassium", "|6.8|mmol/L|3.5-5.3|HH|"),
        ("a reversal", "\"infno\":\"2601\""),
        ("a cancelled settlement", "\"infno\":\"2208\""),
        ("a pharmacy purchase", "\"med_type\":\"41\""),
        ("an out-of-county stay", "\"mdtrtarea_admvs\":\"210202\""),
        (
            "a person insured elsewhere",
            "\"insuplc_admdvs\":\"210202\"",
        ),
        ("a cancelled referral", "REF^I14"),
    ] {
        assert!(
            simulation.messages.iter().any(|m| m.body.contains(needle)),
            "the simulation lacks {what}"
        );
    }

    let registry_db = TestDatabase::create().await.unwrap();
    let registry = schema_registry::spawn(schema_registry::Settings {
        database_url: registry_db.url().to_owned().into(),
        ..schema_registry::Settings::default()
    })
    .await
    .unwrap();
    let (empi_db, record_db, monitor_db) = (
        TestDatabase::create().await.unwrap(),
        TestDatabase::create().await.unwrap(),
        TestDatabase::create().await.unwrap(),
    );
    let (frontend_db, table_state_db) = (
        TestDatabase::create().await.unwrap(),
        TestDatabase::create().await.unwrap(),
    );
    let raw = |source: &str, format: &str| format!("{prefix}raw.{source}.{format}");

    // connector-hl7: one HIS listener per facility, the centres' LIS and RIS.
    let mut listeners: Vec<ListenerSettings> = county
        .his_senders()
        .map(|f| ListenerSettings::new("127.0.0.1:0", f.code.clone(), SourceKind::His))
        .collect();
    listeners.push(ListenerSettings::new(
        "127.0.0.1:0",
        county.lab.code.clone(),
        SourceKind::Lab,
    ));
    listeners.push(ListenerSettings::new(
        "127.0.0.1:0",
        county.imaging.code.clone(),
        SourceKind::Imaging,
    ));
    for l in &mut listeners {
        l.topic = Some(raw(l.source.as_str(), "hl7v2"));
        l.synthetic = true;
    }
    let hl7 = connector_hl7::Connector::bind(connector_hl7::Settings {
        admin_listen: "127.0.0.1:0".into(),
        kafka: kafka.clone(),
        dlq_topic: format!("{prefix}dlq.connector-hl7"),
        listeners: listeners.clone(),
        ..connector_hl7::Settings::default()
    })
    .await
    .unwrap();
    let mut targets = Targets {
        rate: 0.0,
        batch: 50,
        ..Targets::default()
    };
    for (l, addr) in listeners.iter().zip(hl7.mllp_addrs()) {
        match l.source {
            SourceKind::His => {
                targets.his.insert(l.facility.clone(), addr);
            }
            SourceKind::Lab => targets.lab = Some(addr),
            SourceKind::Imaging => targets.imaging = Some(addr),
        }
    }
    let hl7 = Running::spawn("connector-hl7", |s| hl7.run(until(s)));

    // connector-insurance: the bureau's HTTP sender.
    let mut bureau = connector_insurance::SenderSettings::new("YB210281");
    bureau.token_sha256 = vec![connector_insurance::auth::token_hash(SETTLEMENT_TOKEN)];
    bureau.synthetic = true;
    let insurance = connector_insurance::Connector::bind(connector_insurance::Settings {
        api_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        kafka: kafka.clone(),
        topic: raw("insurance", "settlement"),
        dlq_topic: format!("{prefix}dlq.connector-insurance"),
        senders: vec![bureau],
        ..connector_insurance::Settings::default()
    })
    .await
    .unwrap();
    targets.settlements_url = Some(format!(
        "http://{}/v1/settlements",
        insurance.api_addr().unwrap()
    ));
    targets.token = Some(SETTLEMENT_TOKEN.into());
    let insurance = Running::spawn("connector-insurance", |s| insurance.run(until(s)));

    // connector-imaging: the imaging centre's modalities drop Part-10 files.
    let drop_dir = std::env::temp_dir().join(random_name("e2e-county-dicom"));
    let mut modalities = connector_imaging::SenderSettings::new(county.imaging.code.clone());
    modalities.drop_dir = Some(drop_dir.clone());
    modalities.http = false;
    modalities.synthetic = true;
    let imaging = connector_imaging::Connector::bind(connector_imaging::Settings {
        api_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        kafka: kafka.clone(),
        topic: raw("imaging", "dicom"),
        dlq_topic: format!("{prefix}dlq.connector-imaging"),
        drop_folder: connector_imaging::settings::DropFolderSettings {
            poll_interval_ms: 200,
            stable_secs: 0,
            ..connector_imaging::settings::DropFolderSettings::default()
        },
        senders: vec![modalities],
        ..connector_imaging::Settings::default()
    })
    .await
    .unwrap();
    targets.dicom_drop = Some(drop_dir.clone());
    let imaging = Running::spawn("connector-imaging", |s| imaging.run(until(s)));

    // connector-table polls the village clinic's visit table (created as its HIS would).
    let frontend = sqlx::PgPool::connect(frontend_db.url()).await.unwrap();
    hub_simulator::table::create(&frontend, &table_facility)
        .await
        .unwrap();
    frontend.close().await;
    let table_source = random_name("e2ecounty");
    let table = connector_table::Connector::bind(connector_table::Settings {
        admin_listen: "127.0.0.1:0".into(),
        kafka: kafka.clone(),
        state_database_url: table_state_db.url().to_owned().into(),
        dlq_topic: format!("{prefix}dlq.connector-table"),
        poll_interval_ms: 200,
        sources: vec![connector_table::settings::SourceSettings {
            facility: table_facility.clone(),
            source: table_source.clone(),
            url: Some(frontend_db.url().to_owned().into()),
            url_file: None,
            time_zone: None,
            synthetic: true,
            tables: vec![connector_table::settings::TableSettings {
                name: "visits".into(),
                kind: connector_table::settings::TableKind::Encounter,
                table: hub_simulator::table::table_name(&table_facility),
                pk: hub_simulator::table::PK.into(),
                change_time: hub_simulator::table::CHANGE_TIME.into(),
                columns: hub_simulator::table::COLUMNS
                    .iter()
                    .map(|c| ((*c).to_owned(), (*c).to_owned()))
                    .collect(),
            }],
        }],
        ..connector_table::Settings::default()
    })
    .await
    .unwrap();
    targets.table_url = Some(frontend_db.url().to_owned());
    let table = Running::spawn("connector-table", |s| table.run(until(s)));

    // The normaliser, the record and the monitor on the prefixed topics.
    let normaliser_settings = normaliser::Settings {
        kafka: kafka.clone(),
        registry_url: registry.url.clone(),
        database_url: empi_db.url().to_owned().into(),
        pseudonym_key: "e2e-county-pseudonym-key-0123".to_owned().into(),
        terminology_dir: terminology_dir.clone(),
        input_topics: vec![
            raw("his", "hl7v2"),
            raw("lab", "hl7v2"),
            raw("imaging", "hl7v2"),
            raw("insurance", "settlement"),
            raw("imaging", "dicom"),
            format!("raw.{table_source}.table"),
        ],
        topic_prefix: prefix.clone(),
        group_id: random_name("e2e-norm"),
        lag_interval_secs: 0,
        ..normaliser::Settings::default()
    };
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let normaliser = Running::spawn("normaliser", |s| {
        normaliser::run(normaliser_settings, admin, until(s))
    });
    let record_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let record_url = format!("http://{}", record_listener.local_addr().unwrap());
    let record_settings = record::Settings {
        kafka: kafka.clone(),
        registry_url: registry.url.clone(),
        database_url: record_db.url().to_owned().into(),
        topic_prefix: prefix.clone(),
        group_id: random_name("e2e-record"),
        batch_max_wait_ms: 50,
        tokens: vec![record::api::auth::TokenEntry {
            actor: "e2e-admin".into(),
            role: record::api::auth::Role::Admin,
            facility: None,
            sha256: record::api::auth::hash_token(ADMIN_TOKEN),
        }],
        ..record::Settings::default()
    };
    let record = Running::spawn("record", |s| {
        record::run(record_settings, record_listener, until(s))
    });
    let monitor_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let monitor_url = format!("http://{}", monitor_listener.local_addr().unwrap());
    let monitor_settings = monitor::Settings {
        kafka: kafka.clone(),
        registry_url: registry.url.clone(),
        database_url: monitor_db.url().to_owned().into(),
        topic_prefix: prefix.clone(),
        group_id: random_name("e2e-monitor"),
        batch_max_wait_ms: 50,
        terminology_dir: terminology_dir.clone(),
        targets_file: repo("deploy/monitor/targets.yaml"),
        critical_values_file: repo("deploy/monitor/critical-values.yaml"),
        refresh_secs: 5,
        alert_max_age_secs: 0,
        ..monitor::Settings::default()
    };
    let monitor = Running::spawn("monitor", |s| {
        monitor::run(monitor_settings, monitor_listener, until(s))
    });

    // Send the county through the connectors.
    let report = send(&simulation.messages, &targets).await.unwrap();
    assert!(
        simulation
            .messages
            .iter()
            .any(|m| matches!(m.route, Route::TableRow { .. })),
        "visits through the front-end table"
    );
    let settlements = simulation
        .messages
        .iter()
        .filter(|m| m.route == Route::Settlement)
        .count() as u64;
    eprintln!(
        "sent {} messages ({} HL7, {settlements} settlements) in {:.1} s: {report:?}",
        simulation.messages.len(),
        simulation.messages.len() as u64 - settlements,
        report.seconds
    );
    assert_eq!(report.skipped, 0);
    assert_eq!(report.total_rejected(), 0, "{report:?}");
    assert_eq!(report.total_accepted(), simulation.messages.len() as u64);
    // Every DICOM file was taken by the imaging connector (moved to done/ once durable).
    let files = simulation
        .messages
        .iter()
        .filter(|m| matches!(m.route, Route::DicomFile { .. }))
        .count();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = || std::fs::read_dir(drop_dir.join("done")).map_or(0, Iterator::count);
    while done() < files && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(done(), files, "DICOM files stored by connector-imaging");

    // Every month's indicators, as the monitor publishes them, equal the simulator's.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = Vec::new();
    loop {
        last.clear();
        for month in &expected.months {
            let url = format!(
                "{monitor_url}/indicators?county={}&period={}",
                expected.county, month.period
            );
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => {
                    let body: Value = r.json().await.unwrap();
                    last.extend(
                        mismatches(&body, &month.indicators)
                            .into_iter()
                            .map(|m| format!("{}: {m}", month.period)),
                    );
                }
                other => last.push(format!("{}: {other:?}", month.period)),
            }
        }
        if last.is_empty() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        last.is_empty(),
        "indicators differ from the simulator's:\n{}",
        last.join("\n")
    );
    for month in &expected.months {
        for i in month.indicators.iter().filter(|i| !i.suppressed) {
            eprintln!(
                "{} {}{}: {:?} = {:?} / {:?} (cases {:?}), as expected",
                month.period,
                i.id,
                i.facility
                    .as_deref()
                    .map(|f| format!("@{f}"))
                    .unwrap_or_default(),
                i.value,
                i.numerator,
                i.denominator,
                i.cases
            );
        }
    }

    // Spot check of the record: the resident with the most simple history.
    let (index, truth) = simulation
        .records
        .iter()
        .filter(|(_, r)| !r.complicated)
        .max_by_key(|(i, r)| (r.encounter + r.lab + r.settlement, std::cmp::Reverse(**i)))
        .unwrap();
    let resident = &simulation.residents[*index];
    let get = |path: String| {
        let (client, record_url) = (client.clone(), record_url.clone());
        async move {
            let r = client
                .get(format!("{record_url}{path}"))
                .bearer_auth(ADMIN_TOKEN)
                .header("X-Purpose", "audit")
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let wanted = HashMap::from([
        ("encounter", truth.encounter),
        ("lab", truth.lab),
        ("settlement", truth.settlement),
        ("imaging_report", truth.imaging_report),
    ]);
    // The record is its own consumer group: matching indicators say the monitor has caught up,
    // not that the record has, so its timeline is read again until it holds everything (or 60 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    let counts = loop {
        let found = get(format!("/persons?id_number={}", resident.id_number)).await;
        let person = found["persons"][0]["person_id"]
            .as_str()
            .or_else(|| found[0]["person_id"].as_str())
            .map(str::to_owned);
        let mut counts = HashMap::new();
        if let Some(person) = &person {
            for kind in ["encounter", "lab", "settlement", "imaging_report"] {
                let timeline =
                    get(format!("/persons/{person}/timeline?type={kind}&limit=500")).await;
                let items = timeline["items"].as_array().map_or(0, Vec::len);
                counts.insert(kind, items);
            }
        }
        if counts == wanted || Instant::now() > deadline {
            assert!(person.is_some(), "the resident is in the record: {found}");
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("record of resident {index}: {counts:?}, expected {wanted:?}");
    assert_eq!(counts, wanted);

    for service in [monitor, record, normaliser, table, imaging, insurance, hl7] {
        service.stop().await;
    }
    let _ = std::fs::remove_dir_all(&drop_dir);
    eprintln!(
        "simulated county end to end in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
