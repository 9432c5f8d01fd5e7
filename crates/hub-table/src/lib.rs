//! Front-end-processor table rows (`raw.<source>.table`, written by `connector-table`) to
//! canonical events: the row-document contract ([`RowDocument`]) and a pure mapping, one event
//! per row version.
//!
//! The connector's configuration maps source columns to the hub field names below; the mapping
//! reads only those names, so a vendor's table layout never reaches this code.
//!
//! Every kind may carry the patient: `patient_mrn` (the facility's patient id), `patient_id_number`
//! (resident ID number, validated by the EMPI), `patient_insurance_number`, `patient_health_card`,
//! `patient_name`, `patient_birth_date`, `patient_sex`, `patient_phone`. At least one identifier
//! (MRN, ID number, insurance number or health card) is required.
//!
//! - `encounter` (`canonical.encounter.v1`): `encounter_id` (required), `encounter_class`,
//!   `action`, `admit_time`, `discharge_time`, `department_code`, `department_name`,
//!   `attending_doctor_code`, `chief_complaint`, `cancelled`, `event_time`. Without `action`, it
//!   is derived from the row: cancelled rows cancel the admission or registration, a row with a
//!   discharge time is a discharge, an inpatient row an admission, else a registration.
//! - `diagnosis` (`canonical.diagnosis.v1`): `encounter_id`, `diagnosis_code` (required),
//!   `diagnosis_name`, `code_system`, `diagnosis_type`, `rank`, `diagnosed_at`, `removed`.
//! - `lab_result` (`canonical.lab-result.v1`): `order_id`, `test_code` (required), `test_name`,
//!   `test_system`, `value`, `unit`, `reference_range`, `abnormal_flag`, `result_status`,
//!   `report_id`, `encounter_id`, `observation_seq`, `specimen_id`, `specimen_type`,
//!   `ordered_at`, `collected_at`, `reported_at`, `ordering_facility_code`,
//!   `performing_facility_code`.
//!
//! Decisions: the event's `facility_code` is the authenticated facility of the message
//! (`hub-facility`), never a column; `event_time` is the kind's clinical time when sent, else
//! the row's change time; the event id is `<facility>:<table>:<pk>@<change time>:<entity>:0`, so
//! every version of a row is its own event and a re-send converges. Times without a zone are
//! China Standard Time. Error details name fields, never values.

// Event literals end in `..Default::default()`: canonical schemas evolve by appending fields
// with defaults (FULL_TRANSITIVE), which this mapping must keep compiling through.
#![allow(clippy::needless_update)]

pub mod codes;
mod document;

use hub_identity::PatientRef;
use hub_mapping::{MapError, Mapped, event_id, provenance};
use hub_schemas::raw::RawEnvelope;
use hub_schemas::{
    AnyEvent, CodedValue, Diagnosis, DiagnosisAction, Encounter, EncounterAction, EncounterClass,
    LabResult,
};

pub use document::{CONTENT_TYPE, RowDocument};

/// The bounded error codes of this mapping (the DLQ `hub-error-code`).
pub mod error_code {
    /// Not a row document (not JSON, or missing its envelope fields).
    pub const NOT_A_ROW: &str = "table_not_a_row";
    /// A `kind` this mapping does not handle.
    pub const UNSUPPORTED_KIND: &str = "table_unsupported_kind";
    /// A required field is missing or blank.
    pub const MISSING_FIELD: &str = "table_missing_field";
    /// The row identifies no patient.
    pub const NO_PATIENT: &str = "table_no_patient";
}

/// Maps one raw row document to its canonical event and patient.
///
/// # Errors
/// A [`MapError`] with a code from [`error_code`].
pub fn map_table_row(raw: &RawEnvelope) -> Result<Mapped, MapError> {
    let row: RowDocument = serde_json::from_slice(&raw.payload).map_err(|e| {
        MapError::new(
            error_code::NOT_A_ROW,
            format!(
                "not a row document at line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let patient = patient(raw, &row)?;
    let event = match row.kind.as_str() {
        "encounter" => AnyEvent::Encounter(encounter(raw, &row)?),
        "diagnosis" => AnyEvent::Diagnosis(diagnosis(raw, &row)?),
        "lab_result" => AnyEvent::LabResult(lab_result(raw, &row)?),
        _ => {
            return Err(MapError::new(
                error_code::UNSUPPORTED_KIND,
                "row kind is not encounter, diagnosis or lab_result",
            ));
        }
    };
    Ok(Mapped {
        patient: Some(patient),
        merged_patient: None,
        events: vec![event],
    })
}

fn required<'a>(row: &'a RowDocument, field: &'static str) -> Result<&'a str, MapError> {
    row.get(field).ok_or_else(|| {
        MapError::new(
            error_code::MISSING_FIELD,
            format!("table {}: field {field} is missing or blank", row.table),
        )
    })
}

fn text(row: &RowDocument, field: &str) -> Option<String> {
    row.get(field).map(str::to_owned)
}

fn time(row: &RowDocument, field: &str) -> Option<i64> {
    row.get(field).and_then(codes::parse_time)
}

/// The row's change time, the fallback event time (a row always has one).
fn change_time(raw: &RawEnvelope, row: &RowDocument) -> i64 {
    codes::parse_time(&row.change_time).unwrap_or(raw.received_at_ms)
}

fn patient(raw: &RawEnvelope, row: &RowDocument) -> Result<PatientRef, MapError> {
    let patient = PatientRef {
        facility_code: raw.facility.clone(),
        mrn: text(row, "patient_mrn"),
        id_number: text(row, "patient_id_number"),
        insurance_number: text(row, "patient_insurance_number"),
        health_card: text(row, "patient_health_card"),
        name: text(row, "patient_name"),
        birth_date: row.get("patient_birth_date").and_then(codes::parse_date),
        sex_code: row
            .get("patient_sex")
            .and_then(codes::sex_code)
            .map(str::to_owned),
        phone: text(row, "patient_phone"),
    };
    let identified = patient.mrn.is_some()
        || patient.id_number.is_some()
        || patient.insurance_number.is_some()
        || patient.health_card.is_some();
    if identified {
        Ok(patient)
    } else {
        Err(MapError::new(
            error_code::NO_PATIENT,
            format!(
                "table {}: no patient_mrn, patient_id_number, patient_insurance_number or \
                 patient_health_card",
                row.table
            ),
        ))
    }
}

fn encounter(raw: &RawEnvelope, row: &RowDocument) -> Result<Encounter, MapError> {
    let encounter_id = required(row, "encounter_id")?.to_owned();
    let class = row
        .get("encounter_class")
        .map_or(EncounterClass::Unknown, codes::encounter_class);
    let admit_time = time(row, "admit_time");
    let discharge_time = time(row, "discharge_time");
    let cancelled = row.get("cancelled").is_some_and(codes::flag);
    let inpatient = class == EncounterClass::Inpatient;
    let action = match row.get("action") {
        Some(a) => codes::encounter_action(a),
        None if cancelled && inpatient => EncounterAction::CancelAdmit,
        None if cancelled => EncounterAction::CancelRegister,
        None if discharge_time.is_some() => EncounterAction::Discharge,
        None if inpatient => EncounterAction::Admit,
        None => EncounterAction::Register,
    };
    let clinical = match action {
        EncounterAction::Discharge => discharge_time,
        _ => admit_time,
    };
    Ok(Encounter {
        event_id: event_id(raw, "encounter", 0),
        person_id: String::new(),
        facility_code: raw.facility.clone(),
        event_time: time(row, "event_time")
            .or(clinical)
            .unwrap_or_else(|| change_time(raw, row)),
        provenance: provenance(raw),
        encounter_id,
        encounter_class: class,
        action,
        hl7_event_code: None,
        department_code: text(row, "department_code"),
        department_name: text(row, "department_name"),
        prior_department_code: None,
        attending_doctor_code: text(row, "attending_doctor_code"),
        admit_time,
        discharge_time,
        chief_complaint: text(row, "chief_complaint"),
        cancels_event_id: None,
        ..Default::default()
    })
}

fn diagnosis(raw: &RawEnvelope, row: &RowDocument) -> Result<Diagnosis, MapError> {
    let encounter_id = required(row, "encounter_id")?.to_owned();
    let code = required(row, "diagnosis_code")?.to_owned();
    let sent_system = row.get("code_system").unwrap_or("");
    let family = codes::diagnosis_code_system(sent_system);
    let diagnosed_at = time(row, "diagnosed_at");
    let removed = row.get("removed").is_some_and(codes::flag);
    Ok(Diagnosis {
        event_id: event_id(raw, "diagnosis", 0),
        person_id: String::new(),
        facility_code: raw.facility.clone(),
        event_time: diagnosed_at.unwrap_or_else(|| change_time(raw, row)),
        provenance: provenance(raw),
        encounter_id,
        action: if removed {
            DiagnosisAction::Removed
        } else {
            DiagnosisAction::Recorded
        },
        diagnosis: CodedValue {
            code,
            system: codes::diagnosis_system_name(family, sent_system),
            display: text(row, "diagnosis_name"),
        },
        code_system: family,
        diagnosis_type: row
            .get("diagnosis_type")
            .map_or(hub_schemas::DiagnosisType::Unknown, codes::diagnosis_type),
        rank: row.get("rank").and_then(|r| r.parse().ok()),
        diagnosed_at,
        ..Default::default()
    })
}

fn lab_result(raw: &RawEnvelope, row: &RowDocument) -> Result<LabResult, MapError> {
    let order_id = required(row, "order_id")?.to_owned();
    let test_code = required(row, "test_code")?.to_owned();
    let value_text = text(row, "value").unwrap_or_default();
    let reported_at = time(row, "reported_at");
    Ok(LabResult {
        event_id: event_id(raw, "lab-result", 0),
        person_id: String::new(),
        facility_code: raw.facility.clone(),
        event_time: reported_at
            .or_else(|| time(row, "collected_at"))
            .unwrap_or_else(|| change_time(raw, row)),
        provenance: provenance(raw),
        order_id,
        filler_order_id: None,
        report_id: text(row, "report_id"),
        encounter_id: text(row, "encounter_id"),
        observation_seq: row
            .get("observation_seq")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        test: CodedValue {
            code: test_code,
            system: text(row, "test_system").unwrap_or_default(),
            display: text(row, "test_name"),
        },
        value_numeric: value_text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite()),
        value_text,
        unit: text(row, "unit"),
        reference_range: text(row, "reference_range"),
        abnormal_flag: row
            .get("abnormal_flag")
            .map_or(hub_schemas::AbnormalFlag::Unknown, codes::abnormal_flag),
        result_status: row
            .get("result_status")
            .map_or(hub_schemas::LabResultStatus::Unknown, codes::lab_status),
        specimen_id: text(row, "specimen_id"),
        specimen_type: text(row, "specimen_type").map(|t| CodedValue {
            code: t.clone(),
            system: String::new(),
            display: Some(t),
        }),
        ordered_at: time(row, "ordered_at"),
        collected_at: time(row, "collected_at"),
        reported_at,
        ordering_facility_code: text(row, "ordering_facility_code"),
        performing_facility_code: text(row, "performing_facility_code"),
        ..Default::default()
    })
}
