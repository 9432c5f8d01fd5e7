//! Golden tests: every `tests/golden/<case>.hl7` is mapped and compared, exactly, with
//! `tests/golden/<case>.expected.json`. `UPDATE_GOLDEN=1 cargo test -p hub-hl7 --test golden`
//! rewrites the expected files; review the diff by eye before committing it.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use hub_hl7::map_hl7;
use hub_identity::PatientRef;
use hub_mapping::Mapped;
use hub_schemas::AnyEvent;
use hub_schemas::raw::RawEnvelope;
use serde::Serialize;

/// (case, hub-source, hub-facility, hub-charset). The facility is the authenticated sender,
/// which is deliberately not always what MSH-4 says.
const CASES: &[(&str, &str, &str, &str)] = &[
    ("adt_a01_inpatient_dg1", "his", "H21112100011", "UTF-8"),
    ("adt_a03_discharge", "his", "H21112100011", "UTF-8"),
    ("adt_a04_outpatient", "his", "H21112100215", "UTF-8"),
    ("adt_a08_update", "his", "H21112100011", "UTF-8"),
    ("adt_a11_cancel", "his", "H21112100215", "UTF-8"),
    ("adt_a40_merge", "his", "H21112100011", "UTF-8"),
    ("adt_a01_gb18030", "his", "H21112100215", "GB18030"),
    ("adt_a28_escapes", "his", "H21112100011", "UTF-8"),
    ("adt_a04_invalid_id", "his", "H21112100011", "UTF-8"),
    // No hub-charset header: read from MSH-18.
    ("adt_a04_local_dx_crlf", "his", "H21112100316", ""),
    ("oru_r01_lab_panel", "lab", "H21112100901", "UTF-8"),
    ("oru_r01_local_codes", "lab", "H21112100215", "UTF-8"),
    ("orm_o01_ct_order", "his", "H21112100215", "UTF-8"),
    ("omi_o23_mr_scheduled", "imaging", "H21112100902", "UTF-8"),
    (
        "oru_r01_radiology_report",
        "imaging",
        "H21112100902",
        "UTF-8",
    ),
    ("ref_i12_referral", "his", "H21112100215", "UTF-8"),
];

/// 2024-03-12T16:00:00Z, after every message of the corpus.
const RECEIVED_AT_MS: i64 = 1_710_259_200_000;

#[derive(Serialize)]
struct Snapshot {
    patient: Option<PatientSnapshot>,
    merged_patient: Option<PatientSnapshot>,
    events: Vec<EventSnapshot>,
}

/// `PatientRef` is deliberately not `Serialize` (personal data); the test spells it out.
#[derive(Serialize)]
struct PatientSnapshot {
    facility_code: String,
    mrn: Option<String>,
    id_number: Option<String>,
    insurance_number: Option<String>,
    health_card: Option<String>,
    name: Option<String>,
    birth_date: Option<String>,
    sex_code: Option<String>,
    phone: Option<String>,
}

#[derive(Serialize)]
struct EventSnapshot {
    entity: &'static str,
    event: serde_json::Value,
}

fn patient(p: &PatientRef) -> PatientSnapshot {
    PatientSnapshot {
        facility_code: p.facility_code.clone(),
        mrn: p.mrn.clone(),
        id_number: p.id_number.clone(),
        insurance_number: p.insurance_number.clone(),
        health_card: p.health_card.clone(),
        name: p.name.clone(),
        birth_date: p.birth_date.map(|d| d.to_string()),
        sex_code: p.sex_code.clone(),
        phone: p.phone.clone(),
    }
}

fn snapshot(mapped: &Mapped) -> Snapshot {
    Snapshot {
        patient: mapped.patient.as_ref().map(patient),
        merged_patient: mapped.merged_patient.as_ref().map(patient),
        events: mapped
            .events
            .iter()
            .map(|e| EventSnapshot {
                entity: e.contract().entity,
                event: event_json(e),
            })
            .collect(),
    }
}

fn event_json(e: &AnyEvent) -> serde_json::Value {
    let value = match e {
        AnyEvent::Person(x) => serde_json::to_value(x),
        AnyEvent::Encounter(x) => serde_json::to_value(x),
        AnyEvent::Diagnosis(x) => serde_json::to_value(x),
        AnyEvent::LabResult(x) => serde_json::to_value(x),
        AnyEvent::ImagingStudy(x) => serde_json::to_value(x),
        AnyEvent::ImagingReport(x) => serde_json::to_value(x),
        AnyEvent::Settlement(x) => serde_json::to_value(x),
        AnyEvent::Referral(x) => serde_json::to_value(x),
        AnyEvent::IdentityLink(x) => serde_json::to_value(x),
        AnyEvent::ClinicalAlert(x) => serde_json::to_value(x),
    };
    value.unwrap()
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// MSH-10 read the simple way (the connector sets `hub-message-id` from it).
fn msh10(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let first = text.split(['\r', '\n']).next().unwrap_or_default();
    first.split('|').nth(9).unwrap_or_default().to_owned()
}

/// The envelope the connector would have written for a golden message.
pub fn envelope(
    index: usize,
    source: &str,
    facility: &str,
    charset: &str,
    payload: Vec<u8>,
) -> RawEnvelope {
    let message_id = msh10(&payload);
    RawEnvelope {
        topic: format!("raw.{source}.hl7v2"),
        partition: 0,
        offset: i64::try_from(index).unwrap() + 100,
        key: format!("{facility}:{message_id}").into_bytes(),
        facility: facility.into(),
        source: source.into(),
        content_type: "x-application/hl7-v2+er7".into(),
        charset: charset.into(),
        received_at_ms: RECEIVED_AT_MS,
        message_id,
        synthetic: true,
        payload,
    }
}

#[test]
fn golden_corpus_maps_exactly_to_its_expected_events() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let dir = golden_dir();
    let mut failures = Vec::new();
    for (index, (case, source, facility, charset)) in CASES.iter().enumerate() {
        let payload = std::fs::read(dir.join(format!("{case}.hl7"))).unwrap();
        let raw = envelope(index, source, facility, charset, payload);
        let mapped = map_hl7(&raw).unwrap_or_else(|e| panic!("{case}: {e}"));
        let actual = serde_json::to_string_pretty(&snapshot(&mapped)).unwrap() + "\n";
        let expected_path = dir.join(format!("{case}.expected.json"));
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        // Compare as JSON values: key order depends on serde_json's `preserve_order` feature,
        // which another crate of the workspace may switch on.
        let same = serde_json::from_str::<serde_json::Value>(&expected).ok()
            == serde_json::from_str::<serde_json::Value>(&actual).ok();
        if !same {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b);
            failures.push(format!(
                "{case}: differs from line {}",
                line.map_or(0, |l| l + 1)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_golden_message_is_listed() {
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    listed.sort_unstable();
    let mut files: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_suffix(".hl7")
                .map(str::to_owned)
        })
        .collect();
    files.sort_unstable();
    assert_eq!(files, listed);
    assert!(CASES.len() >= 16);
}

#[test]
fn replays_yield_the_same_events() {
    let (case, source, facility, charset) = CASES[10];
    let payload = std::fs::read(golden_dir().join(format!("{case}.hl7"))).unwrap();
    let raw = envelope(10, source, facility, charset, payload);
    assert_eq!(map_hl7(&raw).unwrap(), map_hl7(&raw.clone()).unwrap());
}

#[test]
fn truncated_and_corrupted_messages_never_panic() {
    for (index, (case, source, facility, charset)) in CASES.iter().enumerate() {
        let payload = std::fs::read(golden_dir().join(format!("{case}.hl7"))).unwrap();
        for cut in (0..payload.len()).step_by(7) {
            let raw = envelope(index, source, facility, charset, payload[..cut].to_vec());
            let _ = map_hl7(&raw);
            let mut flipped = payload.clone();
            flipped[cut] ^= 0x5c;
            let _ = map_hl7(&envelope(index, source, facility, charset, flipped));
        }
    }
}
