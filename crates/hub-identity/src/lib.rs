//! Resident identifiers of the county health hub.
//!
//! - [`ResidentId`]: the 18-character resident ID number of GB 11643-1999, validated with its
//!   ISO 7064 MOD 11-2 check character and a real birth date; legacy 15-digit numbers are
//!   upgraded. An invalid number is never used for matching and nothing is derived from it.
//! - [`mask`]: how identifiers are shown (`210102********1234`, `138****5678`, `张*`).
//! - [`Pseudonymizer`]: a keyed HMAC-SHA256 pseudonym where a join key is needed without the
//!   identifier itself. A plain hash would not do: the whole ID space (about 10^11 numbers) can
//!   be enumerated in minutes.

pub mod mask;
mod patient;
mod pseudonym;
mod resident_id;

pub use patient::PatientRef;
pub use pseudonym::Pseudonymizer;
pub use resident_id::{IdNumberError, ResidentId, Sex};
