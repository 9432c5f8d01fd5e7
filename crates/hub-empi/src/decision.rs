//! What the EMPI decided, for publication as identity-link events.

/// The kind of decision (mirrors the identity-link event's `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Linked to an existing person.
    Link,
    /// A new person was created.
    NewPerson,
    /// A person was merged into another.
    Merge,
    /// A grey-zone match was queued for review (the patient got a provisional person).
    ReviewQueued,
    /// A reviewer decided a queued match.
    ReviewResolved,
}

/// How the person was found (mirrors the identity-link event's `match_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A valid resident ID number.
    IdNumber,
    /// The facility's medical record number.
    FacilityMrn,
    /// The insurance person number.
    InsuranceNumber,
    /// The health card number (counted with the insurance-style identifiers).
    HealthCard,
    /// A scored match on name, birth date, sex and phone.
    Probabilistic,
    /// A reviewer.
    Manual,
    /// An HL7 merge message.
    Hl7Merge,
    /// Nothing matched.
    NoMatch,
}

/// One decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What happened.
    pub action: Action,
    /// How.
    pub method: Method,
    /// The person the decision results in.
    pub person_id: String,
    /// For merges: the person merged away.
    pub previous_person_id: Option<String>,
    /// For merges: the survivor.
    pub surviving_person_id: Option<String>,
    /// For reviews: the existing person the patient may be.
    pub candidate_person_id: Option<String>,
    /// For scored matches: the score in [0, 1].
    pub score: Option<f64>,
    /// For reviews: the review's id.
    pub review_id: Option<String>,
    /// A short reason without personal data (e.g. `invalid resident ID number ignored`).
    pub reason: Option<String>,
}

impl Decision {
    pub(crate) fn new(action: Action, method: Method, person_id: &str) -> Self {
        Self {
            action,
            method,
            person_id: person_id.to_owned(),
            previous_person_id: None,
            surviving_person_id: None,
            candidate_person_id: None,
            score: None,
            review_id: None,
            reason: None,
        }
    }
}

/// The result of resolving one patient: the person id to put on the message's events, and the
/// decisions taken on the way (usually one).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The hub person id.
    pub person_id: String,
    /// The decisions, in order.
    pub decisions: Vec<Decision>,
}
