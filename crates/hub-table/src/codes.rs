//! Source values to hub vocabularies. Front-end-processor tables use HL7 codes, NHSA/WS codes
//! or Chinese words depending on the vendor; each table accepts all three. Unknown values map to
//! `UNKNOWN` (or `OTHER`), never to an error: only a missing required field rejects a row.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use hub_schemas::{
    AbnormalFlag, DiagnosisCodeSystem, DiagnosisType, EncounterAction, EncounterClass,
    LabResultStatus,
};

/// China Standard Time, seconds east of UTC: source local times without a zone are read so.
const CST_SECONDS: i64 = 8 * 3600;

fn norm(raw: &str) -> String {
    raw.trim().to_uppercase()
}

/// A time as databases render it (`2026-11-25 09:41:27[.123456][+08[:00]]`, `T` separator,
/// `20261125094127`, or a date) to epoch milliseconds; no zone means China Standard Time.
pub fn parse_time(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some(t.timestamp_millis());
        }
    }
    let local = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y%m%d%H%M%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
    .or_else(|| parse_date(raw).and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    Some(local.and_utc().timestamp_millis() - CST_SECONDS * 1000)
}

/// A date (`2026-11-25`, `20261125`, or the date part of a time).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    let head = raw.get(..10).unwrap_or(raw);
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(raw.get(..8)?, "%Y%m%d").ok())
}

/// True for the usual spellings of yes (`1`, `Y`, `true`, `是`).
pub fn flag(raw: &str) -> bool {
    matches!(norm(raw).as_str(), "1" | "Y" | "YES" | "T" | "TRUE" | "是")
}

/// GB/T 2261.1 sex code from a digit, HL7 letter or 男/女.
pub fn sex_code(raw: &str) -> Option<&'static str> {
    Some(match norm(raw).as_str() {
        "1" | "M" | "男" => "1",
        "2" | "F" | "女" => "2",
        "0" | "U" => "0",
        "9" | "O" => "9",
        _ => return None,
    })
}

/// Visit class: HL7 PV1-2 letters, the common vendor digits (1 outpatient, 2 emergency,
/// 3 inpatient, 4 check-up) or Chinese words.
pub fn encounter_class(raw: &str) -> EncounterClass {
    match norm(raw).as_str() {
        "O" | "1" | "门诊" => EncounterClass::Outpatient,
        "E" | "2" | "急诊" => EncounterClass::Emergency,
        "I" | "3" | "住院" => EncounterClass::Inpatient,
        "OBS" | "留观" => EncounterClass::Observation,
        "H" | "4" | "体检" => EncounterClass::PhysicalExam,
        "" => EncounterClass::Unknown,
        _ => EncounterClass::Other,
    }
}

/// Visit action: HL7 trigger events or words.
pub fn encounter_action(raw: &str) -> EncounterAction {
    match norm(raw).as_str() {
        "A05" | "PRE_ADMIT" | "预约" | "预住院" => EncounterAction::PreAdmit,
        "A04" | "REGISTER" | "挂号" | "登记" => EncounterAction::Register,
        "A01" | "ADMIT" | "入院" => EncounterAction::Admit,
        "A02" | "TRANSFER" | "转科" => EncounterAction::Transfer,
        "A03" | "DISCHARGE" | "出院" | "离院" => EncounterAction::Discharge,
        "A08" | "UPDATE" | "更新" => EncounterAction::Update,
        "A11" | "CANCEL_ADMIT" | "取消入院" => EncounterAction::CancelAdmit,
        "CANCEL_REGISTER" | "退号" => EncounterAction::CancelRegister,
        "A12" | "CANCEL_TRANSFER" => EncounterAction::CancelTransfer,
        "A13" | "CANCEL_DISCHARGE" | "取消出院" => EncounterAction::CancelDischarge,
        _ => EncounterAction::Unknown,
    }
}

/// A diagnosis code system name to its family (the names `hub-hl7` recognises too).
pub fn diagnosis_code_system(raw: &str) -> DiagnosisCodeSystem {
    let n: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.' | '/'))
        .flat_map(char::to_uppercase)
        .collect();
    if n.contains("NHSA") || n.contains("医保") {
        DiagnosisCodeSystem::Icd10Nhsa20
    } else if n.contains("CLIN") || n.contains("国临") || n.contains("临床") {
        DiagnosisCodeSystem::Icd10GbClin20
    } else if n.contains("TCM") || n.contains("中医") {
        DiagnosisCodeSystem::Tcm
    } else if n.starts_with("ICD10") {
        DiagnosisCodeSystem::Icd10Other
    } else if n.contains("LOCAL") || n.contains("本院") {
        DiagnosisCodeSystem::Local
    } else {
        DiagnosisCodeSystem::Unknown
    }
}

/// The canonical system name of the two national ICD-10 versions; others as sent.
pub fn diagnosis_system_name(family: DiagnosisCodeSystem, sent: &str) -> String {
    match family {
        DiagnosisCodeSystem::Icd10GbClin20 => "ICD-10-GB-CLIN-2.0".to_owned(),
        DiagnosisCodeSystem::Icd10Nhsa20 => "ICD-10-NHSA-2.0".to_owned(),
        _ => sent.to_owned(),
    }
}

/// Diagnosis role: HL7 0052 letters, vendor digits or words.
pub fn diagnosis_type(raw: &str) -> DiagnosisType {
    match norm(raw).as_str() {
        "1" | "OUTPATIENT" | "门诊" | "门急诊" => DiagnosisType::Outpatient,
        "2" | "A" | "ADMITTING" | "入院" => DiagnosisType::Admitting,
        "3" | "PRINCIPAL" | "主要" | "出院主要" => DiagnosisType::Principal,
        "4" | "SECONDARY" | "其他" | "次要" | "出院其他" => DiagnosisType::Secondary,
        "5" | "W" | "PRELIMINARY" | "初步" => DiagnosisType::Preliminary,
        "" => DiagnosisType::Unknown,
        _ => DiagnosisType::Other,
    }
}

/// Abnormal flag: HL7 0078 letters, arrows, or words.
pub fn abnormal_flag(raw: &str) -> AbnormalFlag {
    match norm(raw).as_str() {
        "N" | "正常" => AbnormalFlag::Normal,
        "L" | "↓" | "偏低" => AbnormalFlag::Low,
        "H" | "↑" | "偏高" => AbnormalFlag::High,
        "LL" | "↓↓" => AbnormalFlag::CriticalLow,
        "HH" | "↑↑" => AbnormalFlag::CriticalHigh,
        "AA" | "危急" => AbnormalFlag::CriticalAbnormal,
        "A" | "异常" => AbnormalFlag::Abnormal,
        _ => AbnormalFlag::Unknown,
    }
}

/// Result status: HL7 0085 letters or words.
pub fn lab_status(raw: &str) -> LabResultStatus {
    match norm(raw).as_str() {
        "F" | "FINAL" | "已审核" | "审核" => LabResultStatus::Final,
        "P" | "PRELIMINARY" | "初步" => LabResultStatus::Preliminary,
        "C" | "CORRECTED" | "更正" => LabResultStatus::Corrected,
        "X" | "D" | "CANCELLED" | "作废" => LabResultStatus::Cancelled,
        _ => LabResultStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_databases_render_them() {
        let cst = parse_time("2026-11-25 09:41:27").unwrap();
        assert_eq!(cst, parse_time("2026-11-25 01:41:27+00").unwrap());
        assert_eq!(cst, parse_time("2026-11-25T09:41:27+08:00").unwrap());
        assert_eq!(cst, parse_time("20261125094127").unwrap());
        assert_eq!(cst + 123, parse_time("2026-11-25 09:41:27.123456").unwrap());
        assert_eq!(
            parse_time("2026-11-25").unwrap(),
            parse_time("2026-11-25 00:00:00").unwrap()
        );
        assert!(parse_time("yesterday").is_none());
        assert_eq!(
            parse_date("19491231"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
    }

    #[test]
    fn codes_in_three_dialects() {
        assert_eq!(encounter_class("住院"), EncounterClass::Inpatient);
        assert_eq!(encounter_class("O"), EncounterClass::Outpatient);
        assert_eq!(encounter_action("出院"), EncounterAction::Discharge);
        assert_eq!(sex_code("女"), Some("2"));
        assert_eq!(
            diagnosis_code_system("ICD-10 国临版 2.0"),
            DiagnosisCodeSystem::Icd10GbClin20
        );
        assert_eq!(abnormal_flag("↑↑"), AbnormalFlag::CriticalHigh);
        assert_eq!(lab_status("已审核"), LabResultStatus::Final);
        assert!(flag("是") && !flag("0"));
    }
}
