//! [`CanonicalCodecs`]: one codec per canonical entity, for services that handle all of them.

use hub_schemas::{
    AnyEvent, ClinicalAlert, Diagnosis, Encounter, IdentityLink, ImagingReport, ImagingStudy,
    LabResult, Person, Referral, Settlement,
};

use crate::codec::{CodecError, EventCodec};
use crate::registry::RegistryClient;

/// The codecs of every canonical entity. Each writes with its registered schema id and decodes
/// any version, fetching (once) the writer schema of another version from the registry.
#[derive(Debug)]
pub struct CanonicalCodecs {
    person: EventCodec<Person>,
    encounter: EventCodec<Encounter>,
    diagnosis: EventCodec<Diagnosis>,
    lab_result: EventCodec<LabResult>,
    imaging_study: EventCodec<ImagingStudy>,
    imaging_report: EventCodec<ImagingReport>,
    settlement: EventCodec<Settlement>,
    referral: EventCodec<Referral>,
    identity_link: EventCodec<IdentityLink>,
    clinical_alert: EventCodec<ClinicalAlert>,
}

impl CanonicalCodecs {
    /// Registers every canonical schema (idempotent) and keeps the ids.
    ///
    /// # Errors
    /// The registry refuses a schema or cannot be reached.
    pub async fn register(registry: &RegistryClient) -> Result<Self, CodecError> {
        Ok(Self {
            person: EventCodec::register(registry.clone()).await?,
            encounter: EventCodec::register(registry.clone()).await?,
            diagnosis: EventCodec::register(registry.clone()).await?,
            lab_result: EventCodec::register(registry.clone()).await?,
            imaging_study: EventCodec::register(registry.clone()).await?,
            imaging_report: EventCodec::register(registry.clone()).await?,
            settlement: EventCodec::register(registry.clone()).await?,
            referral: EventCodec::register(registry.clone()).await?,
            identity_link: EventCodec::register(registry.clone()).await?,
            clinical_alert: EventCodec::register(registry.clone()).await?,
        })
    }

    /// Codecs with fixed schema ids 1 to 10 and no registry (benchmarks, tests that only encode).
    ///
    /// # Errors
    /// A committed schema does not parse.
    pub fn offline() -> Result<Self, CodecError> {
        Ok(Self {
            person: EventCodec::with_schema_id(1)?,
            encounter: EventCodec::with_schema_id(2)?,
            diagnosis: EventCodec::with_schema_id(3)?,
            lab_result: EventCodec::with_schema_id(4)?,
            imaging_study: EventCodec::with_schema_id(5)?,
            imaging_report: EventCodec::with_schema_id(6)?,
            settlement: EventCodec::with_schema_id(7)?,
            referral: EventCodec::with_schema_id(8)?,
            identity_link: EventCodec::with_schema_id(9)?,
            clinical_alert: EventCodec::with_schema_id(10)?,
        })
    }

    /// Encodes `event` in the Confluent wire format with its entity's schema.
    ///
    /// # Errors
    /// The event does not fit its schema.
    pub fn encode(&self, event: &AnyEvent) -> Result<Vec<u8>, CodecError> {
        match event {
            AnyEvent::Person(e) => self.person.encode(e),
            AnyEvent::Encounter(e) => self.encounter.encode(e),
            AnyEvent::Diagnosis(e) => self.diagnosis.encode(e),
            AnyEvent::LabResult(e) => self.lab_result.encode(e),
            AnyEvent::ImagingStudy(e) => self.imaging_study.encode(e),
            AnyEvent::ImagingReport(e) => self.imaging_report.encode(e),
            AnyEvent::Settlement(e) => self.settlement.encode(e),
            AnyEvent::Referral(e) => self.referral.encode(e),
            AnyEvent::IdentityLink(e) => self.identity_link.encode(e),
            AnyEvent::ClinicalAlert(e) => self.clinical_alert.encode(e),
        }
    }

    /// Decodes a payload of the canonical `entity` (the contract's entity name, e.g.
    /// `lab-result`); `None` for an unknown entity.
    ///
    /// # Errors
    /// Bad framing or data ([`CodecError::is_bad_data`]), or an unreachable registry.
    pub async fn decode(
        &self,
        entity: &str,
        payload: &[u8],
    ) -> Option<Result<AnyEvent, CodecError>> {
        Some(match entity {
            "person" => self.person.decode(payload).await.map(AnyEvent::Person),
            "encounter" => self
                .encounter
                .decode(payload)
                .await
                .map(AnyEvent::Encounter),
            "diagnosis" => self
                .diagnosis
                .decode(payload)
                .await
                .map(AnyEvent::Diagnosis),
            "lab-result" => self
                .lab_result
                .decode(payload)
                .await
                .map(AnyEvent::LabResult),
            "imaging-study" => self
                .imaging_study
                .decode(payload)
                .await
                .map(AnyEvent::ImagingStudy),
            "imaging-report" => self
                .imaging_report
                .decode(payload)
                .await
                .map(AnyEvent::ImagingReport),
            "settlement" => self
                .settlement
                .decode(payload)
                .await
                .map(AnyEvent::Settlement),
            "referral" => self.referral.decode(payload).await.map(AnyEvent::Referral),
            "identity-link" => self
                .identity_link
                .decode(payload)
                .await
                .map(AnyEvent::IdentityLink),
            "clinical-alert" => self
                .clinical_alert
                .decode(payload)
                .await
                .map(AnyEvent::ClinicalAlert),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_entity_round_trips_and_unknown_entities_are_none() {
        let codecs = CanonicalCodecs::offline().unwrap();
        for contract in hub_schemas::CANONICAL {
            let event = match contract.entity {
                "person" => AnyEvent::Person(Person::default()),
                "encounter" => AnyEvent::Encounter(Encounter::default()),
                "diagnosis" => AnyEvent::Diagnosis(Diagnosis::default()),
                "lab-result" => AnyEvent::LabResult(LabResult::default()),
                "imaging-study" => AnyEvent::ImagingStudy(ImagingStudy::default()),
                "imaging-report" => AnyEvent::ImagingReport(ImagingReport::default()),
                "settlement" => AnyEvent::Settlement(Settlement::default()),
                "referral" => AnyEvent::Referral(Referral::default()),
                "identity-link" => AnyEvent::IdentityLink(IdentityLink::default()),
                other => {
                    assert_eq!(other, "clinical-alert");
                    AnyEvent::ClinicalAlert(ClinicalAlert::default())
                }
            };
            assert_eq!(event.contract().entity, contract.entity);
            let bytes = codecs.encode(&event).unwrap();
            let back = codecs
                .decode(contract.entity, &bytes)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(back, event);
        }
        assert!(codecs.decode("nope", &[0, 0, 0, 0, 1]).await.is_none());
    }
}
