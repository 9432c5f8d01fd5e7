//! EMPI decisions as `canonical.identity-link.v1` events.

use hub_empi::{Action, Decision, Method, Resolution};
use hub_mapping::{event_id, provenance};
use hub_schemas::raw::RawEnvelope;
use hub_schemas::{AnyEvent, IdentityLink, IdentityLinkAction, MatchMethod};

/// One identity-link event per decision, with ids derived from the message (a replay of the
/// message yields the same ids).
pub fn link_events(raw: &RawEnvelope, resolution: &Resolution) -> Vec<AnyEvent> {
    resolution
        .decisions
        .iter()
        .enumerate()
        .map(|(index, decision)| AnyEvent::IdentityLink(link_event(raw, index, decision)))
        .collect()
}

fn link_event(raw: &RawEnvelope, index: usize, decision: &Decision) -> IdentityLink {
    IdentityLink {
        event_id: event_id(raw, "identity-link", index),
        person_id: decision.person_id.clone(),
        facility_code: raw.facility.clone(),
        event_time: raw.received_at_ms,
        provenance: provenance(raw),
        action: action(decision.action),
        previous_person_id: decision.previous_person_id.clone(),
        surviving_person_id: decision.surviving_person_id.clone(),
        candidate_person_id: decision.candidate_person_id.clone(),
        match_method: method(decision.method),
        match_score: decision.score,
        review_id: decision.review_id.clone(),
        reason: decision.reason.clone(),
        ..IdentityLink::default()
    }
}

fn action(action: Action) -> IdentityLinkAction {
    match action {
        Action::Link => IdentityLinkAction::Link,
        Action::NewPerson => IdentityLinkAction::NewPerson,
        Action::Merge => IdentityLinkAction::Merge,
        Action::ReviewQueued => IdentityLinkAction::ReviewQueued,
        Action::ReviewResolved => IdentityLinkAction::ReviewResolved,
    }
}

fn method(method: Method) -> MatchMethod {
    match method {
        Method::IdNumber => MatchMethod::IdNumber,
        Method::FacilityMrn => MatchMethod::FacilityMrn,
        Method::InsuranceNumber => MatchMethod::InsuranceNumber,
        Method::HealthCard => MatchMethod::HealthCard,
        Method::Probabilistic => MatchMethod::Probabilistic,
        Method::Manual => MatchMethod::Manual,
        Method::Hl7Merge => MatchMethod::Hl7Merge,
        Method::NoMatch => MatchMethod::NoMatch,
    }
}
