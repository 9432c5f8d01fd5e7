//! One registered decoder per canonical entity.

use hub_avro::{CodecError, EventCodec, RegistryClient};
use hub_schemas::{
    AnyEvent, ClinicalAlert, Diagnosis, Encounter, IdentityLink, ImagingReport, ImagingStudy,
    LabResult, Person, Referral, Settlement,
};

/// The decoders of every canonical entity. Each knows its own schema id and fetches (once) the
/// writer schema of any other version from the registry.
#[derive(Debug)]
pub struct Codecs {
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

impl Codecs {
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

    /// Decodes a payload of the canonical `entity` (the contract's entity name); `None` for an
    /// entity this service does not know.
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
            "imaging-study" => {
                (self.imaging_study.decode(payload).await).map(AnyEvent::ImagingStudy)
            }
            "imaging-report" => {
                (self.imaging_report.decode(payload).await).map(AnyEvent::ImagingReport)
            }
            "settlement" => self
                .settlement
                .decode(payload)
                .await
                .map(AnyEvent::Settlement),
            "referral" => self.referral.decode(payload).await.map(AnyEvent::Referral),
            "identity-link" => {
                (self.identity_link.decode(payload).await).map(AnyEvent::IdentityLink)
            }
            "clinical-alert" => {
                (self.clinical_alert.decode(payload).await).map(AnyEvent::ClinicalAlert)
            }
            _ => return None,
        })
    }
}
