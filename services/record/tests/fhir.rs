//! The FHIR R4 export checked by a library nobody here wrote: the `Patient/{id}/$everything`
//! Bundle of a sample person (encounters, diagnoses, lab results, an imaging study with its
//! report, settlements and a reversal) is parsed and checked by the
//! Python `fhir.resources` package (6.4.0, FHIR 4.0.1) through `tests/fhir_validate.py`, once as
//! the administrator (identifiers in full) and once as a clinician (identifiers masked).
//! The interpreter comes from `HUB_INTEROP_PYTHON` (the hub's test venv, see
//! `tests/interop/requirements.txt`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::process::Command;

use common::fixture::api;
use common::*;
use hub_schemas::{
    AnyEvent, CodedValue, Diagnosis, DiagnosisAction, DiagnosisCodeSystem, DiagnosisType,
    EncounterAction, EncounterClass, ImagingReport, ImagingReportStatus, ImagingStudy,
    ImagingStudyStatus, LabResult, LabResultStatus,
};
use record::sink::write::Batch;
use reqwest::StatusCode;
use serde_json::Value;

fn diagnosis(id: &str, person: &str, facility: &str, code: &str, display: &str) -> Diagnosis {
    Diagnosis {
        event_id: id.into(),
        person_id: person.into(),
        facility_code: facility.into(),
        event_time: T0 + HOUR,
        provenance: provenance(T0 + HOUR),
        encounter_id: format!("V-{person}"),
        action: DiagnosisAction::Recorded,
        diagnosis: CodedValue {
            code: code.into(),
            system: "ICD10".into(),
            display: Some(display.into()),
        },
        code_system: DiagnosisCodeSystem::Icd10GbClin20,
        diagnosis_type: DiagnosisType::Principal,
        rank: Some(1),
        diagnosed_at: Some(T0 + HOUR),
        ..Diagnosis::default()
    }
}

/// Runs the validator on `bundle`; returns its report.
fn validate(bundle: &Value, unmasked: bool) -> Value {
    let python = std::env::var("HUB_INTEROP_PYTHON")
        .expect("HUB_INTEROP_PYTHON is not set: run `scripts/hub test`");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fhir_validate.py");
    let path = std::env::temp_dir().join(format!("{}.json", unique("fhir-bundle-")));
    std::fs::write(&path, serde_json::to_vec(bundle).unwrap()).unwrap();
    let mut command = Command::new(python);
    command.arg(script).arg(&path);
    if unmasked {
        command.arg("--unmasked");
    }
    let output = command.output().unwrap();
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "the validator printed no report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        output.status.success() && report["ok"] == true,
        "fhir.resources refused the Bundle: {report:#}\n{bundle:#}"
    );
    report
}

#[tokio::test]
async fn everything_bundle_parses_with_fhir_resources() {
    let api = api().await;
    let (p, f) = (api.person.clone(), api.home.clone());
    let mut batch = Batch::default();
    batch.push(AnyEvent::Diagnosis(diagnosis(
        &format!("{p}-dx1"),
        &p,
        &f,
        "E11.900",
        "2型糖尿病",
    )));
    let mut local = diagnosis(&format!("{p}-dx2"), &p, &f, "ZX01", "眩晕待查");
    local.code_system = DiagnosisCodeSystem::Local;
    local.diagnosis_type = DiagnosisType::Secondary;
    batch.push(AnyEvent::Diagnosis(local));
    let mut discharge = encounter(
        &format!("{p}-dis"),
        &p,
        &f,
        T0 + 50 * HOUR,
        EncounterAction::Discharge,
    );
    discharge.admit_time = Some(T0);
    discharge.discharge_time = Some(T0 + 50 * HOUR);
    batch.push(AnyEvent::Encounter(discharge));
    let mut outpatient = encounter(
        &format!("{p}-opd"),
        &p,
        &f,
        T0 + 100 * HOUR,
        EncounterAction::Register,
    );
    outpatient.encounter_id = format!("OPD-{p}");
    outpatient.encounter_class = EncounterClass::Outpatient;
    batch.push(AnyEvent::Encounter(outpatient));
    // A unit that is not UCUM as written, and a result with text only.
    let mut wbc = lab(&format!("{p}-wbc"), &p, &f, T0 + 2 * HOUR, "6.1");
    wbc.test = CodedValue {
        code: "WBC".into(),
        system: "LOCAL-LIS".into(),
        display: Some("白细胞计数".into()),
    };
    wbc.unit = Some("10^9/L".into());
    wbc.reference_range = Some("3.5-9.5".into());
    wbc.encounter_id = Some(format!("V-{p}"));
    batch.push(AnyEvent::LabResult(wbc));
    let hbsag = LabResult {
        test: CodedValue {
            code: "HBsAg".into(),
            system: "LOCAL-LIS".into(),
            display: None,
        },
        value_text: "阴性".into(),
        value_numeric: None,
        unit: None,
        result_status: LabResultStatus::Preliminary,
        ..lab(&format!("{p}-hbs"), &p, &f, T0 + 3 * HOUR, "x")
    };
    batch.push(AnyEvent::LabResult(hbsag));
    // A CT study from the shared imaging centre with its final report.
    let study = ImagingStudy {
        event_id: format!("{p}-ct"),
        person_id: p.clone(),
        facility_code: f.clone(),
        event_time: T0 + 4 * HOUR,
        provenance: provenance(T0 + 4 * HOUR),
        order_id: format!("RIS-{p}"),
        accession_number: Some("ACC0001".into()),
        study_instance_uid: Some("1.2.156.112605.1.20260101.1".into()),
        encounter_id: Some(format!("V-{p}")),
        status: ImagingStudyStatus::Completed,
        modality: Some("CT".into()),
        performed_at: Some(T0 + 4 * HOUR),
        series_count: Some(2),
        instance_count: Some(240),
        ..ImagingStudy::default()
    };
    batch.push(AnyEvent::ImagingStudy(study));
    let report = ImagingReport {
        event_id: format!("{p}-ct-report"),
        person_id: p.clone(),
        facility_code: f.clone(),
        event_time: T0 + 6 * HOUR,
        provenance: provenance(T0 + 6 * HOUR),
        order_id: format!("RIS-{p}"),
        report_id: Some("RPT0001".into()),
        report_status: ImagingReportStatus::Final,
        modality: Some("CT".into()),
        findings: Some("双肺纹理清晰".into()),
        impression: Some("胸部CT未见异常".into()),
        reported_at: Some(T0 + 6 * HOUR),
        ..ImagingReport::default()
    };
    batch.push(AnyEvent::ImagingReport(report));
    // An inpatient settlement, and an outpatient one that the bureau reversed.
    batch.push(AnyEvent::Settlement(settlement(
        &format!("{p}-setl1"),
        &p,
        &f,
        T0 + 50 * HOUR,
        &format!("S1-{p}"),
        None,
    )));
    batch.push(AnyEvent::Settlement(settlement(
        &format!("{p}-setl2"),
        &p,
        &f,
        T0 + 100 * HOUR,
        &format!("S2-{p}"),
        None,
    )));
    batch.push(AnyEvent::Settlement(settlement(
        &format!("{p}-setl2-rev"),
        &p,
        &f,
        T0 + 101 * HOUR,
        &format!("R2-{p}"),
        Some(&format!("S2-{p}")),
    )));
    batch.deduped().write(&api.pool).await.unwrap();

    let path = format!("/fhir/Patient/{p}/$everything");
    let (status, admin) = api.get(&path, Some("admin-token"), Some("treatment")).await;
    assert_eq!(status, StatusCode::OK, "{admin}");
    let report = validate(&admin, true);
    assert_eq!(report["fhir_version"], "4.0.1", "{report}");
    let counts = &report["counts"];
    assert_eq!(counts["Patient"], 1, "{report}");
    assert_eq!(counts["Encounter"], 2, "one per visit: {report}");
    assert_eq!(counts["Condition"], 2, "{report}");
    assert_eq!(
        counts["Observation"], 9,
        "seven glucose, WBC, HBsAg: {report}"
    );
    assert_eq!(counts["ImagingStudy"], 1, "{report}");
    assert_eq!(counts["DiagnosticReport"], 1, "{report}");
    assert_eq!(
        counts["ExplanationOfBenefit"], 2,
        "two settlements, the reversal is not a claim: {report}"
    );
    let eob_status: Vec<&str> = admin["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "ExplanationOfBenefit")
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        eob_status,
        ["active", "cancelled"],
        "the reversed one is cancelled"
    );

    let (status, clinician) = api
        .get(&path, Some(&api.clinician()), Some("treatment"))
        .await;
    assert_eq!(status, StatusCode::OK, "{clinician}");
    validate(&clinician, false);

    let (status, patient) = api
        .get(
            &format!("/fhir/Patient/{p}"),
            Some("admin-token"),
            Some("treatment"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patient}");
    let single = serde_json::json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [{
            "fullUrl": format!("{}/fhir/Patient/{}", api.service.url, patient["id"].as_str().unwrap()),
            "resource": patient,
            "search": { "mode": "match" },
        }],
    });
    validate(&single, true);
}
