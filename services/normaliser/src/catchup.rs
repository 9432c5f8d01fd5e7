//! When a bounded run (replay, re-drive) has caught up: the end offsets of its topic seen at
//! start, and how far the consumer has read each partition.

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
        Ok(Self { targets, next })
    }

    /// A snapshot from known end offsets (tests).
    pub fn from_targets(targets: impl IntoIterator<Item = ((String, i32), i64)>) -> Self {
        Self {
            targets: targets.into_iter().collect(),
            next: BTreeMap::new(),
        }
    }

    /// Records that the message at `offset` was read.
    pub fn read(&mut self, topic: &str, partition: i32, offset: i64) {
        let next = self.next.entry((topic.to_owned(), partition)).or_default();
        *next = (*next).max(offset + 1);
    }

    /// Takes the consumer's positions (which move past gaps and control records too).
    pub fn refresh(&mut self, consumer: &HubConsumer) {
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

    /// Whether every partition has been read up to its end offset at start.
    pub fn reached(&self) -> bool {
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
        catch_up.read("t", 0, 1);
        assert!(!catch_up.reached());
        catch_up.read("t", 0, 2);
        assert!(catch_up.reached());
        assert!(
            CatchUp::default().reached(),
            "an empty topic is caught up at once"
        );
    }
}
