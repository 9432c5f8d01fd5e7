//! One raw message to its canonical events: map, resolve the patient, add the identity-link
//! events, map codes. No Kafka here, so it can be tested and measured on its own.

use hub_empi::{Empi, EmpiError};
use hub_mapping::{MapError, Mapped};
use hub_schemas::AnyEvent;
use hub_schemas::raw::RawEnvelope;
use hub_terminology::Terminology;

use crate::identity_events::link_events;
use crate::metrics::Metrics;

/// Why a message produced no events.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The message itself is at fault: dead-letter it with this code and move on.
    #[error("{code}: {detail}")]
    BadData {
        /// Bounded error code.
        code: &'static str,
        /// Explanation without personal data.
        detail: String,
    },
    /// A dependency failed (database): retry the same message, never skip it.
    #[error("transient failure: {0}")]
    Transient(String),
}

impl From<MapError> for StageError {
    fn from(e: MapError) -> Self {
        Self::BadData {
            code: e.code,
            detail: e.detail,
        }
    }
}

impl From<EmpiError> for StageError {
    fn from(e: EmpiError) -> Self {
        if e.is_bad_data() {
            Self::BadData {
                code: "identity_unidentifiable",
                detail: e.to_string(),
            }
        } else {
            Self::Transient(e.to_string())
        }
    }
}

/// The stateful parts of normalisation: the EMPI and the terminology.
#[derive(Debug)]
pub struct Pipeline {
    empi: Empi,
    terminology: Terminology,
    metrics: Metrics,
}

impl Pipeline {
    /// A pipeline over an EMPI and a loaded terminology.
    pub fn new(empi: Empi, terminology: Terminology, metrics: Metrics) -> Self {
        Self {
            empi,
            terminology,
            metrics,
        }
    }

    /// The canonical events of `raw`, person ids filled in, codes mapped.
    ///
    /// # Errors
    /// [`StageError::BadData`] for input that cannot be mapped; [`StageError::Transient`] when
    /// the EMPI's database fails.
    pub async fn normalise(&self, raw: &RawEnvelope) -> Result<Vec<AnyEvent>, StageError> {
        if raw.facility.is_empty() || raw.message_id.is_empty() {
            return Err(StageError::BadData {
                code: "envelope_incomplete",
                detail: "hub-facility or hub-message-id header missing".into(),
            });
        }
        // A care facility must be registered. The insurance bureau is not a facility: its records
        // name facilities anywhere in the country (out-of-county care is what they show), and the
        // bureau itself is authenticated by its connector token.
        if raw.source != "insurance" && self.terminology.facility(&raw.facility).is_none() {
            return Err(StageError::BadData {
                code: "unknown_facility",
                detail: "the sending facility is not in the facility registry".into(),
            });
        }
        let Mapped {
            patient,
            merged_patient,
            mut events,
        } = map(raw)?;
        let seed = format!("{}:{}", raw.facility, raw.message_id);
        let resolution = match (&patient, &merged_patient) {
            (Some(survivor), Some(merged)) => Some(self.empi.merge(survivor, merged, &seed).await?),
            (Some(patient), None) => Some(self.empi.resolve(patient, &seed).await?),
            (None, _) => None,
        };
        if let Some(resolution) = &resolution {
            for event in &mut events {
                event.set_person_id(&resolution.person_id);
            }
            for decision in &resolution.decisions {
                self.metrics
                    .identity
                    .with_label_values(&[
                        &format!("{:?}", decision.action),
                        &format!("{:?}", decision.method),
                    ])
                    .inc();
            }
            events.extend(link_events(raw, resolution));
        } else if events.iter().any(|e| e.person_id().is_empty()) {
            return Err(StageError::BadData {
                code: "no_patient",
                detail: "the message has events but identifies no patient".into(),
            });
        }
        for event in &mut events {
            let outcome = self.terminology.apply(event);
            let unmapped = outcome.unmapped.len() as u64;
            let mapped = u64::from(outcome.looked_up).saturating_sub(unmapped);
            let codes = &self.metrics.codes;
            codes
                .with_label_values(&[raw.facility.as_str(), "mapped"])
                .inc_by(mapped);
            codes
                .with_label_values(&[raw.facility.as_str(), "unmapped"])
                .inc_by(unmapped);
        }
        Ok(events)
    }
}

/// Chooses the mapping by the raw topic's format (`raw.<source>.<format>`).
fn map(raw: &RawEnvelope) -> Result<Mapped, MapError> {
    match raw.topic.rsplit('.').next() {
        Some("hl7v2") => hub_hl7::map_hl7(raw),
        Some("settlement") => hub_settlement::map_settlement(raw),
        Some("table") => hub_table::map_table_row(raw),
        Some("dicom") => hub_dicom_map::map_dicom(raw),
        _ => Err(MapError::new(
            "unsupported_format",
            "no mapping for this raw topic's format",
        )),
    }
}
