//! Row documents as `connector-table` writes them, to canonical events: each kind, the derived
//! encounter actions, the errors, and every event still encoding under its committed schema.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use hub_mapping::Mapped;
use hub_schemas::raw::RawEnvelope;
use hub_schemas::{
    AbnormalFlag, AnyEvent, CanonicalEvent, Diagnosis, DiagnosisCodeSystem, DiagnosisType,
    Encounter, EncounterAction, EncounterClass, LabResult, LabResultStatus,
};
use hub_table::{RowDocument, error_code, map_table_row};

fn raw(kind: &str, columns: &[(&str, Option<&str>)]) -> RawEnvelope {
    let document = RowDocument {
        table: "his_visit".into(),
        kind: kind.into(),
        facility: "H21028100001".into(),
        pk: "1042".into(),
        change_time: "2026-11-25 09:41:27.123456".into(),
        columns: columns
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect(),
    };
    RawEnvelope {
        topic: "raw.his.table".into(),
        partition: 2,
        offset: 7,
        facility: "H21028100001".into(),
        message_id: document.message_id(),
        received_at_ms: 1,
        payload: serde_json::to_vec(&document).unwrap(),
        ..RawEnvelope::default()
    }
}

fn encodes<T: CanonicalEvent + Clone + PartialEq + std::fmt::Debug>(event: &T) {
    let schema: serde_avro_fast::Schema = T::CONTRACT.schema.parse().unwrap();
    let config = &mut serde_avro_fast::ser::SerializerConfig::new(&schema);
    let bytes = serde_avro_fast::to_datum_vec(event, config).unwrap();
    let back: T = serde_avro_fast::from_datum_slice(&bytes, &schema).unwrap();
    assert_eq!(&back, event);
}

fn single(mapped: Mapped) -> AnyEvent {
    assert_eq!(mapped.events.len(), 1);
    mapped.events.into_iter().next().unwrap()
}

const CHANGE_MS: i64 = 1_795_570_887_123; // 2026-11-25 09:41:27.123 China time

#[test]
fn an_inpatient_row_is_an_admission_then_a_discharge() {
    let mut columns = vec![
        ("encounter_id", Some("ZY2026-0042")),
        ("encounter_class", Some("住院")),
        ("admit_time", Some("2026-11-20 08:00:00")),
        ("discharge_time", None),
        ("department_code", Some("0301")),
        ("patient_mrn", Some("MRN77")),
        ("patient_id_number", Some("11010519491231002X")),
        ("patient_sex", Some("女")),
        ("patient_birth_date", Some("1949-12-31")),
    ];
    let mapped = map_table_row(&raw("encounter", &columns)).unwrap();
    let patient = mapped.patient.clone().unwrap();
    assert_eq!(patient.mrn.as_deref(), Some("MRN77"));
    assert_eq!(patient.sex_code.as_deref(), Some("2"));
    assert_eq!(patient.facility_code, "H21028100001");
    let AnyEvent::Encounter(admit) = single(mapped) else {
        panic!("not an encounter")
    };
    assert_eq!(admit.action, EncounterAction::Admit);
    assert_eq!(admit.encounter_class, EncounterClass::Inpatient);
    assert_eq!(admit.event_time, admit.admit_time.unwrap());
    assert_eq!(
        admit.event_id,
        "H21028100001:his_visit:1042@2026-11-25 09:41:27.123456:encounter:0"
    );
    assert_eq!(admit.provenance.source_offset, 7);
    encodes::<Encounter>(&admit);

    columns[3].1 = Some("2026-11-25 09:30:00");
    let AnyEvent::Encounter(discharge) =
        single(map_table_row(&raw("encounter", &columns)).unwrap())
    else {
        panic!("not an encounter")
    };
    assert_eq!(discharge.action, EncounterAction::Discharge);
    assert_eq!(discharge.event_time, discharge.discharge_time.unwrap());

    columns.push(("cancelled", Some("1")));
    let AnyEvent::Encounter(cancel) = single(map_table_row(&raw("encounter", &columns)).unwrap())
    else {
        panic!("not an encounter")
    };
    assert_eq!(cancel.action, EncounterAction::CancelAdmit);
}

#[test]
fn a_diagnosis_row_keeps_its_code_system() {
    let columns = [
        ("encounter_id", Some("MZ1")),
        ("diagnosis_code", Some("E11.900")),
        ("diagnosis_name", Some("2型糖尿病")),
        ("code_system", Some("ICD-10 国临版 2.0")),
        ("diagnosis_type", Some("1")),
        ("rank", Some("1")),
        ("patient_mrn", Some("MRN77")),
    ];
    let AnyEvent::Diagnosis(d) = single(map_table_row(&raw("diagnosis", &columns)).unwrap()) else {
        panic!("not a diagnosis")
    };
    assert_eq!(d.code_system, DiagnosisCodeSystem::Icd10GbClin20);
    assert_eq!(d.diagnosis.system, "ICD-10-GB-CLIN-2.0");
    assert_eq!(d.diagnosis_type, DiagnosisType::Outpatient);
    assert_eq!(d.rank, Some(1));
    assert_eq!(
        d.event_time, CHANGE_MS,
        "no diagnosis time: the change time"
    );
    encodes::<Diagnosis>(&d);
}

#[test]
fn a_lab_row_is_one_observation() {
    let columns = [
        ("order_id", Some("O100")),
        ("test_code", Some("GLU")),
        ("test_name", Some("葡萄糖")),
        ("value", Some(" 7.8 ")),
        ("unit", Some("mmol/L")),
        ("abnormal_flag", Some("↑")),
        ("result_status", Some("已审核")),
        ("reported_at", Some("2026-11-25T09:00:00+08:00")),
        ("patient_mrn", Some("MRN77")),
    ];
    let AnyEvent::LabResult(lab) = single(map_table_row(&raw("lab_result", &columns)).unwrap())
    else {
        panic!("not a lab result")
    };
    assert_eq!(lab.value_text, "7.8");
    assert_eq!(lab.value_numeric, Some(7.8));
    assert_eq!(lab.abnormal_flag, AbnormalFlag::High);
    assert_eq!(lab.result_status, LabResultStatus::Final);
    assert_eq!(lab.observation_seq, 1);
    assert_eq!(lab.event_time, lab.reported_at.unwrap());
    encodes::<LabResult>(&lab);
}

#[test]
fn bad_rows_are_rejected_with_bounded_codes_and_no_values() {
    let no_code = [("order_id", Some("O1")), ("patient_mrn", Some("M"))];
    let e = map_table_row(&raw("lab_result", &no_code)).unwrap_err();
    assert_eq!(e.code, error_code::MISSING_FIELD);
    assert!(e.detail.contains("test_code"));

    let no_patient = [
        ("encounter_id", Some("E1")),
        ("patient_name", Some("王小明")),
    ];
    let e = map_table_row(&raw("encounter", &no_patient)).unwrap_err();
    assert_eq!(e.code, error_code::NO_PATIENT);
    assert!(!e.detail.contains("王小明"));

    let e = map_table_row(&raw("surgery", &[("patient_mrn", Some("M"))])).unwrap_err();
    assert_eq!(e.code, error_code::UNSUPPORTED_KIND);

    let mut not_json = raw("encounter", &[]);
    not_json.payload = b"{oops".to_vec();
    assert_eq!(
        map_table_row(&not_json).unwrap_err().code,
        error_code::NOT_A_ROW
    );
}
