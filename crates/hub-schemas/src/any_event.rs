//! [`AnyEvent`]: one canonical event of any entity, as a stage produces them.

use crate::{
    CanonicalEvent, ClinicalAlert, Contract, Diagnosis, Encounter, IdentityLink, ImagingReport,
    ImagingStudy, LabResult, Person, Referral, Settlement,
};

/// A canonical event of any entity.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyEvent {
    /// `canonical.person.v1`
    Person(Person),
    /// `canonical.encounter.v1`
    Encounter(Encounter),
    /// `canonical.diagnosis.v1`
    Diagnosis(Diagnosis),
    /// `canonical.lab-result.v1`
    LabResult(LabResult),
    /// `canonical.imaging-study.v1`
    ImagingStudy(ImagingStudy),
    /// `canonical.imaging-report.v1`
    ImagingReport(ImagingReport),
    /// `canonical.settlement.v1`
    Settlement(Settlement),
    /// `canonical.referral.v1`
    Referral(Referral),
    /// `canonical.identity-link.v1`
    IdentityLink(IdentityLink),
    /// `canonical.clinical-alert.v1`
    ClinicalAlert(ClinicalAlert),
}

macro_rules! each_variant {
    ($self:expr, $event:ident => $body:expr) => {
        match $self {
            AnyEvent::Person($event) => $body,
            AnyEvent::Encounter($event) => $body,
            AnyEvent::Diagnosis($event) => $body,
            AnyEvent::LabResult($event) => $body,
            AnyEvent::ImagingStudy($event) => $body,
            AnyEvent::ImagingReport($event) => $body,
            AnyEvent::Settlement($event) => $body,
            AnyEvent::Referral($event) => $body,
            AnyEvent::IdentityLink($event) => $body,
            AnyEvent::ClinicalAlert($event) => $body,
        }
    };
}

impl AnyEvent {
    /// The entity's contract (topic, subject, schema).
    pub fn contract(&self) -> &'static Contract {
        fn of<T: CanonicalEvent>(_: &T) -> &'static Contract {
            &T::CONTRACT
        }
        each_variant!(self, e => of(e))
    }

    /// The deterministic event id.
    pub fn event_id(&self) -> &str {
        each_variant!(self, e => e.event_id.as_str())
    }

    /// The EMPI person id (empty until identity resolution filled it in).
    pub fn person_id(&self) -> &str {
        each_variant!(self, e => e.person_id.as_str())
    }

    /// Sets the EMPI person id, once identity resolution has decided it.
    pub fn set_person_id(&mut self, person_id: &str) {
        each_variant!(self, e => person_id.clone_into(&mut e.person_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_the_common_fields_of_every_entity() {
        let mut event = AnyEvent::LabResult(LabResult {
            event_id: "e1".into(),
            ..LabResult::default()
        });
        assert_eq!(event.contract().topic, "canonical.lab-result.v1");
        assert_eq!(event.event_id(), "e1");
        event.set_person_id("P-1");
        assert_eq!(event.person_id(), "P-1");
    }
}
