//! Shared helpers of the record's integration tests: event builders, a record service started
//! in-process on port 0, tokens of every role.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

pub mod fixture;

use std::time::Duration;

use hub_schemas::{
    CodedValue, Encounter, EncounterAction, EncounterClass, Identifier, IdentityLink,
    IdentityLinkAction, LabResult, LabResultStatus, Person, Provenance, Referral, Settlement,
    SettlementKind,
};
use record::Settings;
use record::api::auth::{Role, TokenEntry, hash_token};
use sqlx::PgPool;

/// 2026-01-01T00:00:00Z in epoch milliseconds.
pub const T0: i64 = 1_767_225_600_000;
/// One hour in milliseconds.
pub const HOUR: i64 = 3_600_000;

/// A unique code for this test (facility codes, person ids).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{:08x}", rand::random::<u32>())
}

pub fn provenance(received_at: i64) -> Provenance {
    Provenance {
        source_topic: "raw.test".into(),
        source_message_id: "m".into(),
        received_at,
        synthetic: true,
        ..Provenance::default()
    }
}

pub fn person(person: &str, facility: &str, id_number: &str, phone: &str) -> Person {
    Person {
        event_id: format!("{person}-reg"),
        person_id: person.into(),
        facility_code: facility.into(),
        event_time: T0,
        provenance: provenance(T0),
        identifiers: vec![Identifier {
            system_oid: "2.16.156.10011.1.3".into(),
            assigner_facility_code: None,
            value: id_number.into(),
        }],
        id_number: Some(id_number.into()),
        name: "张三".into(),
        sex_code: "1".into(),
        birth_date: Some(7370),
        phone: Some(phone.into()),
        ..Person::default()
    }
}

pub fn lab(id: &str, person: &str, facility: &str, time: i64, value: &str) -> LabResult {
    LabResult {
        event_id: id.into(),
        person_id: person.into(),
        facility_code: facility.into(),
        event_time: time,
        provenance: provenance(time),
        order_id: format!("ORD-{id}"),
        observation_seq: 1,
        test: CodedValue {
            code: "GLU".into(),
            system: "LOCAL".into(),
            display: Some("葡萄糖".into()),
        },
        value_text: value.into(),
        value_numeric: value.parse().ok(),
        unit: Some("mmol/L".into()),
        result_status: LabResultStatus::Final,
        ..LabResult::default()
    }
}

pub fn encounter(
    id: &str,
    person: &str,
    facility: &str,
    time: i64,
    action: EncounterAction,
) -> Encounter {
    Encounter {
        event_id: id.into(),
        person_id: person.into(),
        facility_code: facility.into(),
        event_time: time,
        provenance: provenance(time),
        encounter_id: format!("V-{person}"),
        encounter_class: EncounterClass::Inpatient,
        action,
        ..Encounter::default()
    }
}

pub fn settlement(
    id: &str,
    person: &str,
    facility: &str,
    time: i64,
    setl: &str,
    reverses: Option<&str>,
) -> Settlement {
    Settlement {
        event_id: id.into(),
        person_id: person.into(),
        facility_code: facility.into(),
        event_time: time,
        provenance: provenance(time),
        setl_id: setl.into(),
        kind: if reverses.is_some() {
            SettlementKind::Reversal
        } else {
            SettlementKind::Settlement
        },
        reverses_setl_id: reverses.map(str::to_owned),
        psn_no: format!("PSN-{person}"),
        mdtrt_id: "MD1".into(),
        fixmedins_code: facility.into(),
        insuplc_admdvs: "210102".into(),
        insutype: "310".into(),
        med_type: "21".into(),
        setl_time: time,
        medfee_sumamt: 12_345,
        ..Settlement::default()
    }
}

pub fn merge(id: &str, from: &str, into: &str, time: i64) -> IdentityLink {
    IdentityLink {
        event_id: id.into(),
        person_id: into.into(),
        facility_code: "EMPI".into(),
        event_time: time,
        provenance: provenance(time),
        action: IdentityLinkAction::Merge,
        previous_person_id: Some(from.into()),
        surviving_person_id: Some(into.into()),
        ..IdentityLink::default()
    }
}

pub fn referral(id: &str, person: &str, from: &str, to: &str, time: i64) -> Referral {
    Referral {
        event_id: id.into(),
        person_id: person.into(),
        facility_code: from.into(),
        event_time: time,
        provenance: provenance(time),
        referral_id: format!("R-{id}"),
        from_facility_code: from.into(),
        to_facility_code: to.into(),
        referred_at: time,
        ..Referral::default()
    }
}

/// Tokens: `admin-token`, `analyst-token`, `auditor-token`, and `clinician-<facility>` for each
/// facility given.
pub fn tokens(facilities: &[&str]) -> Vec<TokenEntry> {
    let mut out = vec![
        entry("admin", Role::Admin, None, "admin-token"),
        entry("analyst", Role::Analyst, None, "analyst-token"),
        entry("auditor", Role::Auditor, None, "auditor-token"),
    ];
    for f in facilities {
        out.push(entry(
            &format!("dr-{f}"),
            Role::Clinician,
            Some(f),
            &format!("clinician-{f}"),
        ));
    }
    out
}

fn entry(actor: &str, role: Role, facility: Option<&str>, token: &str) -> TokenEntry {
    TokenEntry {
        actor: actor.into(),
        role,
        facility: facility.map(str::to_owned),
        sha256: hash_token(token),
    }
}

/// A record service running in-process.
pub struct Service {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), record::RunError>>>,
}

impl Service {
    pub async fn start(settings: Settings) -> Self {
        hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(record::run(settings, listener, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{url}/readyz")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(!handle.is_finished(), "the record service did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            url,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Kills the service without a graceful shutdown: the task running the sink is aborted
    /// wherever it is (collecting, writing, committing), as a crash would stop it. The sink's
    /// open transaction is dropped (rolled back) and nothing further is stored or committed.
    pub async fn abort(mut self) {
        // Aborted before the stop sender is dropped, so that no shutdown signal is ever seen.
        if let Some(handle) = self.handle.take() {
            handle.abort();
            let _ = handle.await;
        }
        self.stop.take();
    }

    /// Stops the service and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }
}

/// Polls `f` until it returns true (or fails after `secs`).
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

pub async fn scalar_i64(pool: &PgPool, sql: &'static str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Encodes an event in the Confluent wire format with its registered schema.
pub async fn encode(registry: &hub_avro::RegistryClient, event: &hub_schemas::AnyEvent) -> Vec<u8> {
    macro_rules! enc {
        ($e:expr) => {
            hub_avro::EventCodec::register(registry.clone())
                .await
                .unwrap()
                .encode($e)
                .unwrap()
        };
    }
    match event {
        hub_schemas::AnyEvent::Person(e) => enc!(e),
        hub_schemas::AnyEvent::Encounter(e) => enc!(e),
        hub_schemas::AnyEvent::LabResult(e) => enc!(e),
        hub_schemas::AnyEvent::Settlement(e) => enc!(e),
        hub_schemas::AnyEvent::IdentityLink(e) => enc!(e),
        hub_schemas::AnyEvent::Referral(e) => enc!(e),
        other => panic!("no encoder for {}", other.contract().entity),
    }
}
