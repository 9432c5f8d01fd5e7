//! [`Terminology::apply`]: what the terminology does to each canonical event.
//!
//! - **LabResult**: a local item code (`test.system` not a target system of `lab-codes.csv`) is
//!   looked up by (`facility_code`, code), then (`*`, code). When found, `test` becomes the county
//!   dictionary or LOINC concept, the code as sent moves to `test_original` and
//!   `terminology_version` says which map did it: consumers read one code system and the
//!   original is never lost. When not found, `test` stays as sent and the code is reported
//!   unmapped.
//! - **Diagnosis**: a national clinical 2.0 code (国临版, the medical record's own code) stays
//!   as it is, because the record is clinical; its insurance 2.0 (医保版) equivalent is added in
//!   `insurance_diagnosis`, so diagnoses compare with settlement diagnoses (DRG/DIP, outflow by
//!   disease). Other code systems need no mapping.
//! - **Settlement**: the insurance context. Its diagnoses must be insurance 2.0: a clinical 2.0
//!   code (sent by a HIS copy of a settlement) is replaced by its insurance concept; unmapped
//!   ones stay and are reported. The raw topic keeps the original.
//! - **Referral**: when `direction` is `UNKNOWN`, it is derived from the tiers of the two
//!   facilities (village < township/community < county hospitals < out of county): up, down or
//!   lateral. A direction sent by the source is kept. Without both facilities in the registry
//!   (or with a pharmacy) it stays `UNKNOWN`.
//! - Every event: a `facility_code` (and referral or settlement facility) missing from the
//!   registry is reported in [`MapOutcome::unknown_facilities`]; the normaliser decides.

use hub_schemas::{AnyEvent, CodedValue, Diagnosis, DiagnosisCodeSystem, LabResult};
use hub_schemas::{Referral, ReferralDirection, Settlement};

use crate::codes::{ICD10_CLINICAL_SYSTEM, ICD10_FILE, LAB_CODES_FILE};
use crate::{Concept, Terminology};

/// A code that was looked up and not found: it stays in the event as sent, and the normaliser
/// counts it per facility (the unmapped-code ratio). `code` is unbounded: aggregate it for a
/// report, never use it as a metric label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedCode {
    /// The map that was consulted: `lab-codes.csv` or `icd10-clinical-to-insurance.csv`.
    pub map: &'static str,
    /// The code system as sent, e.g. `LOCAL-LIS`, `ICD-10-GB-CLIN-2.0`.
    pub system: String,
    /// The code as sent.
    pub code: String,
    /// The facility whose code it is (the event's facility).
    pub facility: String,
}

/// What [`Terminology::apply`] did to one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapOutcome {
    /// How many codes were looked up (mapped plus unmapped): the ratio's denominator.
    pub looked_up: u32,
    /// The codes not found, kept as sent.
    pub unmapped: Vec<UnmappedCode>,
    /// Facility codes of the event that are not in the registry (each once).
    pub unknown_facilities: Vec<String>,
}

impl MapOutcome {
    fn unknown_facility(&mut self, terminology: &Terminology, code: &str) {
        if terminology.facility(code).is_none()
            && !self.unknown_facilities.iter().any(|c| c == code)
        {
            self.unknown_facilities.push(code.to_owned());
        }
    }

    fn unmapped(&mut self, map: &'static str, value: &CodedValue, facility: &str) {
        self.unmapped.push(UnmappedCode {
            map,
            system: value.system.clone(),
            code: value.code.clone(),
            facility: facility.to_owned(),
        });
    }
}

impl Terminology {
    /// Maps the codes of `event` in place (see the module docs for what each type gets) and
    /// reports what could not be mapped. Never drops or rejects anything. Idempotent: applying
    /// twice changes nothing more and looks nothing up again.
    pub fn apply(&self, event: &mut AnyEvent) -> MapOutcome {
        let mut outcome = MapOutcome::default();
        match event {
            AnyEvent::LabResult(lab) => self.apply_lab(lab, &mut outcome),
            AnyEvent::Diagnosis(diagnosis) => self.apply_diagnosis(diagnosis, &mut outcome),
            AnyEvent::Settlement(settlement) => self.apply_settlement(settlement, &mut outcome),
            AnyEvent::Referral(referral) => self.apply_referral(referral, &mut outcome),
            _ => {}
        }
        outcome.unknown_facility(self, facility_code(event));
        outcome
    }

    fn apply_lab(&self, lab: &mut LabResult, outcome: &mut MapOutcome) {
        if lab.test_original.is_some()
            || lab.test.code.is_empty()
            || self.lab.is_target_system(&lab.test.system)
        {
            return;
        }
        outcome.looked_up += 1;
        match self.lab.lookup(&lab.facility_code, &lab.test.code) {
            Some(concept) => {
                let original = std::mem::replace(&mut lab.test, coded(concept));
                lab.test_original = Some(original);
                lab.terminology_version = Some(self.lab_tag.clone());
            }
            None => outcome.unmapped(LAB_CODES_FILE, &lab.test, &lab.facility_code),
        }
    }

    fn apply_diagnosis(&self, diagnosis: &mut Diagnosis, outcome: &mut MapOutcome) {
        let clinical = diagnosis.code_system == DiagnosisCodeSystem::Icd10GbClin20
            || diagnosis.diagnosis.system == ICD10_CLINICAL_SYSTEM;
        if !clinical
            || diagnosis.insurance_diagnosis.is_some()
            || diagnosis.diagnosis.code.is_empty()
        {
            return;
        }
        outcome.looked_up += 1;
        match self.icd10.lookup(&diagnosis.diagnosis.code) {
            Some(concept) => {
                diagnosis.insurance_diagnosis = Some(coded(concept));
                diagnosis.terminology_version = Some(self.icd10_tag.clone());
            }
            None => outcome.unmapped(ICD10_FILE, &diagnosis.diagnosis, &diagnosis.facility_code),
        }
    }

    fn apply_settlement(&self, settlement: &mut Settlement, outcome: &mut MapOutcome) {
        outcome.unknown_facility(self, &settlement.fixmedins_code);
        for diagnosis in &mut settlement.diagnoses {
            if diagnosis.system != ICD10_CLINICAL_SYSTEM {
                continue;
            }
            outcome.looked_up += 1;
            match self.icd10.lookup(&diagnosis.code) {
                Some(concept) => *diagnosis = coded(concept),
                None => outcome.unmapped(ICD10_FILE, diagnosis, &settlement.fixmedins_code),
            }
        }
    }

    fn apply_referral(&self, referral: &mut Referral, outcome: &mut MapOutcome) {
        outcome.unknown_facility(self, &referral.from_facility_code);
        outcome.unknown_facility(self, &referral.to_facility_code);
        if referral.direction == ReferralDirection::Unknown {
            referral.direction =
                self.referral_direction(&referral.from_facility_code, &referral.to_facility_code);
        }
    }

    /// The direction of a referral from one registered facility to another, by tier: `UP`
    /// to a higher tier, `DOWN` to a lower one, `LATERAL` within a tier; `UNKNOWN` when either
    /// facility is unregistered or has no tier (pharmacy).
    pub fn referral_direction(&self, from: &str, to: &str) -> ReferralDirection {
        let tier = |code: &str| self.facility(code).and_then(|f| f.level.tier());
        match (tier(from), tier(to)) {
            (Some(a), Some(b)) if a < b => ReferralDirection::Up,
            (Some(a), Some(b)) if a > b => ReferralDirection::Down,
            (Some(_), Some(_)) => ReferralDirection::Lateral,
            _ => ReferralDirection::Unknown,
        }
    }
}

/// The reporting facility of any event.
fn facility_code(event: &AnyEvent) -> &str {
    match event {
        AnyEvent::Person(e) => &e.facility_code,
        AnyEvent::Encounter(e) => &e.facility_code,
        AnyEvent::Diagnosis(e) => &e.facility_code,
        AnyEvent::LabResult(e) => &e.facility_code,
        AnyEvent::ImagingStudy(e) => &e.facility_code,
        AnyEvent::ImagingReport(e) => &e.facility_code,
        AnyEvent::Settlement(e) => &e.facility_code,
        AnyEvent::Referral(e) => &e.facility_code,
        AnyEvent::IdentityLink(e) => &e.facility_code,
        AnyEvent::ClinicalAlert(e) => &e.facility_code,
    }
}

fn coded(concept: &Concept) -> CodedValue {
    CodedValue {
        code: concept.code.clone(),
        system: concept.system.clone(),
        display: concept.display.clone(),
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
