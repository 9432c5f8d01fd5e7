//! The columns of each entity table, from its canonical event (see `migrations/`).

use hub_schemas::{
    ClinicalAlert, Diagnosis, Encounter, IdentityLink, ImagingReport, ImagingStudy, LabResult,
    Person, Referral, Settlement,
};

use super::keys::date;
use super::upsert::Upsert;

pub(super) fn persons(rows: &[Person]) -> Upsert<'_, Person> {
    let mut u = Upsert::new("persons", rows);
    u.text("action", |e| Some(e.action.symbol().to_owned()))
        .text("id_number", |e| e.id_number.clone())
        .text("id_type_code", |e| e.id_type_code.clone())
        .text("name", |e| Some(e.name.clone()))
        .text("sex_code", |e| Some(e.sex_code.clone()))
        .date("birth_date", |e| e.birth_date.and_then(date))
        .text("phone", |e| e.phone.clone())
        .text("address_division_code", |e| e.address_division_code.clone())
        .text("address_text", |e| e.address_text.clone())
        .text("insured_admdvs", |e| e.insured_admdvs.clone())
        .text("ethnicity_code", |e| e.ethnicity_code.clone());
    u
}

pub(super) fn encounters(rows: &[Encounter]) -> Upsert<'_, Encounter> {
    let mut u = Upsert::new("encounters", rows);
    u.text("encounter_id", |e| Some(e.encounter_id.clone()))
        .text("encounter_class", |e| {
            Some(e.encounter_class.symbol().to_owned())
        })
        .text("action", |e| Some(e.action.symbol().to_owned()))
        .text("department_code", |e| e.department_code.clone())
        .text("department_name", |e| e.department_name.clone())
        .text("attending_doctor_code", |e| e.attending_doctor_code.clone())
        .time("admit_time", |e| e.admit_time)
        .time("discharge_time", |e| e.discharge_time)
        .text("chief_complaint", |e| e.chief_complaint.clone())
        .text("cancels_event_id", |e| e.cancels_event_id.clone());
    u
}

pub(super) fn diagnoses(rows: &[Diagnosis]) -> Upsert<'_, Diagnosis> {
    let mut u = Upsert::new("diagnoses", rows);
    u.text("encounter_id", |e| Some(e.encounter_id.clone()))
        .text("action", |e| Some(e.action.symbol().to_owned()))
        .text("code", |e| Some(e.diagnosis.code.clone()))
        .text("code_display", |e| e.diagnosis.display.clone())
        .text("code_system", |e| Some(e.code_system.symbol().to_owned()))
        .text("diagnosis_type", |e| {
            Some(e.diagnosis_type.symbol().to_owned())
        })
        .int("rank", |e| e.rank)
        .time("diagnosed_at", |e| e.diagnosed_at);
    u
}

pub(super) fn lab_results(rows: &[LabResult]) -> Upsert<'_, LabResult> {
    let mut u = Upsert::new("lab_results", rows);
    u.text("order_id", |e| Some(e.order_id.clone()))
        .text("report_id", |e| e.report_id.clone())
        .text("encounter_id", |e| e.encounter_id.clone())
        .int("observation_seq", |e| Some(e.observation_seq))
        .text("test_code", |e| Some(e.test.code.clone()))
        .text("test_system", |e| Some(e.test.system.clone()))
        .text("test_display", |e| e.test.display.clone())
        .text("value_text", |e| Some(e.value_text.clone()))
        .float("value_numeric", |e| {
            e.value_numeric.filter(|v| v.is_finite())
        })
        .text("unit", |e| e.unit.clone())
        .text("reference_range", |e| e.reference_range.clone())
        .text("abnormal_flag", |e| {
            Some(e.abnormal_flag.symbol().to_owned())
        })
        .text("result_status", |e| {
            Some(e.result_status.symbol().to_owned())
        })
        .text("specimen_id", |e| e.specimen_id.clone())
        .time("collected_at", |e| e.collected_at)
        .time("reported_at", |e| e.reported_at)
        .text("ordering_facility_code", |e| {
            e.ordering_facility_code.clone()
        })
        .text("performing_facility_code", |e| {
            e.performing_facility_code.clone()
        });
    u
}

pub(super) fn imaging_studies(rows: &[ImagingStudy]) -> Upsert<'_, ImagingStudy> {
    let mut u = Upsert::new("imaging_studies", rows);
    u.text("order_id", |e| Some(e.order_id.clone()))
        .text("accession_number", |e| e.accession_number.clone())
        .text("study_instance_uid", |e| e.study_instance_uid.clone())
        .text("encounter_id", |e| e.encounter_id.clone())
        .text("status", |e| Some(e.status.symbol().to_owned()))
        .text("modality", |e| e.modality.clone())
        .text("body_part", |e| e.body_part.clone())
        .text("procedure_code", |e| {
            e.procedure.as_ref().map(|p| p.code.clone())
        })
        .text("procedure_display", |e| {
            e.procedure.as_ref().and_then(|p| p.display.clone())
        })
        .time("performed_at", |e| e.performed_at)
        .int("series_count", |e| e.series_count)
        .int("instance_count", |e| e.instance_count)
        .text("ordering_facility_code", |e| {
            e.ordering_facility_code.clone()
        })
        .text("performing_facility_code", |e| {
            e.performing_facility_code.clone()
        });
    u
}

pub(super) fn imaging_reports(rows: &[ImagingReport]) -> Upsert<'_, ImagingReport> {
    let mut u = Upsert::new("imaging_reports", rows);
    u.text("order_id", |e| Some(e.order_id.clone()))
        .text("accession_number", |e| e.accession_number.clone())
        .text("study_instance_uid", |e| e.study_instance_uid.clone())
        .text("report_id", |e| e.report_id.clone())
        .text("encounter_id", |e| e.encounter_id.clone())
        .text("report_status", |e| {
            Some(e.report_status.symbol().to_owned())
        })
        .text("modality", |e| e.modality.clone())
        .text("findings", |e| e.findings.clone())
        .text("impression", |e| e.impression.clone())
        .boolean("critical", |e| Some(e.critical))
        .time("reported_at", |e| e.reported_at);
    u
}

pub(super) fn settlements(rows: &[Settlement]) -> Upsert<'_, Settlement> {
    let mut u = Upsert::new("settlements", rows);
    u.text("setl_id", |e| Some(e.setl_id.clone()))
        .text("kind", |e| Some(e.kind.symbol().to_owned()))
        .text("reverses_setl_id", |e| e.reverses_setl_id.clone())
        .text("psn_no", |e| Some(e.psn_no.clone()))
        .text("mdtrt_id", |e| Some(e.mdtrt_id.clone()))
        .text("fixmedins_code", |e| Some(e.fixmedins_code.clone()))
        .text("insuplc_admdvs", |e| Some(e.insuplc_admdvs.clone()))
        .text("insutype", |e| Some(e.insutype.clone()))
        .text("med_type", |e| Some(e.med_type.clone()))
        .boolean("inpatient", |e| Some(e.inpatient))
        .time("setl_time", |e| Some(e.setl_time))
        .bigint("medfee_sumamt", |e| Some(e.medfee_sumamt))
        .bigint("fund_pay_sumamt", |e| Some(e.fund_pay_sumamt))
        .bigint("psn_cash_pay", |e| Some(e.psn_cash_pay))
        .json("diagnoses", |e| e.diagnoses.clone());
    u
}

pub(super) fn referrals(rows: &[Referral]) -> Upsert<'_, Referral> {
    let mut u = Upsert::new("referrals", rows);
    u.text("referral_id", |e| Some(e.referral_id.clone()))
        .text("direction", |e| Some(e.direction.symbol().to_owned()))
        .text("status", |e| Some(e.status.symbol().to_owned()))
        .text("from_facility_code", |e| Some(e.from_facility_code.clone()))
        .text("to_facility_code", |e| Some(e.to_facility_code.clone()))
        .text("reason_code", |e| {
            e.reason_diagnosis.as_ref().map(|d| d.code.clone())
        })
        .text("reason_display", |e| {
            e.reason_diagnosis.as_ref().and_then(|d| d.display.clone())
        })
        .time("referred_at", |e| Some(e.referred_at))
        .text("encounter_id", |e| e.encounter_id.clone())
        .text("receiving_encounter_id", |e| {
            e.receiving_encounter_id.clone()
        });
    u
}

pub(super) fn identity_links(rows: &[IdentityLink]) -> Upsert<'_, IdentityLink> {
    let mut u = Upsert::new("identity_links", rows);
    u.text("action", |e| Some(e.action.symbol().to_owned()))
        .text("previous_person_id", |e| e.previous_person_id.clone())
        .text("surviving_person_id", |e| e.surviving_person_id.clone())
        .text("match_method", |e| Some(e.match_method.symbol().to_owned()));
    u
}

pub(super) fn clinical_alerts(rows: &[ClinicalAlert]) -> Upsert<'_, ClinicalAlert> {
    let mut u = Upsert::new("clinical_alerts", rows);
    u.text("alert_id", |e| Some(e.alert_id.clone()))
        .text("alert_type", |e| Some(e.alert_type.symbol().to_owned()))
        .text("severity", |e| Some(e.severity.symbol().to_owned()))
        .text("source_event_id", |e| Some(e.source_event_id.clone()))
        .text("test_code", |e| e.test.as_ref().map(|t| t.code.clone()))
        .text("test_display", |e| {
            e.test.as_ref().and_then(|t| t.display.clone())
        })
        .text("value_text", |e| e.value_text.clone())
        .text("threshold_text", |e| e.threshold_text.clone())
        .text("notify_facility_code", |e| {
            Some(e.notify_facility_code.clone())
        })
        .time("raised_at", |e| Some(e.raised_at));
    u
}
