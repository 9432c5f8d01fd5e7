//! The enterprise master patient index (EMPI) of the county health hub.
//!
//! Every message names its patient in its own way: a resident ID number, the facility's medical
//! record number, an insurance number, or only a name, birth date, sex and phone. [`Empi::resolve`]
//! turns each [`PatientRef`](hub_identity::PatientRef) into one stable hub person id:
//!
//! 1. **Deterministic** on a known identifier, strongest first: a *valid* resident ID number
//!    (GB 11643 check; an invalid one is never used), the insurance number, the health card, the
//!    (facility, MRN) pair. New identifiers of the message are attached to that person.
//! 2. **Scored** on name, birth date, sex and phone otherwise ([`matcher`]): at or above the link
//!    threshold it links; in the grey zone it creates a provisional person and queues a review;
//!    below, it creates a new person. A candidate with a *different* valid resident ID number is
//!    never the same person.
//! 3. **Merges** (HL7 A40, a reviewer's decision) point the merged person at the survivor; lookups
//!    follow the pointer, so the merged person's identifiers find the survivor from then on.
//!
//! Every outcome is a [`Decision`], which the normaliser publishes as an identity-link event.
//! Concurrency: each resolution locks the keys it may create (PostgreSQL advisory locks, in sorted
//! order) inside one transaction, so two messages about the same new person never create two.
//! The state holds keyed pseudonyms only (see the migration), never a plain identifier.
//! Patients already known by every identifier they carry are answered from a short-lived
//! in-memory cache (see `cache.rs` for why that is safe).

mod cache;
mod decision;
mod keys;
pub mod matcher;
mod store;

pub use decision::{Action, Decision, Method, Resolution};
pub use keys::{IdentifierKind, IdentityKeys};
pub use store::{Empi, EmpiError, ReviewOutcome};
