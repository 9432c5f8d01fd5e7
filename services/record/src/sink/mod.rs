//! The sink: canonical topics in (`read_committed`), the record in PostgreSQL out.
//!
//! Messages are collected into a batch (up to `batch_max_records`, or `batch_max_wait_ms` after
//! the batch's first message), decoded, validated, de-duplicated by event id and written in one
//! transaction ([`write`]). Only after the commit are dead letters published and offsets stored
//! (the highest offset + 1 per partition: everything before it in that partition is done, so
//! offsets move in input order). A crash at any point repeats the batch, never skips it, and the
//! idempotent upserts make the repeat harmless.
//!
//! Failures: an undecodable or invalid record goes to the dead-letter topic with a bounded code
//! and the partition moves on. A database refusal of the data itself (SQLSTATE classes 22 and 23)
//! isolates the offending events one transaction each and dead-letters them. Anything else
//! (database down, registry unreachable, dead-letter topic refusing) retries the same batch with
//! backoff and stores nothing until it succeeds.

pub mod codecs;
pub mod keys;
mod rows;
pub mod upsert;
pub mod write;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use hub_kafka::consumer::HubConsumer;
use hub_kafka::dlq::{DeadLetter, DlqPublisher, SourcePosition};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{BorrowedMessage, OwnedHeaders};
use hub_kafka::{ErrorKind, KafkaFailure};
use hub_schemas::AnyEvent;
use sqlx::PgPool;
use tracing::{info, warn};

use crate::metrics::Metrics;
use codecs::Codecs;
use write::Batch;

/// Why the sink stopped.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The consumer failed for good (configuration, authorisation).
    #[error("consumer failed: {0}")]
    Consumer(#[source] KafkaFailure),
}

/// A consumed record, owned so that the batch outlives the consumer's borrow.
#[derive(Debug)]
struct Record {
    topic: String,
    partition: i32,
    offset: i64,
    key: Vec<u8>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
}

impl Record {
    fn from_message(message: &BorrowedMessage<'_>) -> Self {
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().unwrap_or_default().to_vec(),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers: message.headers().map(|h| h.detach()),
        }
    }
}

/// A record that will be dead-lettered, and why.
struct Dead<'a> {
    record: &'a Record,
    code: &'static str,
    detail: String,
}

/// Why an attempt at a batch did not complete.
enum Retry {
    /// Try the same batch again later; the label is the metric's `cause`.
    Later(&'static str, String),
}

/// Everything the sink loop needs.
pub struct Sink {
    /// The input, subscribed to the canonical topics.
    pub consumer: HubConsumer,
    /// The record's database.
    pub pool: PgPool,
    /// Decoders.
    pub codecs: Codecs,
    /// Dead letters (`dlq.record`).
    pub dlq: DlqPublisher,
    /// Consumed topic → canonical entity name.
    pub topics: HashMap<String, &'static str>,
    /// Metrics.
    pub metrics: Metrics,
    /// Most records per batch.
    pub max_records: usize,
    /// Longest wait for a batch to fill.
    pub max_wait: Duration,
}

impl Sink {
    /// Runs until `shutdown` completes; a batch in progress is finished or abandoned unstored.
    ///
    /// # Errors
    /// The consumer failed for good.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), SinkError> {
        tokio::pin!(shutdown);
        let result = loop {
            let records = match self.collect(&mut shutdown).await {
                Ok(Some(records)) => records,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            if !self.process(&records, &mut shutdown).await {
                break Ok(());
            }
        };
        if let Err(e) = self.consumer.commit_stored() {
            warn!(error = %e, "Committing offsets at shutdown failed; the last batch will repeat.");
        }
        info!("Record sink stopped.");
        result
    }

    /// Collects one batch; `None` when shutdown came first.
    async fn collect(
        &self,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Option<Vec<Record>>, SinkError> {
        let mut records: Vec<Record> = Vec::new();
        let mut deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
        loop {
            tokio::select! {
                biased;
                () = shutdown.as_mut() => return Ok(None),
                () = tokio::time::sleep_until(deadline), if !records.is_empty() => break,
                message = self.consumer.recv() => match message {
                    Ok(message) => {
                        if records.is_empty() {
                            deadline = tokio::time::Instant::now() + self.max_wait;
                        }
                        records.push(Record::from_message(&message));
                        if records.len() >= self.max_records {
                            break;
                        }
                    }
                    Err(e) if e.kind == ErrorKind::Transient => {
                        // A topic not created yet, a broker restarting: keep polling.
                        warn!(error = %e, "Consumer error; polling on.");
                        self.metrics.retries.with_label_values(&["consumer"]).inc();
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(SinkError::Consumer(e)),
                },
            }
        }
        Ok(Some(records))
    }

    /// Processes one batch until it succeeds; `false` when shutdown interrupted the retries.
    async fn process(
        &self,
        records: &[Record],
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.attempt(records).await {
                Ok(()) => return true,
                Err(Retry::Later(cause, detail)) => {
                    warn!(cause, detail = %detail, retry_in_ms = backoff.as_millis(), "Batch failed; retrying it.");
                    self.metrics.retries.with_label_values(&[cause]).inc();
                    tokio::select! {
                        () = shutdown.as_mut() => return false,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn attempt(&self, records: &[Record]) -> Result<(), Retry> {
        let mut valid: Vec<(usize, AnyEvent)> = Vec::with_capacity(records.len());
        let mut dead: Vec<Dead<'_>> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let Some(entity) = self.topics.get(&record.topic) else {
                dead.push(Dead {
                    record,
                    code: "record_unknown_topic",
                    detail: "not a canonical topic of this service".to_owned(),
                });
                continue;
            };
            match self.codecs.decode(entity, &record.payload).await {
                Some(Ok(event)) => match keys::validate(&event) {
                    Ok(()) => valid.push((i, event)),
                    Err(code) => dead.push(Dead {
                        record,
                        code,
                        detail: format!("invalid {entity} event"),
                    }),
                },
                Some(Err(e)) if e.is_bad_data() => dead.push(Dead {
                    record,
                    code: "record_undecodable",
                    detail: e.to_string(),
                }),
                Some(Err(e)) => return Err(Retry::Later("registry", e.to_string())),
                None => dead.push(Dead {
                    record,
                    code: "record_unknown_topic",
                    detail: format!("no decoder for entity {entity}"),
                }),
            }
        }

        let mut batch = Batch::default();
        for (_, event) in &valid {
            batch.push(event.clone());
        }
        let batch = batch.deduped();
        if !batch.is_empty() {
            let started = Instant::now();
            match batch.write(&self.pool).await {
                Ok(()) => {
                    self.metrics
                        .batch_write_seconds
                        .observe(started.elapsed().as_secs_f64());
                    let counts = batch.counts();
                    let total: usize = counts.iter().map(|(_, n)| n).sum();
                    self.metrics.batch_size.observe(total as f64);
                    for (entity, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
                        self.metrics
                            .events_written
                            .with_label_values(&[entity])
                            .inc_by(n as u64);
                    }
                }
                Err(e) if is_data_error(&e) => {
                    self.isolate(records, valid, &mut dead).await?;
                }
                Err(e) => return Err(Retry::Later("database", e.to_string())),
            }
        }

        for letter in &dead {
            let source = SourcePosition {
                topic: &letter.record.topic,
                partition: letter.record.partition,
                offset: letter.record.offset,
            };
            self.dlq
                .publish(
                    &letter.record.key,
                    &letter.record.payload,
                    letter.record.headers.as_ref(),
                    DeadLetter {
                        error_code: letter.code,
                        detail: &letter.detail,
                        source: Some(source),
                    },
                )
                .await
                .map_err(|e| Retry::Later("dlq", e.to_string()))?;
        }
        self.store_offsets(records);
        Ok(())
    }

    /// Writes events one transaction each after the database refused a batch's data; the
    /// events it refuses are dead-lettered, the others are written.
    async fn isolate<'a>(
        &self,
        records: &'a [Record],
        valid: Vec<(usize, AnyEvent)>,
        dead: &mut Vec<Dead<'a>>,
    ) -> Result<(), Retry> {
        for (i, event) in valid {
            let entity = event.contract().entity;
            let mut single = Batch::default();
            single.push(event);
            match single.write(&self.pool).await {
                Ok(()) => self
                    .metrics
                    .events_written
                    .with_label_values(&[entity])
                    .inc(),
                Err(e) if is_data_error(&e) => dead.push(Dead {
                    record: &records[i],
                    code: "record_db_rejected",
                    detail: format!(
                        "the database refused the {entity} event (SQLSTATE {})",
                        sqlstate(&e).unwrap_or_default()
                    ),
                }),
                Err(e) => return Err(Retry::Later("database", e.to_string())),
            }
        }
        Ok(())
    }

    fn store_offsets(&self, records: &[Record]) {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for r in records {
            let entry = next.entry((&r.topic, r.partition)).or_insert(r.offset + 1);
            *entry = (*entry).max(r.offset + 1);
        }
        for ((topic, partition), offset) in next {
            if let Err(e) = self.consumer.store(topic, partition, offset) {
                // A rebalance took the partition: its new owner repeats the batch, harmlessly.
                warn!(error = %e, topic, partition, "Storing an offset failed.");
            }
        }
    }
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the data is at
/// fault, retrying will not help.
fn is_data_error(e: &sqlx::Error) -> bool {
    sqlstate(e).is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
}
