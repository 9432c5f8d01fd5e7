//! The keys a patient is looked up by, as keyed pseudonyms.

use chrono::NaiveDate;
use hub_identity::{PatientRef, Pseudonymizer, ResidentId};

use crate::decision::Method;

/// The deterministic identifier kinds, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentifierKind {
    /// A valid resident ID number: one per person for life.
    ResidentId,
    /// The insurance person number.
    Insurance,
    /// The electronic health card.
    HealthCard,
    /// A facility's medical record number (with the facility code).
    FacilityMrn,
}

impl IdentifierKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ResidentId => "resident_id",
            Self::Insurance => "insurance",
            Self::HealthCard => "health_card",
            Self::FacilityMrn => "facility_mrn",
        }
    }

    /// The match method a link on this kind is reported as.
    pub const fn method(self) -> Method {
        match self {
            Self::ResidentId => Method::IdNumber,
            Self::Insurance => Method::InsuranceNumber,
            Self::HealthCard => Method::HealthCard,
            Self::FacilityMrn => Method::FacilityMrn,
        }
    }
}

/// Everything the EMPI uses of a [`PatientRef`], pseudonymised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityKeys {
    /// Deterministic identifiers, strongest first.
    pub identifiers: Vec<(IdentifierKind, String)>,
    /// Whether a resident ID number was sent but failed validation (it is then ignored).
    pub invalid_id_number: bool,
    /// Pseudonym of the normalised name.
    pub name_key: Option<String>,
    /// Birth date: from the message, or from a valid resident ID number when the message has none.
    pub birth_date: Option<NaiveDate>,
    /// GB/T 2261.1 sex code (`1` or `2` when known).
    pub sex_code: Option<String>,
    /// Pseudonym of the phone's digits.
    pub phone_key: Option<String>,
}

impl IdentityKeys {
    /// Derives the keys of `patient` under `pseudonyms`.
    pub fn derive(patient: &PatientRef, pseudonyms: &Pseudonymizer) -> Self {
        let mut identifiers = Vec::new();
        let mut invalid_id_number = false;
        let mut valid_id = None;
        if let Some(raw) = non_empty(&patient.id_number) {
            match ResidentId::parse(raw) {
                Ok(id) => {
                    identifiers.push((
                        IdentifierKind::ResidentId,
                        pseudonyms.pseudonym("resident-id", id.as_str()),
                    ));
                    valid_id = Some(id);
                }
                Err(_) => invalid_id_number = true,
            }
        }
        if let Some(number) = non_empty(&patient.insurance_number) {
            identifiers.push((
                IdentifierKind::Insurance,
                pseudonyms.pseudonym("insurance", number),
            ));
        }
        if let Some(card) = non_empty(&patient.health_card) {
            identifiers.push((
                IdentifierKind::HealthCard,
                pseudonyms.pseudonym("health-card", card),
            ));
        }
        if let Some(mrn) = non_empty(&patient.mrn) {
            let scoped = format!("{}\u{0}{mrn}", patient.facility_code);
            identifiers.push((
                IdentifierKind::FacilityMrn,
                pseudonyms.pseudonym("facility-mrn", &scoped),
            ));
        }
        let name_key = non_empty(&patient.name)
            .map(|name| pseudonyms.pseudonym("name", &normalise_name(name)));
        let phone_key = non_empty(&patient.phone)
            .map(|phone| {
                phone
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            })
            .filter(|digits| digits.len() >= 7)
            .map(|digits| pseudonyms.pseudonym("phone", &digits));
        let sex_code = non_empty(&patient.sex_code)
            .filter(|code| matches!(*code, "1" | "2"))
            .map(str::to_owned)
            .or_else(|| {
                valid_id
                    .as_ref()
                    .map(|id| id.sex().gb2261_code().to_owned())
            });
        let birth_date = patient
            .birth_date
            .or_else(|| valid_id.as_ref().map(ResidentId::birth_date));
        Self {
            identifiers,
            invalid_id_number,
            name_key,
            birth_date,
            sex_code,
            phone_key,
        }
    }

    /// The valid resident ID number's pseudonym, if any.
    pub fn resident_id(&self) -> Option<&str> {
        self.identifiers
            .iter()
            .find(|(kind, _)| *kind == IdentifierKind::ResidentId)
            .map(|(_, key)| key.as_str())
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Names compare without spaces (full-width or not) and case-insensitively for Latin letters.
fn normalise_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}' && *c != '·')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudonyms() -> Pseudonymizer {
        Pseudonymizer::new(b"test-key".to_vec())
    }

    #[test]
    fn invalid_id_numbers_are_flagged_and_never_used() {
        let patient = PatientRef {
            facility_code: "H1".into(),
            id_number: Some("210102199003077777".into()),
            mrn: Some("M1".into()),
            ..PatientRef::default()
        };
        let keys = IdentityKeys::derive(&patient, &pseudonyms());
        assert!(keys.invalid_id_number);
        assert_eq!(keys.identifiers.len(), 1);
        assert_eq!(keys.identifiers[0].0, IdentifierKind::FacilityMrn);
        assert_eq!(
            keys.birth_date, None,
            "nothing derived from an invalid number"
        );
    }

    #[test]
    fn a_valid_id_number_comes_first_and_fills_birth_date_and_sex() {
        let patient = PatientRef {
            facility_code: "H1".into(),
            id_number: Some("11010519491231002x".into()),
            mrn: Some("M1".into()),
            insurance_number: Some("I1".into()),
            ..PatientRef::default()
        };
        let keys = IdentityKeys::derive(&patient, &pseudonyms());
        let kinds: Vec<_> = keys.identifiers.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                IdentifierKind::ResidentId,
                IdentifierKind::Insurance,
                IdentifierKind::FacilityMrn
            ]
        );
        assert_eq!(keys.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(keys.sex_code.as_deref(), Some("2"));
    }

    #[test]
    fn the_same_mrn_at_two_facilities_is_two_identifiers() {
        let at = |facility: &str| PatientRef {
            facility_code: facility.into(),
            mrn: Some("000123".into()),
            ..PatientRef::default()
        };
        let a = IdentityKeys::derive(&at("H1"), &pseudonyms());
        let b = IdentityKeys::derive(&at("H2"), &pseudonyms());
        assert_ne!(a.identifiers, b.identifiers);
    }

    #[test]
    fn names_and_phones_are_normalised_before_pseudonymising() {
        let with = |name: &str, phone: &str| PatientRef {
            name: Some(name.into()),
            phone: Some(phone.into()),
            ..PatientRef::default()
        };
        let a = IdentityKeys::derive(&with("张 三", "138-0013-8000"), &pseudonyms());
        let b = IdentityKeys::derive(&with("张三", "13800138000"), &pseudonyms());
        assert_eq!((a.name_key, a.phone_key), (b.name_key, b.phone_key));
    }
}
