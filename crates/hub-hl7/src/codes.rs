//! HL7 v2 code values to hub vocabularies: sex, patient class, diagnosis code systems and
//! types, abnormal flags, result and order statuses. Unknown values map to `UNKNOWN` (or are
//! kept as sent where the target is a string), never to an error.

use hub_schemas::{
    AbnormalFlag, DiagnosisCodeSystem, DiagnosisType, EncounterClass, ImagingReportStatus,
    ImagingStudyStatus, LabResultStatus, ReferralDirection, ReferralStatus,
};

/// HL7 table 0001 (or a GB/T 2261.1 digit, or 男/女) to GB/T 2261.1; `None` when not
/// recognised.
pub fn sex_code(raw: &str) -> Option<&'static str> {
    Some(match raw.trim().to_ascii_uppercase().as_str() {
        "M" | "1" | "男" => "1",
        "F" | "2" | "女" => "2",
        "U" | "0" => "0",
        "5" => "5",
        "6" => "6",
        "O" | "A" | "N" | "9" => "9",
        _ => return None,
    })
}

/// PV1-2 patient class (HL7 table 0004, plus common local variants) to [`EncounterClass`].
pub fn encounter_class(raw: &str) -> EncounterClass {
    match raw.trim().to_ascii_uppercase().as_str() {
        "" => EncounterClass::Unknown,
        "O" | "R" | "门诊" => EncounterClass::Outpatient,
        "E" | "急诊" => EncounterClass::Emergency,
        // Preadmit and obstetrics are inpatient stays.
        "I" | "P" | "B" | "住院" => EncounterClass::Inpatient,
        "OBS" | "留观" => EncounterClass::Observation,
        "H" | "PE" | "体检" => EncounterClass::PhysicalExam,
        _ => EncounterClass::Other,
    }
}

/// A diagnosis coding system name (DG1-3.3, or DG1-2) to its family.
pub fn diagnosis_code_system(system: &str) -> DiagnosisCodeSystem {
    let n: String = system
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '/' | '.' | '(' | ')'))
        .flat_map(char::to_uppercase)
        .collect();
    if n.is_empty() {
        DiagnosisCodeSystem::Unknown
    } else if n.contains("NHSA") || n.contains("医保") {
        DiagnosisCodeSystem::Icd10Nhsa20
    } else if n.contains("CLIN") || n.contains("国临") || n.contains("临床版") {
        DiagnosisCodeSystem::Icd10GbClin20
    } else if n.contains("TCM") || n.contains("中医") || n.contains("GBT15657") {
        DiagnosisCodeSystem::Tcm
    } else if n.starts_with("ICD10") || n.starts_with("I10") || n.starts_with("GBT14396") {
        DiagnosisCodeSystem::Icd10Other
    } else if n == "L" || n.starts_with("99") || n.contains("LOCAL") || n.contains("本院") {
        DiagnosisCodeSystem::Local
    } else {
        DiagnosisCodeSystem::Unknown
    }
}

/// The canonical system name for the two national ICD-10 versions; other systems as sent.
pub fn diagnosis_system_name(family: DiagnosisCodeSystem, sent: &str) -> String {
    match family {
        DiagnosisCodeSystem::Icd10GbClin20 => "ICD-10-GB-CLIN-2.0".to_owned(),
        DiagnosisCodeSystem::Icd10Nhsa20 => "ICD-10-NHSA-2.0".to_owned(),
        _ => sent.to_owned(),
    }
}

/// DG1-6 (HL7 table 0052: A admitting, W working, F final) with the DG1-15 priority and the
/// visit class to [`DiagnosisType`]. A final (or untyped) diagnosis of an outpatient or
/// emergency visit is the outpatient diagnosis (门急诊诊断); an inpatient final diagnosis is
/// principal with priority 1, secondary otherwise; a working diagnosis is preliminary (初步诊断).
pub fn diagnosis_type(raw: &str, rank: Option<i32>, class: EncounterClass) -> DiagnosisType {
    let ambulatory = matches!(
        class,
        EncounterClass::Outpatient | EncounterClass::Emergency
    );
    match raw.trim().to_ascii_uppercase().as_str() {
        "A" => DiagnosisType::Admitting,
        "W" => DiagnosisType::Preliminary,
        "F" | "" if ambulatory => DiagnosisType::Outpatient,
        "F" if rank == Some(1) => DiagnosisType::Principal,
        "F" => DiagnosisType::Secondary,
        "" => DiagnosisType::Unknown,
        _ => DiagnosisType::Other,
    }
}

/// OBX-8 (HL7 table 0078, plus the arrows Chinese analysers print) to [`AbnormalFlag`].
/// Off-scale `<`/`>` count as low/high.
pub fn abnormal_flag(raw: &str) -> AbnormalFlag {
    match raw.trim().to_ascii_uppercase().as_str() {
        "N" => AbnormalFlag::Normal,
        "L" | "<" | "↓" => AbnormalFlag::Low,
        "H" | ">" | "↑" => AbnormalFlag::High,
        "LL" | "↓↓" => AbnormalFlag::CriticalLow,
        "HH" | "↑↑" => AbnormalFlag::CriticalHigh,
        "AA" => AbnormalFlag::CriticalAbnormal,
        "A" => AbnormalFlag::Abnormal,
        _ => AbnormalFlag::Unknown,
    }
}

/// True for the critical flags (HH, LL, AA).
pub fn is_critical(flag: AbnormalFlag) -> bool {
    matches!(
        flag,
        AbnormalFlag::CriticalHigh | AbnormalFlag::CriticalLow | AbnormalFlag::CriticalAbnormal
    )
}

/// OBX-11 / OBR-25 (HL7 tables 0085 / 0123) to [`LabResultStatus`].
pub fn lab_status(raw: &str) -> LabResultStatus {
    match raw.trim().to_ascii_uppercase().as_str() {
        "F" | "U" => LabResultStatus::Final,
        "P" | "R" | "S" | "I" | "A" => LabResultStatus::Preliminary,
        "C" => LabResultStatus::Corrected,
        "X" | "D" | "W" => LabResultStatus::Cancelled,
        _ => LabResultStatus::Unknown,
    }
}

/// OBR-25 to [`ImagingReportStatus`].
pub fn report_status(raw: &str) -> ImagingReportStatus {
    match lab_status(raw) {
        LabResultStatus::Final => ImagingReportStatus::Final,
        LabResultStatus::Preliminary => ImagingReportStatus::Preliminary,
        LabResultStatus::Corrected => ImagingReportStatus::Corrected,
        LabResultStatus::Cancelled => ImagingReportStatus::Cancelled,
        LabResultStatus::Unknown => ImagingReportStatus::Unknown,
    }
}

/// ORC-1 order control (table 0119) and ORC-5 order status (table 0038) to the study state.
/// A cancelling control wins; then the order status; then the control alone.
pub fn study_status(control: &str, order_status: &str, scheduled: bool) -> ImagingStudyStatus {
    let control = control.trim().to_ascii_uppercase();
    if matches!(control.as_str(), "CA" | "OC" | "CR" | "DC" | "OD" | "DR") {
        return ImagingStudyStatus::Cancelled;
    }
    match order_status.trim().to_ascii_uppercase().as_str() {
        "SC" => return ImagingStudyStatus::Scheduled,
        "IP" | "A" => return ImagingStudyStatus::InProgress,
        "CM" => return ImagingStudyStatus::Completed,
        "CA" | "DC" => return ImagingStudyStatus::Cancelled,
        _ => {}
    }
    match control.as_str() {
        "NW" | "XO" | "RO" | "OK" | "SN" | "NA" => ImagingStudyStatus::Ordered,
        "SC" if scheduled => ImagingStudyStatus::Scheduled,
        _ => ImagingStudyStatus::Unknown,
    }
}

/// OBR-24 / IPC-5 to a DICOM modality code; `None` for general sections such as `RAD`.
pub fn modality(raw: &str) -> Option<String> {
    let m = raw.trim().to_ascii_uppercase();
    match m.as_str() {
        "" | "RAD" | "RX" | "IMG" => None,
        "NMR" | "MRI" => Some("MR".to_owned()),
        "DR" => Some("DX".to_owned()),
        "EKG" => Some("ECG".to_owned()),
        _ if m.len() <= 4 && m.bytes().all(|b| b.is_ascii_alphanumeric()) => Some(m),
        _ => None,
    }
}

/// True when OBR-24 names a radiology section (routes an ORU from a non-RIS sender).
pub fn is_imaging_section(raw: &str) -> bool {
    let m = raw.trim().to_ascii_uppercase();
    m == "RAD"
        || (!m.is_empty() && modality(&m).is_some_and(|x| IMAGING_MODALITIES.contains(&x.as_str())))
}

const IMAGING_MODALITIES: &[&str] = &["CT", "MR", "DX", "CR", "US", "XA", "RF", "MG", "NM", "PT"];

/// RF1-1 (table 0283) and the trigger (I14 cancels) to [`ReferralStatus`].
pub fn referral_status(trigger: &str, raw: &str) -> ReferralStatus {
    if trigger == "I14" {
        return ReferralStatus::Cancelled;
    }
    match raw.trim().to_ascii_uppercase().as_str() {
        "A" => ReferralStatus::Accepted,
        "P" => ReferralStatus::Issued,
        "R" => ReferralStatus::Rejected,
        "E" | "C" | "CA" => ReferralStatus::Cancelled,
        "CM" | "F" => ReferralStatus::Completed,
        "" if trigger == "I12" => ReferralStatus::Issued,
        _ => ReferralStatus::Unknown,
    }
}

/// A direction word (UP/DOWN/LATERAL or 上转/下转/平转) to [`ReferralDirection`].
pub fn referral_direction(raw: &str) -> ReferralDirection {
    match raw.trim().to_ascii_uppercase().as_str() {
        "UP" | "U" | "上转" => ReferralDirection::Up,
        "DOWN" | "D" | "下转" => ReferralDirection::Down,
        "LATERAL" | "L" | "平转" | "横向" => ReferralDirection::Lateral,
        _ => ReferralDirection::Unknown,
    }
}
