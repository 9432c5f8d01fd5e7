//! One registered codec per canonical entity.

use hub_avro::{CodecError, EventCodec, RegistryClient};
use hub_schemas::{
    AnyEvent, ClinicalAlert, Diagnosis, Encounter, IdentityLink, ImagingReport, ImagingStudy,
    LabResult, Person, Referral, Settlement,
};

/// The codecs of every canonical entity, registered with the schema registry at start-up.
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

    /// Codecs with fixed schema ids and no registry (benchmarks and tests that only encode).
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
    /// The event does not fit its schema (a mapping bug: dead-letter the input).
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
}
