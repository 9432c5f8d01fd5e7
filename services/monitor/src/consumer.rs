//! The consumer: canonical topics in (`read_committed`), facts in PostgreSQL and clinical alerts
//! out.
//!
//! Per batch: decode, reduce to facts, upsert them in one transaction; then produce the alerts
//! of critical lab results and critical imaging findings not produced before (idempotent producer, awaited), record them as
//! produced; then dead-letter bad input; only then store the offsets. A crash anywhere repeats
//! the batch: the upserts are idempotent, and an alert produced but not yet recorded is produced
//! again with the same ids, so consumers of the alert topic converge.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_avro::CanonicalCodecs;
use hub_kafka::consumer::HubConsumer;
use hub_kafka::dlq::{DeadLetter, DlqPublisher, SourcePosition};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{BorrowedMessage, OwnedHeaders};
use hub_kafka::{ErrorKind, EventProducer, KafkaFailure, OutRecord};
use hub_schemas::{AnyEvent, ClinicalAlert};
use hub_terminology::Terminology;
use sqlx::PgPool;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::rules::CriticalValues;
use crate::{alerts, facts, store};

/// Why the consumer stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// The consumer failed for good (configuration, authorisation).
    #[error("consumer failed: {0}")]
    Kafka(#[source] KafkaFailure),
}

/// A consumed record, owned so that the batch outlives the consumer's borrow.
struct Record {
    topic: String,
    partition: i32,
    offset: i64,
    key: Vec<u8>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
    timestamp: Option<i64>,
}

impl Record {
    fn from_message(m: &BorrowedMessage<'_>) -> Self {
        Self {
            topic: m.topic().to_owned(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().unwrap_or_default().to_vec(),
            payload: m.payload().unwrap_or_default().to_vec(),
            headers: m.headers().map(|h| h.detach()),
            timestamp: m.timestamp().to_millis(),
        }
    }

    /// The last value of header `name` as UTF-8 text.
    fn header(&self, name: &str) -> Option<String> {
        use hub_kafka::rdkafka::message::Headers;
        let headers = self.headers.as_ref()?;
        headers
            .iter()
            .filter(|h| h.key == name)
            .filter_map(|h| h.value)
            .last()
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_owned)
    }

    /// The fact of a record of a dead-letter topic (headers only).
    fn dead_letter(&self, now_ms: i64) -> facts::Fact {
        let stage = self.topic.rsplit("dlq.").next().unwrap_or_default();
        facts::Fact::DeadLetter(facts::dead_letter(
            (&self.topic, self.partition, self.offset),
            stage,
            |name| self.header(name),
            self.timestamp.unwrap_or(now_ms),
        ))
    }
}

/// Everything the consumer loop needs. Records of the dead-letter topics are not decoded: only
/// their headers become facts (data quality).
pub struct Consumer {
    /// Subscribed to the consumed canonical topics.
    pub consumer: HubConsumer,
    /// The monitor's database.
    pub pool: PgPool,
    /// Decoders and the alert encoder.
    pub codecs: Arc<CanonicalCodecs>,
    /// Idempotent producer of alerts.
    pub producer: EventProducer,
    /// Dead letters (`dlq.monitor`).
    pub dlq: DlqPublisher,
    /// Consumed topic to entity name.
    pub topics: HashMap<String, &'static str>,
    /// The facility registry (referral directions).
    pub terminology: Arc<Terminology>,
    /// Critical lab values.
    pub critical: CriticalValues,
    /// Where alerts go.
    pub alert_topic: String,
    /// Results older than this raise no alert (`None`: no limit).
    pub alert_max_age: Option<Duration>,
    /// Metrics.
    pub metrics: Metrics,
    /// Most records per batch.
    pub max_records: usize,
    /// Longest wait for a batch to fill.
    pub max_wait: Duration,
}

impl Consumer {
    /// Runs until `shutdown` completes.
    ///
    /// # Errors
    /// The consumer failed for good.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ConsumerError> {
        tokio::pin!(shutdown);
        let result = loop {
            let records = match self.collect(&mut shutdown).await {
                Ok(Some(records)) => records,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            let mut backoff = Duration::from_millis(100);
            let done = loop {
                match self.attempt(&records).await {
                    Ok(()) => break true,
                    Err((cause, detail)) => {
                        warn!(cause, detail = %detail, "Batch failed; retrying it.");
                        self.metrics.retries.with_label_values(&[cause]).inc();
                        tokio::select! {
                            () = shutdown.as_mut() => break false,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            };
            if !done {
                break Ok(());
            }
        };
        if let Err(e) = self.consumer.commit_stored() {
            warn!(error = %e, "Committing offsets at shutdown failed; the last batch will repeat.");
        }
        let _ = self.producer.flush(Duration::from_secs(5));
        info!("Monitor consumer stopped.");
        result
    }

    async fn collect(
        &self,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Option<Vec<Record>>, ConsumerError> {
        let mut records = Vec::new();
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
                        warn!(error = %e, "Consumer error; polling on.");
                        self.metrics.retries.with_label_values(&["consumer"]).inc();
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(ConsumerError::Kafka(e)),
                },
            }
        }
        Ok(Some(records))
    }

    /// One attempt at a batch; `Err((cause, detail))` to retry it.
    async fn attempt(&self, records: &[Record]) -> Result<(), (&'static str, String)> {
        let mut facts_out = Vec::new();
        let mut candidates: Vec<ClinicalAlert> = Vec::new();
        let mut dead: Vec<(&Record, &'static str, String)> = Vec::new();
        let now_ms = chrono::Utc::now().timestamp_millis();
        for (index, record) in records.iter().enumerate() {
            let Some(entity) = self.topics.get(&record.topic) else {
                dead.push((record, "monitor_unknown_topic", "not consumed here".into()));
                continue;
            };
            if *entity == crate::settings::DEAD_LETTER {
                self.metrics.received.with_label_values(&[entity]).inc();
                facts_out.push((index, record.dead_letter(now_ms)));
                continue;
            }
            let event = match self.codecs.decode(entity, &record.payload).await {
                Some(Ok(event)) => event,
                Some(Err(e)) if e.is_bad_data() => {
                    dead.push((record, "monitor_undecodable", e.to_string()));
                    continue;
                }
                Some(Err(e)) => return Err(("registry", e.to_string())),
                None => {
                    dead.push((
                        record,
                        "monitor_unknown_topic",
                        format!("no decoder for {entity}"),
                    ));
                    continue;
                }
            };
            self.metrics.received.with_label_values(&[entity]).inc();
            let recent = |event_time: i64| {
                self.alert_max_age.is_none_or(|max| {
                    now_ms - event_time <= i64::try_from(max.as_millis()).unwrap_or(i64::MAX)
                })
            };
            let position = (record.topic.as_str(), record.partition, record.offset);
            let alert = match &event {
                AnyEvent::LabResult(lab) if recent(lab.event_time) => {
                    alerts::alert_for(lab, &self.critical, position)
                }
                AnyEvent::ImagingReport(report) if recent(report.event_time) => {
                    alerts::imaging_alert_for(report, position)
                }
                _ => None,
            };
            candidates.extend(alert);
            if let Some(fact) = facts::fact(&event, &self.terminology) {
                facts_out.push((index, fact));
            }
        }

        let started = Instant::now();
        let all: Vec<_> = facts_out.iter().map(|(_, f)| f.clone()).collect();
        match store::write(&self.pool, &all).await {
            Ok(()) => {}
            Err(e) if is_data_error(&e) => {
                // The data itself is refused: write one fact per transaction and dead-letter
                // the refused ones, so one bad event cannot stall its partition.
                for (index, fact) in &facts_out {
                    match store::write(&self.pool, std::slice::from_ref(fact)).await {
                        Ok(()) => {}
                        Err(e) if is_data_error(&e) => dead.push((
                            &records[*index],
                            "monitor_db_rejected",
                            "the database refused the fact".to_owned(),
                        )),
                        Err(e) => return Err(("database", e.to_string())),
                    }
                }
            }
            Err(e) => return Err(("database", e.to_string())),
        }
        self.metrics
            .batch_write_seconds
            .observe(started.elapsed().as_secs_f64());

        self.produce_alerts(candidates, now_ms).await?;

        for (record, code, detail) in dead {
            let source = SourcePosition {
                topic: &record.topic,
                partition: record.partition,
                offset: record.offset,
            };
            let letter = DeadLetter {
                error_code: code,
                detail: &detail,
                source: Some(source),
            };
            self.dlq
                .publish(
                    &record.key,
                    &record.payload,
                    record.headers.as_ref(),
                    letter,
                )
                .await
                .map_err(|e| ("dlq", e.to_string()))?;
        }
        self.store_offsets(records);
        Ok(())
    }

    /// Produces the alerts not produced before, each awaited, then records them.
    async fn produce_alerts(
        &self,
        mut candidates: Vec<ClinicalAlert>,
        now_ms: i64,
    ) -> Result<(), (&'static str, String)> {
        if candidates.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = candidates.iter().map(|a| a.alert_id.clone()).collect();
        let sent = store::alerts_sent(&self.pool, &ids)
            .await
            .map_err(|e| ("database", e.to_string()))?;
        let mut seen: std::collections::HashSet<String> = sent.into_iter().collect();
        // Also drops a result delivered twice within this batch.
        candidates.retain(|a| seen.insert(a.alert_id.clone()));
        for alert in candidates {
            let payload = self
                .codecs
                .encode(&AnyEvent::ClinicalAlert(alert.clone()))
                .map_err(|e| ("alert_encode", e.to_string()))?;
            self.producer
                .send(OutRecord {
                    topic: &self.alert_topic,
                    key: alert.person_id.as_bytes(),
                    payload: &payload,
                    headers: None,
                })
                .await
                .map_err(|e| ("alert_produce", e.to_string()))?;
            store::mark_alert_sent(&self.pool, &alert.alert_id, &alert.source_event_id, now_ms)
                .await
                .map_err(|e| ("database", e.to_string()))?;
            let kind = facts::symbol(&alert.alert_type);
            self.metrics.alerts.with_label_values(&[&kind]).inc();
            info!(
                alert_id = %alert.alert_id,
                alert_type = %kind,
                notify_facility = %alert.notify_facility_code,
                "Clinical alert produced."
            );
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
                warn!(error = %e, topic, partition, "Storing an offset failed.");
            }
        }
    }
}

/// SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the data is at
/// fault, retrying will not help.
fn is_data_error(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
}
