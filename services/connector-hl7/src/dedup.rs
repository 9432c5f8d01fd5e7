//! A bounded memory of recently stored keys, to count resends (same facility + MSH-10).
//!
//! Resends are still written and acknowledged (the sender needs its ACK, and downstream
//! de-duplicates by key); this only measures them. Memory is bounded twice: keys older than the
//! window are forgotten, and at most `capacity` keys are kept (oldest first out).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Recently stored keys.
#[derive(Debug)]
pub struct RecentKeys {
    window: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Key -> generation of its latest insertion.
    latest: HashMap<String, u64>,
    /// Insertions in time order: (generation, when, key).
    order: VecDeque<(u64, Instant, String)>,
    generation: u64,
}

impl RecentKeys {
    /// Remembers keys for `window`, at most `capacity` of them.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records `key` as stored now; returns whether it was already stored within the window.
    pub fn insert(&self, key: &str, now: Instant) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return false; // A poisoned lock only costs the duplicate count.
        };
        let inner = &mut *inner;
        while let Some((generation, at, _)) = inner.order.front() {
            let expired = now.saturating_duration_since(*at) > self.window;
            if !expired && inner.order.len() < self.capacity {
                break;
            }
            let generation = *generation;
            if let Some((_, _, old)) = inner.order.pop_front()
                && inner.latest.get(&old) == Some(&generation)
            {
                inner.latest.remove(&old);
            }
        }
        inner.generation += 1;
        let generation = inner.generation;
        let seen = inner.latest.insert(key.to_owned(), generation).is_some();
        inner.order.push_back((generation, now, key.to_owned()));
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_resends_within_window_and_capacity() {
        let keys = RecentKeys::new(Duration::from_secs(10), 3);
        let t0 = Instant::now();
        assert!(!keys.insert("H1:a", t0));
        assert!(keys.insert("H1:a", t0));
        assert!(!keys.insert("H2:a", t0));
        assert!(!keys.insert("H1:b", t0));
        assert!(!keys.insert("H1:c", t0));
        // Capacity 3: the oldest entries went first, "H1:a" is forgotten.
        assert!(!keys.insert("H1:a", t0));
        assert!(keys.insert("H1:c", t0));
        // Time window.
        let later = t0 + Duration::from_secs(11);
        assert!(!keys.insert("H1:c", later));
        let inner = keys.inner.lock().unwrap();
        assert!(inner.order.len() <= 3 && inner.latest.len() <= 3);
    }
}
