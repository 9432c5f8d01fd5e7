//! Per-key order for concurrent normalisation. Messages that share a Kafka key (one patient at
//! one facility, one settlement's bureau record) are normalised and enqueued in the order they
//! were read, one after another; messages of other keys run beside them. Kafka itself promises
//! order per key only, so this keeps every ordering a source can rely on (an admission before
//! its discharge, a registration before its merge) while the EMPI's round trips of different
//! patients overlap.

use std::collections::HashMap;

use futures::FutureExt;
use futures::future::Shared;
use tokio::sync::oneshot;

/// Completes when the previous message of the same key has been enqueued (or given up).
pub type Predecessor = Shared<oneshot::Receiver<()>>;

/// Held while a message is being normalised; dropping it lets the next message of its key go.
#[derive(Debug)]
pub struct Turn {
    _hand_on: oneshot::Sender<()>,
}

/// The last message of every key with work still in progress.
#[derive(Debug)]
pub struct KeyOrder {
    tails: HashMap<(String, Vec<u8>), Predecessor>,
    /// Keys are forgotten once their last message is done: the map is swept when it grows past
    /// this, which then doubles what is left (amortised constant work per message).
    sweep_at: usize,
}

/// The smallest map that is swept.
const SWEEP_ABOVE: usize = 4_096;

impl Default for KeyOrder {
    fn default() -> Self {
        Self {
            tails: HashMap::new(),
            sweep_at: SWEEP_ABOVE,
        }
    }
}

impl KeyOrder {
    /// Registers the next message of `key` on `topic`: what it must wait for (the previous
    /// message of the key, if one is still in progress), and its own turn to hand on.
    pub fn enter(&mut self, topic: &str, key: &[u8]) -> (Option<Predecessor>, Turn) {
        if self.tails.len() > self.sweep_at {
            self.tails.retain(|_, tail| !finished(tail));
            self.sweep_at = (self.tails.len() * 2).max(SWEEP_ABOVE);
        }
        let (hand_on, handed_on) = oneshot::channel();
        let previous = self
            .tails
            .insert((topic.to_owned(), key.to_vec()), handed_on.shared())
            .filter(|tail| !finished(tail));
        (previous, Turn { _hand_on: hand_on })
    }

    /// Keys with a message registered and not yet swept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.tails.len()
    }
}

/// Whether the message behind `tail` is done (polls it once, without waiting).
fn finished(tail: &Predecessor) -> bool {
    tail.clone().now_or_never().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_key_waits_for_its_predecessor_and_other_keys_do_not() {
        let mut order = KeyOrder::default();
        let (none, first) = order.enter("raw.his.hl7v2", b"H1:MRN1");
        assert!(
            none.is_none(),
            "the first message of a key waits for nothing"
        );
        let (after_first, second) = order.enter("raw.his.hl7v2", b"H1:MRN1");
        let (other, _other_turn) = order.enter("raw.his.hl7v2", b"H1:MRN2");
        assert!(other.is_none(), "another key does not wait");
        let (same_key_other_topic, _t) = order.enter("raw.lab.hl7v2", b"H1:MRN1");
        assert!(same_key_other_topic.is_none(), "keys are per topic");

        let after_first = after_first.expect("the second waits for the first");
        assert!(
            after_first.clone().now_or_never().is_none(),
            "not before the first is done"
        );
        let (after_second, _third) = order.enter("raw.his.hl7v2", b"H1:MRN1");
        drop(first);
        assert!(after_first.now_or_never().is_some(), "the first is done");
        let after_second = after_second.expect("the third waits for the second");
        assert!(after_second.clone().now_or_never().is_none());
        drop(second);
        assert!(after_second.now_or_never().is_some());
    }

    #[test]
    fn finished_keys_are_swept_and_wait_for_nothing() {
        let mut order = KeyOrder::default();
        for i in 0..=SWEEP_ABOVE {
            let (_, turn) = order.enter("t", format!("k{i}").as_bytes());
            drop(turn);
        }
        let (previous, _turn) = order.enter("t", b"k0");
        assert!(
            previous.is_none(),
            "a finished predecessor is not waited for"
        );
        assert!(order.len() <= 2, "swept: {} keys left", order.len());
    }
}
