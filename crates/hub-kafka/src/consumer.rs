//! At-least-once consumers: an offset is stored only after the work on its message is done.
//!
//! Auto-commit is on but auto offset *store* is off: librdkafka periodically commits what the
//! service explicitly stored, and [`HubConsumer::commit_stored`] commits synchronously at
//! shutdown. A crash between the work and the store repeats the message, never skips it; stages
//! make repeats harmless with deterministic event ids and idempotent writes.

use std::collections::{BTreeSet, HashMap};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::error::KafkaFailure;
use crate::settings::KafkaSettings;

/// What a consumer sees of transactional producers' output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Only committed transactions (every reader of `canonical.*` topics).
    ReadCommitted,
    /// Everything, including aborted records (raw topics have no transactions).
    ReadUncommitted,
}

/// A group consumer with explicit offset storage.
pub struct HubConsumer {
    inner: StreamConsumer,
    /// Partitions this process has read from: the first message of each is logged, with its
    /// offset, so that an operator (and the chaos test) can see where a restart resumed.
    started: std::sync::Mutex<HashMap<String, BTreeSet<i32>>>,
}

impl std::fmt::Debug for HubConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubConsumer").finish_non_exhaustive()
    }
}

impl HubConsumer {
    /// Joins `group_id` and subscribes to `topics`. A group with no committed offset starts at
    /// the beginning of each partition: a new stage processes everything that is there.
    ///
    /// # Errors
    /// Invalid configuration or topic list.
    pub fn subscribe(
        settings: &KafkaSettings,
        client_id: &str,
        group_id: &str,
        topics: &[&str],
        isolation: Isolation,
    ) -> Result<Self, KafkaFailure> {
        let mut config = settings.client_config(client_id);
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("session.timeout.ms", "10000")
            .set("queued.max.messages.kbytes", "65536")
            .set(
                "isolation.level",
                match isolation {
                    Isolation::ReadCommitted => "read_committed",
                    Isolation::ReadUncommitted => "read_uncommitted",
                },
            );
        if let Some(instance) = &settings.group_instance_id {
            config.set("group.instance.id", instance);
        }
        for (key, value) in &settings.librdkafka_options {
            config.set(key, value);
        }
        let inner: StreamConsumer = config.create()?;
        inner.subscribe(topics)?;
        Ok(Self {
            inner,
            started: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The next message.
    ///
    /// # Errors
    /// A consumer error (broker trouble is usually retried inside librdkafka and not surfaced).
    pub async fn recv(&self) -> Result<BorrowedMessage<'_>, KafkaFailure> {
        let message = self.inner.recv().await.map_err(KafkaFailure::from)?;
        self.note_first(&message);
        Ok(message)
    }

    fn note_first(&self, message: &BorrowedMessage<'_>) {
        let Ok(mut started) = self.started.lock() else {
            return;
        };
        // Looked up by `&str`: no allocation on the per-message path.
        let first = match started.get_mut(message.topic()) {
            Some(partitions) => partitions.insert(message.partition()),
            None => {
                started.insert(
                    message.topic().to_owned(),
                    BTreeSet::from([message.partition()]),
                );
                true
            }
        };
        if first {
            tracing::info!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                "First message read from this partition."
            );
        }
    }

    /// Records that `message` is fully processed: the group resumes after it.
    ///
    /// # Errors
    /// The partition is no longer assigned to this consumer (a rebalance happened); the message
    /// will be processed again by its new owner.
    pub fn done(&self, message: &BorrowedMessage<'_>) -> Result<(), KafkaFailure> {
        self.inner
            .store_offset_from_message(message)
            .map_err(KafkaFailure::from)
    }

    /// Stores `next_offset` (the offset of the next message to read) for a partition; used with
    /// [`OffsetLedger`] when work completes out of order.
    ///
    /// # Errors
    /// The partition is not assigned to this consumer.
    pub fn store(&self, topic: &str, partition: i32, next_offset: i64) -> Result<(), KafkaFailure> {
        // Not `store_offset`: librdkafka's `rd_kafka_offset_store` takes the offset of the last
        // processed *message* and stores one more, so passing the next offset to it skipped one
        // message per partition on every restart. `rd_kafka_offsets_store` stores what it is given.
        let mut positions = TopicPartitionList::with_capacity(1);
        positions
            .add_partition_offset(topic, partition, Offset::Offset(next_offset))
            .map_err(KafkaFailure::from)?;
        self.inner
            .store_offsets(&positions)
            .map_err(KafkaFailure::from)
    }

    /// Commits every stored offset now and waits for the broker (at shutdown or after a batch).
    ///
    /// # Errors
    /// The commit failed; stored offsets will be committed by the next attempt or repeated.
    pub fn commit_stored(&self) -> Result<(), KafkaFailure> {
        match self.inner.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored since the last commit is not a failure.
            Err(e)
                if e.rdkafka_error_code() == Some(rdkafka::error::RDKafkaErrorCode::NoOffset) =>
            {
                Ok(())
            }
            other => other.map_err(KafkaFailure::from),
        }
    }

    /// The group's committed position per assigned partition (for tests and lag reporting).
    ///
    /// # Errors
    /// The coordinator cannot be reached.
    pub fn committed(&self) -> Result<Vec<(String, i32, Option<i64>)>, KafkaFailure> {
        let list: TopicPartitionList = self.inner.committed(std::time::Duration::from_secs(10))?;
        Ok(list
            .elements()
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (e.topic().to_owned(), e.partition(), offset)
            })
            .collect())
    }

    /// The underlying rdkafka consumer.
    pub fn inner(&self) -> &StreamConsumer {
        &self.inner
    }
}

/// Tracks messages in flight per partition when they may finish out of order, and says which
/// offset is safe to store: the lowest offset still in flight (everything before it is done).
#[derive(Debug, Default)]
pub struct OffsetLedger {
    pending: HashMap<(String, i32), BTreeSet<i64>>,
    highest: HashMap<(String, i32), i64>,
}

impl OffsetLedger {
    /// Records that work on `offset` has started. Offsets of a partition must start in order.
    pub fn start(&mut self, topic: &str, partition: i32, offset: i64) {
        let key = (topic.to_owned(), partition);
        self.pending.entry(key.clone()).or_default().insert(offset);
        let highest = self.highest.entry(key).or_insert(offset);
        *highest = (*highest).max(offset);
    }

    /// Records that work on `offset` is done and returns the offset to store now, if it moved:
    /// the next offset to read after every finished message with no unfinished one before it.
    pub fn finish(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        let key = (topic.to_owned(), partition);
        let pending = self.pending.get_mut(&key)?;
        let was_lowest = pending.first() == Some(&offset);
        if !pending.remove(&offset) || !was_lowest {
            return None;
        }
        match pending.first() {
            Some(lowest) => Some(*lowest),
            None => self.highest.get(&key).map(|h| h + 1),
        }
    }

    /// Number of messages still in flight.
    pub fn in_flight(&self) -> usize {
        self.pending.values().map(BTreeSet::len).sum()
    }
}

/// Reads a message's key and value into owned form without copying twice.
pub fn key_and_payload<'a>(message: &'a BorrowedMessage<'_>) -> (&'a [u8], &'a [u8]) {
    (
        message.key().unwrap_or_default(),
        message.payload().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_stores_only_past_contiguous_finished_work() {
        let mut ledger = OffsetLedger::default();
        for offset in 10..14 {
            ledger.start("t", 0, offset);
        }
        assert_eq!(ledger.finish("t", 0, 12), None, "10 and 11 still running");
        assert_eq!(ledger.finish("t", 0, 10), Some(11));
        assert_eq!(ledger.finish("t", 0, 11), Some(13), "12 was already done");
        assert_eq!(ledger.finish("t", 0, 13), Some(14));
        assert_eq!(ledger.in_flight(), 0);
        assert_eq!(
            ledger.finish("t", 0, 13),
            None,
            "finishing twice moves nothing"
        );
        assert_eq!(ledger.finish("other", 0, 1), None);
    }

    #[test]
    fn ledger_keeps_partitions_apart() {
        let mut ledger = OffsetLedger::default();
        ledger.start("t", 0, 5);
        ledger.start("t", 1, 5);
        assert_eq!(ledger.finish("t", 1, 5), Some(6));
        assert_eq!(ledger.in_flight(), 1);
    }
}
