//! A bounded, short-lived cache of identifier → person decisions.
//!
//! Most messages are about patients the EMPI already knows by every identifier they carry. For
//! those, the answer is a lookup, and a database round trip per message (about a millisecond
//! with its locks) would cap the normaliser near a thousand messages a second. The cache answers
//! them from memory when every identifier of the message is cached for the same person.
//!
//! Staleness is bounded: entries expire after [`TTL`], and merges done through this EMPI drop the
//! merged person's entries at once. A merge done by another instance can leave a cached link to
//! the merged-away person for at most the TTL; that id stays valid (the record re-keys a merged
//! person's history to the survivor), so nothing is lost or mislinked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::keys::{IdentifierKind, IdentityKeys};

/// How long a cached decision is trusted.
pub const TTL: Duration = Duration::from_secs(60);
/// Most entries kept; the cache is cleared when full (simple and bounded).
const CAPACITY: usize = 200_000;

/// The cache.
#[derive(Debug, Default)]
pub struct IdentityCache {
    entries: Mutex<HashMap<(IdentifierKind, String), (String, Instant)>>,
}

impl IdentityCache {
    /// The person every identifier of `keys` is cached for, if they all agree and none expired.
    /// Patients without identifiers are never answered from the cache.
    pub fn lookup(&self, keys: &IdentityKeys) -> Option<String> {
        if keys.identifiers.is_empty() || keys.invalid_id_number {
            return None;
        }
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut person: Option<&str> = None;
        for (kind, key) in &keys.identifiers {
            let (cached, at) = entries.get(&(*kind, key.clone()))?;
            if at.elapsed() > TTL || person.is_some_and(|p| p != cached) {
                return None;
            }
            person = Some(cached);
        }
        person.map(str::to_owned)
    }

    /// Remembers that every identifier of `keys` belongs to `person`.
    pub fn remember(&self, keys: &IdentityKeys, person: &str) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() + keys.identifiers.len() > CAPACITY {
            entries.clear();
        }
        let now = Instant::now();
        for (kind, key) in &keys.identifiers {
            entries.insert((*kind, key.clone()), (person.to_owned(), now));
        }
    }

    /// Forgets every entry pointing at `person` (it was merged away).
    pub fn forget_person(&self, person: &str) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|_, (cached, _)| cached != person);
    }
}
