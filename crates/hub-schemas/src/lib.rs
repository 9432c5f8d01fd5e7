//! The canonical Avro contract of the county health hub.
//!
//! `schemas/canonical/*.avsc` is the single source of truth. `build.rs` generates one Rust type
//! per Avro record and enum from those files on every build, so the types cannot drift from the
//! contract; the tests below check the generated types against the files once more, field by
//! field, through two independent Avro implementations.
//!
//! Each top-level record implements [`CanonicalEvent`], which ties it to its [`Contract`]: the
//! schema text, the topic `canonical.<entity>.v1` and the registry subject `<topic>-value`.

#![allow(missing_docs)] // The generated items carry the schema's own docs.

/// Where a canonical entity lives: its schema text, topic and registry subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// The entity's file stem, e.g. `lab-result`.
    pub entity: &'static str,
    /// The Kafka topic, `canonical.<entity>.v1`.
    pub topic: &'static str,
    /// The schema-registry subject, `<topic>-value` (Confluent's TopicNameStrategy).
    pub subject: &'static str,
    /// The Avro record name (without namespace), which is also the Rust type name.
    pub record: &'static str,
    /// The `.avsc` text exactly as committed.
    pub schema: &'static str,
}

/// A top-level canonical record: one event on a `canonical.*` topic.
pub trait CanonicalEvent:
    serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
    /// The record's schema, topic and subject.
    const CONTRACT: Contract;
    /// The deterministic event id (same source message, same id: replays converge).
    fn event_id(&self) -> &str;
    /// The EMPI person id, which is also the Kafka key of canonical topics.
    fn person_id(&self) -> &str;
}

include!(concat!(env!("OUT_DIR"), "/canonical.rs"));

mod any_event;
pub mod raw;
pub mod topics;

pub use any_event::AnyEvent;

/// Looks up a contract by its topic name.
pub fn contract_for_topic(topic: &str) -> Option<&'static Contract> {
    CANONICAL.iter().copied().find(|c| c.topic == topic)
}

#[cfg(test)]
mod tests;
