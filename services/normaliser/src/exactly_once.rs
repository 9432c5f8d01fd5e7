//! Exactly-once consume-transform-produce in Kafka transactions (`transactions: on`, or `auto`
//! on a broker that completes transactions).
//!
//! Messages are normalised one after another into a batch held in memory: their encoded events,
//! their dead letters (`dlq.normaliser` is written in the same transaction), and the next input
//! offset per partition. The batch is committed every `transaction_max_messages` messages or
//! when its first message is `transaction_max_ms` old: begin, send every record, add the
//! offsets with the consumer's group metadata, commit. Nothing reaches the broker before the
//! batch is complete, so a normaliser killed while a batch is being built leaves nothing behind
//! on any broker; one killed during the commit leaves an open transaction that the broker aborts
//! when the restarted replica (same transactional id `<group>-<instance>`) fences it. On a
//! failed commit the transaction is aborted, the consumer rewound (seek) to the batch's first
//! offsets, and the batch rebuilt; a fenced producer stops the service (another replica took
//! over). Readers of `canonical.*` must read `read_committed`.
//!
//! Known limit: a rebalance that moves partitions while a batch is open is not intercepted (the
//! shared consumer has no rebalance hook); run one replica per transactional id and group.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use hub_kafka::consumer::HubConsumer;
use hub_kafka::dlq::{DeadLetter, SourcePosition, dead_letter_headers};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::consumer::Consumer;
use hub_kafka::rdkafka::error::KafkaError;
use hub_kafka::rdkafka::message::OwnedHeaders;
use hub_kafka::rdkafka::{Offset, TopicPartitionList};
use hub_kafka::{ErrorKind, KafkaFailure, OutRecord, TransactionalProducer};
use tracing::{info, warn};

use crate::SERVICE;
use crate::intake::{Admitted, Intake};
use crate::process::{Outcome, Processor};

/// Everything the transactional loop needs.
pub struct TransactionalRunner {
    /// The input.
    pub consumer: HubConsumer,
    /// The output, transactions initialised.
    pub producer: TransactionalProducer,
    /// Normalise and encode.
    pub processor: Processor,
    /// `dlq.normaliser`.
    pub dlq_topic: String,
    /// Commit after this many messages...
    pub max_messages: usize,
    /// ...or when the batch's first message is this old.
    pub max_age: Duration,
}

/// One record of a batch.
struct Buffered {
    topic: String,
    key: Vec<u8>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
    entity: Option<&'static str>,
}

/// The messages of the transaction being built.
#[derive(Default)]
struct Batch {
    records: Vec<Buffered>,
    /// Next offset to read per partition: committed with the transaction.
    next: BTreeMap<(String, i32), i64>,
    /// First offset per partition: where to rewind after an abort.
    first: BTreeMap<(String, i32), i64>,
    messages: usize,
    opened: Option<Instant>,
}

impl Batch {
    fn read(&mut self, topic: &str, partition: i32, offset: i64) {
        let key = (topic.to_owned(), partition);
        self.first.entry(key.clone()).or_insert(offset);
        self.next.insert(key, offset + 1);
        self.messages += 1;
        self.opened.get_or_insert_with(Instant::now);
    }
}

impl TransactionalRunner {
    /// Runs until `shutdown` (then commits the batch being built) or a fatal failure.
    ///
    /// # Errors
    /// The consumer failed, the producer was fenced, or an abort failed.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        let mut batch = Batch::default();
        let far = Duration::from_secs(3600);
        loop {
            let deadline = batch.opened.map_or_else(
                || tokio::time::Instant::now() + far,
                |t| tokio::time::Instant::from_std(t + self.max_age),
            );
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tokio::time::sleep_until(deadline), if batch.opened.is_some() => {
                    self.commit(&mut batch).await?;
                }
                message = self.consumer.recv() => {
                    let message = match message {
                        Ok(message) => message,
                        Err(e) if e.kind == ErrorKind::Transient => {
                            warn!(error = %e, "Consumer error; polling on.");
                            self.processor.metrics.retries.with_label_values(&["consumer"]).inc();
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                        Err(e) => anyhow::bail!("consumer failed: {e}"),
                    };
                    let Ok(input) = Intake::Live.admit(&message) else { continue };
                    match self.processor.process(&input.raw, &mut shutdown).await {
                        Outcome::Events(records) => {
                            batch.records.extend(records.into_iter().map(|r| Buffered {
                                topic: r.topic,
                                key: r.key.into_bytes(),
                                payload: r.payload,
                                headers: None,
                                entity: Some(r.entity),
                            }));
                        }
                        Outcome::Rejected { code, detail } => {
                            batch.records.push(self.dead_letter(&input, code, &detail));
                        }
                        Outcome::Stopped => break,
                    }
                    batch.read(message.topic(), message.partition(), message.offset());
                    if batch.messages >= self.max_messages {
                        self.commit(&mut batch).await?;
                    }
                }
            }
        }
        if batch.messages > 0 {
            // Complete work at shutdown: commit it (a failure aborts; the restart redoes it).
            self.commit(&mut batch).await?;
        }
        info!("Normaliser stopped.");
        Ok(())
    }

    fn dead_letter(&self, input: &Admitted, code: &'static str, detail: &str) -> Buffered {
        self.processor
            .metrics
            .rejected
            .with_label_values(&[code])
            .inc();
        let raw = &input.raw;
        let letter = DeadLetter {
            error_code: code,
            detail,
            source: Some(SourcePosition {
                topic: &raw.topic,
                partition: raw.partition,
                offset: raw.offset,
            }),
        };
        Buffered {
            topic: self.dlq_topic.clone(),
            key: raw.key.clone(),
            payload: raw.payload.clone(),
            headers: Some(dead_letter_headers(
                SERVICE,
                input.headers.as_ref(),
                &letter,
            )),
            entity: None,
        }
    }

    /// Commits `batch` in one transaction and empties it. A transient failure aborts, rewinds
    /// the consumer to the batch's first offsets and empties the batch (it will be read again).
    async fn commit(&self, batch: &mut Batch) -> anyhow::Result<()> {
        let outcome = self.transact(batch).await;
        let done = std::mem::take(batch);
        match outcome {
            Ok(()) => {
                for entity in done.records.iter().filter_map(|r| r.entity) {
                    self.processor
                        .metrics
                        .produced
                        .with_label_values(&[entity])
                        .inc();
                }
                Ok(())
            }
            Err(e) if e.kind == ErrorKind::Fatal => {
                anyhow::bail!("transactional producer failed (fenced by another replica?): {e}")
            }
            Err(e) => {
                warn!(error = %e, messages = done.messages, "Transaction failed; aborting and re-reading its messages.");
                self.processor
                    .metrics
                    .retries
                    .with_label_values(&["transaction"])
                    .inc();
                self.producer
                    .abort()
                    .await
                    .map_err(|e| anyhow::anyhow!("aborting the transaction failed: {e}"))?;
                for ((topic, partition), offset) in &done.first {
                    let rewound = self.consumer.inner().seek(
                        topic,
                        *partition,
                        Offset::Offset(*offset),
                        Duration::from_secs(10),
                    );
                    if let Err(e) = rewound {
                        warn!(error = %e, %topic, partition, "Rewinding failed; the group resumes from its committed offset.");
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                Ok(())
            }
        }
    }

    async fn transact(&self, batch: &Batch) -> Result<(), KafkaFailure> {
        self.producer.begin()?;
        let mut deliveries = Vec::with_capacity(batch.records.len());
        for record in &batch.records {
            deliveries.push(self.producer.send(OutRecord {
                topic: &record.topic,
                key: &record.key,
                payload: &record.payload,
                headers: record.headers.clone(),
            })?);
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &batch.next {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        let group = self
            .consumer
            .inner()
            .group_metadata()
            .ok_or(KafkaFailure::from(KafkaError::Canceled))?;
        self.producer.send_offsets(offsets, group).await?;
        self.producer.commit().await?;
        for delivery in deliveries {
            delivery.await?;
        }
        Ok(())
    }
}
