//! The consume-normalise-produce loop (at-least-once, idempotent producer), used by the service
//! where the broker lacks transactions (or `transactions: off`), and by replay and re-drive.
//!
//! Messages are normalised one after another (the EMPI needs that order per person), but their
//! output is not awaited in turn: each message's deliveries join an ordered in-flight queue, and
//! its input offset is stored only when every one of its events has been acknowledged by the
//! broker, in input order. A crash therefore repeats messages and never skips one; event ids are
//! deterministic, so the repeats converge downstream.
//!
//! Bad input goes to `dlq.normaliser` (original bytes, key and headers, plus the reason and the
//! ORIGINAL raw position) and the partition moves on. A re-drive does not dead-letter an input
//! again with the code it already had (it stays in the DLQ where it is, counted as still
//! failing); with a new code it writes one new letter, which a later re-drive takes once.
//! A failed delivery stops the loop with an error after storing every offset that is safe; the
//! service exits non-zero and, restarted, resumes after the last stored offset. A bounded run
//! ([`CatchUp`]) stops by itself at the end offsets seen at its start.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use hub_kafka::consumer::HubConsumer;
use hub_kafka::dlq::{DeadLetter, DlqPublisher, SourcePosition};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::BorrowedMessage;
use hub_kafka::{ErrorKind, EventProducer, KafkaFailure, OutRecord};
use tracing::{info, warn};

use crate::catchup::CatchUp;
use crate::intake::{Admitted, Counts, Intake};
use crate::process::{Encoded, Outcome, Processor};

type Pending = Pin<Box<dyn Future<Output = Result<Done, KafkaFailure>> + Send>>;

/// How long a bounded run waits for a message before it looks at the consumer's position.
const IDLE: Duration = Duration::from_secs(1);

/// A message whose output the broker has acknowledged.
struct Done {
    topic: String,
    partition: i32,
    offset: i64,
    entities: Vec<&'static str>,
}

/// Everything the loop needs.
pub struct Runner {
    /// The input.
    pub consumer: HubConsumer,
    /// The output.
    pub producer: EventProducer,
    /// Dead letters.
    pub dlq: DlqPublisher,
    /// Normalise and encode.
    pub processor: Processor,
    /// Most messages in flight.
    pub max_in_flight: usize,
    /// Which messages to take.
    pub intake: Intake,
    /// Stop once caught up with these end offsets (replay, re-drive); `None` runs until shutdown.
    pub until: Option<CatchUp>,
}

impl Runner {
    /// Runs until `shutdown` completes or the run has caught up (then drains what is in flight),
    /// or a delivery fails.
    ///
    /// # Errors
    /// A delivery failed or the consumer failed; every safe offset was stored first.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<Counts> {
        tokio::pin!(shutdown);
        let mut in_flight: FuturesOrdered<Pending> = FuturesOrdered::new();
        let mut counts = Counts::default();
        let bounded = self.until.is_some();
        let outcome = loop {
            if self.until.as_ref().is_some_and(CatchUp::reached) {
                break Ok(());
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                    if let Err(e) = self.finish(done, &mut counts) {
                        break Err(e);
                    }
                }
                message = tokio::time::timeout(IDLE, self.consumer.recv()),
                    if in_flight.len() < self.max_in_flight =>
                {
                    let message = match message {
                        Ok(Ok(message)) => message,
                        Err(_idle) => {
                            if let Some(until) = self.until.as_mut() {
                                until.refresh(&self.consumer);
                            }
                            continue;
                        }
                        Ok(Err(e)) if e.kind == ErrorKind::Transient => {
                            // An input topic not created yet, a broker restarting: keep polling.
                            warn!(error = %e, "Consumer error; polling on.");
                            self.processor.metrics.retries.with_label_values(&["consumer"]).inc();
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                        Ok(Err(e)) => break Err(anyhow::anyhow!("consumer failed: {e}")),
                    };
                    counts.read += 1;
                    if let Some(until) = self.until.as_mut() {
                        until.read(message.topic(), message.partition(), message.offset());
                    }
                    match self.handle(&message, &mut counts, &mut shutdown).await {
                        Some(pending) => in_flight.push_back(pending),
                        None => break Ok(()),
                    }
                }
            }
        };
        // Drain: every acknowledged message's offset is stored, in order, up to the first failure.
        let mut result = outcome;
        while let Some(done) = in_flight.next().await {
            if result.is_ok() {
                result = self.finish(done, &mut counts);
            }
        }
        if let Err(e) = self.consumer.commit_stored() {
            warn!(error = %e, "Committing offsets at shutdown failed; the last messages will repeat.");
        }
        if let Err(e) = self.producer.flush(Duration::from_secs(10)) {
            warn!(error = %e, "Flushing the producer at shutdown failed.");
        }
        if bounded {
            info!(%counts, "Run caught up.");
        } else {
            info!("Normaliser stopped.");
        }
        result.map(|()| counts)
    }

    fn finish(&self, done: Result<Done, KafkaFailure>, counts: &mut Counts) -> anyhow::Result<()> {
        let done = done.map_err(|e| anyhow::anyhow!("a canonical event was not delivered: {e}"))?;
        for entity in &done.entities {
            self.processor
                .metrics
                .produced
                .with_label_values(&[entity])
                .inc();
        }
        counts.produced_events += done.entities.len() as u64;
        self.consumer
            .store(&done.topic, done.partition, done.offset + 1)
            .map_err(|e| anyhow::anyhow!("storing the offset failed: {e}"))
    }

    /// Normalises one message and enqueues its output; `None` when shutdown came first.
    async fn handle(
        &self,
        message: &BorrowedMessage<'_>,
        counts: &mut Counts,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Option<Pending> {
        let position = Done {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            entities: Vec::new(),
        };
        let input = match self.intake.admit(message) {
            Ok(input) => input,
            Err(skip) => {
                counts.skip(skip);
                return Some(Box::pin(async move { Ok(position) }));
            }
        };
        match self.processor.process(&input.raw, shutdown).await {
            Outcome::Events(records) => self.produce(records, position, shutdown).await,
            Outcome::Stopped => None,
            Outcome::Rejected { code, detail } => {
                if input.previous_code.as_deref() == Some(code) {
                    // A re-drive that fails the same way: the letter stays where it is.
                    counts.still_failing += 1;
                } else {
                    self.dead_letter(&input, code, &detail, shutdown).await?;
                    counts.dead_lettered += 1;
                }
                Some(Box::pin(async move { Ok(position) }))
            }
        }
    }

    async fn produce(
        &self,
        records: Vec<Encoded>,
        mut position: Done,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Option<Pending> {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in &records {
            let mut backoff = Duration::from_millis(100);
            loop {
                let out = OutRecord {
                    topic: &record.topic,
                    key: record.key.as_bytes(),
                    payload: &record.payload,
                    headers: None,
                };
                match self.producer.enqueue(out).await {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err(e) => {
                        warn!(error = %e, "Enqueueing an event failed; retrying.");
                        self.processor
                            .metrics
                            .retries
                            .with_label_values(&["producer"])
                            .inc();
                        tokio::select! {
                            () = shutdown.as_mut() => return None,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            }
        }
        position.entities = records.iter().map(|r| r.entity).collect();
        Some(Box::pin(async move {
            for delivery in deliveries {
                delivery.await?;
            }
            Ok(position)
        }))
    }

    /// Writes `input` to the DLQ with its original position; `None` when shutdown came first.
    async fn dead_letter(
        &self,
        input: &Admitted,
        code: &'static str,
        detail: &str,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Option<()> {
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
        let mut backoff = Duration::from_millis(100);
        loop {
            match self
                .dlq
                .publish(&raw.key, &raw.payload, input.headers.as_ref(), letter)
                .await
            {
                Ok(_) => return Some(()),
                Err(e) => {
                    warn!(error = %e, "Dead-letter publish failed; retrying.");
                    self.processor
                        .metrics
                        .retries
                        .with_label_values(&["dlq"])
                        .inc();
                    tokio::select! {
                        () = shutdown.as_mut() => return None,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
