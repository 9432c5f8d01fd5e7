//! [`PatientRef`]: what a source message says about who it is about, before identity resolution.

use chrono::NaiveDate;

/// The identifying data one message carries about its patient, as the mapping step extracted
/// it. Identity resolution (the EMPI) turns it into a hub person id. Personal data: never log it
/// (its `Debug` output is masked).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PatientRef {
    /// The facility whose record numbers these are (the sender).
    pub facility_code: String,
    /// The facility's patient id / medical record number (HL7 PID-3 with type MR or PI).
    pub mrn: Option<String>,
    /// The resident ID number exactly as sent (validated by the EMPI, never trusted as is).
    pub id_number: Option<String>,
    /// The insurance person number (NHSA `psn_no`).
    pub insurance_number: Option<String>,
    /// The electronic health card number.
    pub health_card: Option<String>,
    /// Name as sent.
    pub name: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// GB/T 2261.1 sex code as sent.
    pub sex_code: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

impl std::fmt::Debug for PatientRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let present = |v: &Option<String>| if v.is_some() { "<present>" } else { "<absent>" };
        f.debug_struct("PatientRef")
            .field("facility_code", &self.facility_code)
            .field("mrn", &present(&self.mrn))
            .field(
                "id_number",
                &self.id_number.as_deref().map(crate::mask::id_number),
            )
            .field("insurance_number", &present(&self.insurance_number))
            .field("health_card", &present(&self.health_card))
            .field("name", &self.name.as_deref().map(crate::mask::name))
            .field("birth_date", &self.birth_date.map(|_| "<present>"))
            .field("sex_code", &self.sex_code)
            .field("phone", &self.phone.as_deref().map(crate::mask::phone))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_personal_data() {
        let patient = PatientRef {
            facility_code: "H001".into(),
            mrn: Some("MRN-778899".into()),
            id_number: Some("11010519491231002X".into()),
            name: Some("张三".into()),
            phone: Some("13800138000".into()),
            birth_date: NaiveDate::from_ymd_opt(1949, 12, 31),
            ..PatientRef::default()
        };
        let shown = format!("{patient:?}");
        for secret in [
            "MRN-778899",
            "11010519491231002X",
            "张三",
            "13800138000",
            "1949",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }
}
