//! The contract between source-format mappings (HL7 v2, NHSA settlement JSON, DICOM metadata,
//! front-end table rows) and the normaliser that runs them.
//!
//! A mapping is a pure function from a [`RawEnvelope`] to a [`Mapped`]: the canonical events the
//! message yields, with `person_id` still empty, and the [`PatientRef`] they are about. The
//! normaliser then resolves the patient to a hub person id (the EMPI), fills it in, maps codes
//! (terminology) and produces the events. A message that cannot be mapped returns a
//! [`MapError`] whose bounded `code` becomes the dead-letter error code.

use hub_identity::PatientRef;
use hub_schemas::raw::RawEnvelope;
use hub_schemas::{AnyEvent, Provenance};

/// What one raw message yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    /// Who the events are about (absent for messages about no one in particular).
    pub patient: Option<PatientRef>,
    /// For merges (HL7 A40 MRG): the patient record that is merged into `patient`.
    pub merged_patient: Option<PatientRef>,
    /// The canonical events, `person_id` empty until identity resolution fills it in.
    pub events: Vec<AnyEvent>,
}

/// Why a message cannot be mapped. The `code` is bounded snake_case (a metric label and the DLQ
/// `hub-error-code`); the `detail` explains it for an operator and never contains personal data
/// (segment and field names, counts and lengths only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct MapError {
    /// Bounded error code, e.g. `hl7_missing_pid`, `hl7_unsupported_message_type`.
    pub code: &'static str,
    /// Explanation without personal data.
    pub detail: String,
}

impl MapError {
    /// A mapping error.
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// The deterministic event id of the `index`-th `entity` event derived from a message:
/// `<facility>:<message id>:<entity>:<index>`. A replay of the same raw message yields the same
/// ids, so downstream upserts converge instead of duplicating.
pub fn event_id(raw: &RawEnvelope, entity: &str, index: usize) -> String {
    format!("{}:{}:{entity}:{index}", raw.facility, raw.message_id)
}

/// The provenance of every event derived from `raw`.
pub fn provenance(raw: &RawEnvelope) -> Provenance {
    Provenance {
        source_topic: raw.topic.clone(),
        source_partition: raw.partition,
        source_offset: raw.offset,
        source_message_id: raw.message_id.clone(),
        received_at: raw.received_at_ms,
        synthetic: raw.synthetic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_deterministic_and_provenance_copies_the_envelope() {
        let raw = RawEnvelope {
            topic: "raw.lab.hl7v2".into(),
            partition: 1,
            offset: 7,
            facility: "H001".into(),
            message_id: "M42".into(),
            received_at_ms: 1000,
            synthetic: true,
            ..RawEnvelope::default()
        };
        assert_eq!(event_id(&raw, "lab-result", 3), "H001:M42:lab-result:3");
        assert_eq!(
            event_id(&raw, "lab-result", 3),
            event_id(&raw.clone(), "lab-result", 3)
        );
        let p = provenance(&raw);
        assert_eq!(
            (p.source_offset, p.source_message_id.as_str(), p.synthetic),
            (7, "M42", true)
        );
    }
}
