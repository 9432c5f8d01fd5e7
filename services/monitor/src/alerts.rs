//! Critical lab values and critical imaging findings to `canonical.clinical-alert.v1` events
//! (pure: the consumer produces them).
//!
//! An imaging report is critical when the reporting facility flagged it (`critical`, 危急值) and
//! it is not cancelled. A lab result is critical when the source flagged it `CRITICAL_*`, or when its numeric value is at
//! or beyond a limit of `critical-values.yaml` for its test (normalised or original code, same
//! unit). The alert's ids are derived from the lab event id alone, so a redelivered or replayed
//! result yields the very same alert, and its times are the result's, so the event is identical
//! too.

use hub_schemas::{
    AbnormalFlag, ClinicalAlert, ClinicalAlertSeverity, ClinicalAlertType, CodedValue,
    ImagingReport, ImagingReportStatus, LabResult, LabResultStatus, Provenance,
};
use sha2::{Digest, Sha256};

use crate::rules::CriticalValues;

/// Why a result is critical: the text put in `threshold_text` (codes and limits, no person data).
pub fn critical_reason(lab: &LabResult, limits: &CriticalValues) -> Option<String> {
    if lab.result_status == LabResultStatus::Cancelled {
        return None;
    }
    if matches!(
        lab.abnormal_flag,
        AbnormalFlag::CriticalLow | AbnormalFlag::CriticalHigh | AbnormalFlag::CriticalAbnormal
    ) {
        return Some(format!(
            "flagged {} by the source",
            crate::facts::symbol(&lab.abnormal_flag)
        ));
    }
    let value = lab.value_numeric?;
    let limit = limits.find(&lab.test.code).or_else(|| {
        lab.test_original
            .as_ref()
            .and_then(|original| limits.find(&original.code))
    })?;
    if let (Some(expected), Some(unit)) = (&limit.unit, &lab.unit)
        && !expected.eq_ignore_ascii_case(unit)
    {
        // Another unit: comparing would be wrong either way; the source flag still applies.
        return None;
    }
    let unit = limit.unit.as_deref().unwrap_or("");
    if let Some(low) = limit.low
        && value <= low
    {
        return Some(format!("<= {low} {unit} ({})", limit.code).replace("  ", " "));
    }
    if let Some(high) = limit.high
        && value >= high
    {
        return Some(format!(">= {high} {unit} ({})", limit.code).replace("  ", " "));
    }
    None
}

/// The deterministic alert id of the critical-value alert of lab event `lab_event_id`.
pub fn alert_id(lab_event_id: &str) -> String {
    derived_id("critical-lab-value", lab_event_id)
}

/// The deterministic alert id of the critical-finding alert of imaging report event
/// `report_event_id`.
pub fn imaging_alert_id(report_event_id: &str) -> String {
    derived_id("critical-imaging-finding", report_event_id)
}

fn derived_id(kind: &str, source_event_id: &str) -> String {
    let digest = Sha256::digest(format!("{kind}|{source_event_id}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("alert-{hex}")
}

/// The alert for an imaging `report` flagged critical, or `None`. The modality is the alert's
/// `test` (system `DICOM-MODALITY`); the findings and impression stay in the report (free
/// text is not copied into alerts). `notify_facility_code` is the ordering facility, else the
/// reporting one.
pub fn imaging_alert_for(
    report: &ImagingReport,
    (topic, partition, offset): (&str, i32, i64),
) -> Option<ClinicalAlert> {
    if !report.critical || report.report_status == ImagingReportStatus::Cancelled {
        return None;
    }
    let id = imaging_alert_id(&report.event_id);
    Some(ClinicalAlert {
        event_id: format!("clinical-alert:{id}"),
        person_id: report.person_id.clone(),
        facility_code: report.facility_code.clone(),
        event_time: report.event_time,
        provenance: Provenance {
            source_topic: topic.to_owned(),
            source_partition: partition,
            source_offset: offset,
            source_message_id: report.event_id.clone(),
            received_at: report.provenance.received_at,
            synthetic: report.provenance.synthetic,
        },
        alert_id: id,
        alert_type: ClinicalAlertType::CriticalImagingFinding,
        severity: ClinicalAlertSeverity::Critical,
        source_event_id: report.event_id.clone(),
        encounter_id: report.encounter_id.clone(),
        test: report.modality.as_ref().map(|m| CodedValue {
            code: m.clone(),
            system: "DICOM-MODALITY".to_owned(),
            display: None,
        }),
        value_text: None,
        threshold_text: Some("critical finding flagged by the reporting facility".to_owned()),
        notify_facility_code: report
            .ordering_facility_code
            .clone()
            .unwrap_or_else(|| report.facility_code.clone()),
        raised_at: report.event_time,
    })
}

/// The alert for a critical `lab` result, or `None` when it is not critical.
///
/// `notify_facility_code` is the ordering facility, else the reporting one. `source` is the
/// Kafka position of the lab record (provenance of the alert).
pub fn alert_for(
    lab: &LabResult,
    limits: &CriticalValues,
    source: (&str, i32, i64),
) -> Option<ClinicalAlert> {
    let reason = critical_reason(lab, limits)?;
    let id = alert_id(&lab.event_id);
    let (topic, partition, offset) = source;
    Some(ClinicalAlert {
        event_id: format!("clinical-alert:{id}"),
        person_id: lab.person_id.clone(),
        facility_code: lab.facility_code.clone(),
        event_time: lab.event_time,
        provenance: Provenance {
            source_topic: topic.to_owned(),
            source_partition: partition,
            source_offset: offset,
            source_message_id: lab.event_id.clone(),
            received_at: lab.provenance.received_at,
            synthetic: lab.provenance.synthetic,
        },
        alert_id: id,
        alert_type: ClinicalAlertType::CriticalLabValue,
        severity: ClinicalAlertSeverity::Critical,
        source_event_id: lab.event_id.clone(),
        encounter_id: lab.encounter_id.clone(),
        test: Some(lab.test.clone()),
        value_text: Some(lab.value_text.clone()),
        threshold_text: Some(reason),
        notify_facility_code: lab
            .ordering_facility_code
            .clone()
            .unwrap_or_else(|| lab.facility_code.clone()),
        raised_at: lab.event_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::CriticalLimit;
    use hub_schemas::CodedValue;

    fn limits() -> CriticalValues {
        CriticalValues {
            tests: vec![CriticalLimit {
                code: "2823-3".into(),
                aliases: vec!["K".into()],
                unit: Some("mmol/L".into()),
                low: Some(2.8),
                high: Some(6.2),
            }],
        }
    }

    fn potassium(value: f64) -> LabResult {
        LabResult {
            event_id: "lab-1".into(),
            facility_code: "LAB".into(),
            test: CodedValue {
                code: "2823-3".into(),
                system: "LOINC".into(),
                display: None,
            },
            value_text: value.to_string(),
            value_numeric: Some(value),
            unit: Some("mmol/L".into()),
            result_status: LabResultStatus::Final,
            ..LabResult::default()
        }
    }

    #[test]
    fn limits_are_inclusive_and_units_must_match() {
        assert!(critical_reason(&potassium(4.0), &limits()).is_none());
        assert_eq!(
            critical_reason(&potassium(6.2), &limits()).unwrap(),
            ">= 6.2 mmol/L (2823-3)"
        );
        assert!(critical_reason(&potassium(2.8), &limits()).is_some());
        let mut other_unit = potassium(7.0);
        other_unit.unit = Some("mg/dL".into());
        assert!(critical_reason(&other_unit, &limits()).is_none());
        let mut cancelled = potassium(7.0);
        cancelled.result_status = LabResultStatus::Cancelled;
        assert!(critical_reason(&cancelled, &limits()).is_none());
    }

    #[test]
    fn critical_imaging_reports_alert_the_ordering_facility() {
        let mut report = ImagingReport {
            event_id: "img-r-9".into(),
            person_id: "P-9".into(),
            facility_code: "IMG".into(),
            report_status: ImagingReportStatus::Final,
            modality: Some("CT".into()),
            findings: Some("free text".into()),
            ordering_facility_code: Some("TOWN".into()),
            ..ImagingReport::default()
        };
        assert!(
            imaging_alert_for(&report, ("t", 0, 1)).is_none(),
            "not flagged"
        );
        report.critical = true;
        let a = imaging_alert_for(&report, ("t", 0, 1)).unwrap();
        assert_eq!(a, imaging_alert_for(&report, ("t", 0, 1)).unwrap());
        assert_eq!(a.alert_id, imaging_alert_id("img-r-9"));
        assert_ne!(a.alert_id, alert_id("img-r-9"), "ids differ by kind");
        assert_eq!(a.alert_type, ClinicalAlertType::CriticalImagingFinding);
        assert_eq!(a.notify_facility_code, "TOWN");
        assert_eq!(a.test.unwrap().code, "CT");
        assert!(a.value_text.is_none(), "no free text copied");
        report.report_status = ImagingReportStatus::Cancelled;
        assert!(imaging_alert_for(&report, ("t", 0, 1)).is_none());
    }

    #[test]
    fn source_flags_alert_without_a_limit_and_ids_are_deterministic() {
        let mut lab = potassium(1.0);
        lab.test.code = "UNLISTED".into();
        assert!(critical_reason(&lab, &limits()).is_none());
        lab.abnormal_flag = AbnormalFlag::CriticalHigh;
        let a = alert_for(&lab, &limits(), ("t", 0, 1)).unwrap();
        let b = alert_for(&lab, &limits(), ("t", 0, 1)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.alert_id, alert_id("lab-1"));
        assert_eq!(
            a.notify_facility_code, "LAB",
            "no ordering facility: the reporter"
        );
        lab.ordering_facility_code = Some("TOWN".into());
        let c = alert_for(&lab, &limits(), ("t", 0, 1)).unwrap();
        assert_eq!(c.notify_facility_code, "TOWN");
    }
}
