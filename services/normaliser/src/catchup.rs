//! When a bounded run (replay, re-drive) has caught up: the end offsets of its topic seen at
//! start, and how far the consumer has read each partition.
//!
//! The end offsets are not trusted alone: tansu 0.6 reports a high watermark short of the end
//! when the last records came in one batch (seen with a batch of two dead letters), so a run
//! that stopped at the watermark would leave the last records unread. The run is caught up once
//! every partition is read to its watermark *and* the end is confirmed: a poll came back empty,
//! or a record written after the snapshot was read.

use std::collections::BTreeMap;
use std::time::Duration;

use hub_kafka::KafkaFailure;
use hub_kafka::consumer::HubConsumer;
use hub_kafka::rdkafka::Offset;
use hub_kafka::rdkafka::consumer::Consumer;

const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Per partition: the high watermark at start, and the next offset the run will read.
#[derive(Debug, Clone, Default)]
pub struct CatchUp {
    targets: BTreeMap<(String, i32), i64>,
    next: BTreeMap<(String, i32), i64>,
    /// When the snapshot was taken (Unix ms); records timestamped later are past its end.
    snapshot_ms: i64,
    /// Whether the end has been confirmed past the watermarks (see the module's text).
    confirmed: bool,
}

impl CatchUp {
    /// Snapshots the end offsets of every partition of `topic` (a blocking broker query).
    /// Records written after this are left for the next run.
    ///
    /// # Errors
    /// The broker cannot be queried.
    pub fn snapshot(consumer: &HubConsumer, topic: &str) -> Result<Self, KafkaFailure> {
        let inner = consumer.inner();
        let metadata = inner.fetch_metadata(Some(topic), QUERY_TIMEOUT)?;
        let mut targets = BTreeMap::new();
        let mut next = BTreeMap::new();
        for found in metadata.topics().iter().filter(|t| t.name() == topic) {
            for partition in found.partitions() {
                let (low, high) = inner.fetch_watermarks(topic, partition.id(), QUERY_TIMEOUT)?;
                targets.insert((topic.to_owned(), partition.id()), high);
                next.insert((topic.to_owned(), partition.id()), low);
            }
        }
        Ok(Self {
            targets,
            next,
            snapshot_ms: chrono::Utc::now().timestamp_millis(),
            confirmed: false,
        })
    }

    /// A snapshot from known end offsets (tests).
    pub fn from_targets(targets: impl IntoIterator<Item = ((String, i32), i64)>) -> Self {
        Self {
            targets: targets.into_iter().collect(),
            next: BTreeMap::new(),
            snapshot_ms: 0,
            confirmed: true,
        }
    }

    /// Records that the message at `offset`, timestamped `timestamp_ms`, was read.
    pub fn read(&mut self, topic: &str, partition: i32, offset: i64, timestamp_ms: Option<i64>) {
        let next = self.next.entry((topic.to_owned(), partition)).or_default();
        *next = (*next).max(offset + 1);
        if timestamp_ms.is_some_and(|t| t > self.snapshot_ms) {
            self.confirmed = true;
        }
    }

    /// Takes the consumer's positions (which move past gaps and control records too) after a
    /// poll that came back empty: once the watermarks are reached, that confirms the end.
    pub fn refresh(&mut self, consumer: &HubConsumer) {
        if self.watermarks_reached() {
            self.confirmed = true;
        }
        if let Ok(positions) = consumer.inner().position() {
            for element in positions.elements() {
                if let Offset::Offset(position) = element.offset() {
                    let key = (element.topic().to_owned(), element.partition());
                    let next = self.next.entry(key).or_default();
                    *next = (*next).max(position);
                }
            }
        }
    }

    /// Whether every partition has been read up to its end offset at start, and the end was
    /// confirmed.
    pub fn reached(&self) -> bool {
        self.confirmed && self.watermarks_reached()
    }

    fn watermarks_reached(&self) -> bool {
        self.targets
            .iter()
            .all(|(key, target)| self.next.get(key).copied().unwrap_or(0) >= *target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_up_when_every_partition_reached_its_end() {
        let mut catch_up = CatchUp::from_targets([(("t".into(), 0), 3), (("t".into(), 1), 0)]);
        assert!(!catch_up.reached());
        catch_up.read("t", 0, 1, None);
        assert!(!catch_up.reached());
        catch_up.read("t", 0, 2, None);
        assert!(catch_up.reached());
    }

    #[test]
    fn the_end_of_a_snapshot_is_confirmed_by_an_empty_poll_or_a_later_record() {
        let mut catch_up = CatchUp {
            targets: [(("t".into(), 0), 1)].into(),
            snapshot_ms: 1_000,
            ..CatchUp::default()
        };
        catch_up.read("t", 0, 0, Some(900));
        assert!(!catch_up.reached(), "the watermark may be short of the end");
        catch_up.read("t", 0, 1, Some(1_001));
        assert!(catch_up.reached(), "a record written after the snapshot");
        let mut idle = CatchUp {
            targets: [(("t".into(), 0), 1)].into(),
            snapshot_ms: 1_000,
            ..CatchUp::default()
        };
        idle.read("t", 0, 0, Some(900));
        idle.confirmed |= idle.watermarks_reached(); // what refresh does after an empty poll
        assert!(idle.reached());
    }
}
