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
/// Expired entries are swept out once the map grows past this (and then past twice what was
/// left): amortised constant work per entry, and memory follows the last [`TTL`]'s traffic
/// instead of filling up to [`CAPACITY`] (the soak saw the normaliser grow by 18 MB in 30 min).
const SWEEP_ABOVE: usize = 4_096;

/// The cache.
#[derive(Debug)]
pub struct IdentityCache {
    entries: Mutex<Entries>,
}

#[derive(Debug)]
struct Entries {
    map: HashMap<(IdentifierKind, String), (String, Instant)>,
    sweep_at: usize,
}

impl Default for IdentityCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                sweep_at: SWEEP_ABOVE,
            }),
        }
    }
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
            let (cached, at) = entries.map.get(&(*kind, key.clone()))?;
            if at.elapsed() > TTL || person.is_some_and(|p| p != cached) {
                return None;
            }
            person = Some(cached);
        }
        person.map(str::to_owned)
    }

    /// Remembers that every identifier of `keys` belongs to `person`.
    pub fn remember(&self, keys: &IdentityKeys, person: &str) {
        self.remember_at(keys, person, Instant::now());
    }

    fn remember_at(&self, keys: &IdentityKeys, person: &str, now: Instant) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.map.len() > entries.sweep_at {
            entries
                .map
                .retain(|_, (_, at)| now.saturating_duration_since(*at) <= TTL);
            entries.sweep_at = (entries.map.len() * 2).max(SWEEP_ABOVE);
        }
        if entries.map.len() + keys.identifiers.len() > CAPACITY {
            entries.map.clear();
        }
        for (kind, key) in &keys.identifiers {
            entries
                .map
                .insert((*kind, key.clone()), (person.to_owned(), now));
        }
    }

    /// Entries held (expired ones included until the next sweep).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map
            .len()
    }

    /// Forgets every entry pointing at `person` (it was merged away).
    pub fn forget_person(&self, person: &str) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.map.retain(|_, (cached, _)| cached != person);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(i: usize) -> IdentityKeys {
        IdentityKeys {
            identifiers: vec![(IdentifierKind::Insurance, format!("psn-{i}"))],
            invalid_id_number: false,
            name_key: None,
            birth_date: None,
            sex_code: None,
            phone_key: None,
        }
    }

    #[test]
    fn expired_entries_are_swept_so_memory_follows_recent_traffic() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        // A steady stream: one new patient every 10 ms for 20 simulated minutes.
        for i in 0..120_000 {
            let at = start + Duration::from_millis(10 * i as u64);
            cache.remember_at(&keys(i), &format!("person-{i}"), at);
        }
        // 60 s of traffic is 6,000 live entries; the sweep keeps at most about twice that
        // (never the 120,000 ever seen).
        assert!(cache.len() <= 2 * 6_000 + SWEEP_ABOVE, "{}", cache.len());
        assert!(
            cache.len() >= 6_000,
            "recent entries are kept: {}",
            cache.len()
        );
    }

    #[test]
    fn a_cached_decision_answers_until_it_expires() {
        let cache = IdentityCache::default();
        cache.remember(&keys(1), "person-1");
        assert_eq!(cache.lookup(&keys(1)).as_deref(), Some("person-1"));
        assert_eq!(cache.lookup(&keys(2)), None);
        cache.forget_person("person-1");
        assert_eq!(cache.lookup(&keys(1)), None);
    }
}
