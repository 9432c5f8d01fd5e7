//! Avro on the wire for the county health hub.
//!
//! - [`wire`]: the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary).
//! - [`codec`]: typed encode/decode of canonical events on the fast path (`serde_avro_fast`);
//!   `apache-avro` stays for schema parsing and compatibility checks, where it is the only
//!   Rust implementation.
//! - [`registry`]: a small client for the Confluent Schema Registry REST API (ours or
//!   Confluent's own), caching ids and schemas so that the hot path never calls it.
//! - [`canonical`]: registering the whole canonical contract at start-up, and
//!   [`CanonicalCodecs`] for services that encode or decode every entity.

pub mod canonical;
mod canonical_codecs;
pub mod codec;
pub mod registry;
pub mod wire;

pub use canonical_codecs::CanonicalCodecs;
pub use codec::{CodecError, EventCodec};
pub use registry::{RegistryClient, RegistryError};
pub use wire::{WireError, frame, unframe};
