//! The consume-normalise-produce loop (at-least-once, idempotent producer), used by the service
//! where the broker lacks transactions (or `transactions: off`), and by replay and re-drive.
//!
//! Messages are normalised side by side, up to `concurrency` at once (the EMPI's database round
//! trips of different patients overlap), but messages that share a Kafka key go one after another
//! in the order they were read ([`KeyOrder`]): the order a source can rely on is kept. Each
//! message's output joins an ordered in-flight queue, and its input offset is stored only when
//! every one of its events has been acknowledged by the broker, in input order, so a message done
//! early waits for the ones read before it. A crash therefore repeats messages and never skips
//! one; event ids are deterministic, so the repeats converge downstream.
//!
//! Bad input goes to `dlq.normaliser` (original bytes, key and headers, plus the reason and the
//! ORIGINAL raw position) and the partition moves on. A re-drive does not dead-letter an input
//! again with the code it already had (it stays in the DLQ where it is, counted as still
//! failing); with a new code it writes one new letter, which a later re-drive takes once.
//! A failed delivery stops the loop with an error after storing every offset that is safe; the
//! service exits non-zero and, restarted, resumes after the last stored offset. At shutdown the
//! messages already being normalised finish; those not started are left for the next run. A bounded run
//! ([`CatchUp`]) stops by itself at the end offsets seen at its start.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use hub_kafka::consumer::HubConsumer;
use hub_kafka::dlq::{DeadLetter, DlqPublisher, SourcePosition};
use hub_kafka::producer::Delivery;
use hub_kafka::rdkafka::Message;
use hub_kafka::{ErrorKind, EventProducer, KafkaFailure, OutRecord};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::catchup::CatchUp;
use crate::intake::{Admitted, Counts, Intake, Skip};
use crate::key_order::{KeyOrder, Predecessor, Turn};
use crate::process::{Encoded, Outcome, Processor};

/// How long a bounded run waits for a message before it looks at the consumer's position.
const IDLE: Duration = Duration::from_secs(1);

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
    /// Most messages in flight (being normalised or awaiting the broker).
    pub max_in_flight: usize,
    /// Most messages being normalised at once.
    pub concurrency: usize,
    /// Which messages to take.
    pub intake: Intake,
    /// Stop once caught up with these end offsets (replay, re-drive); `None` runs until shutdown.
    pub until: Option<CatchUp>,
}

/// What the work on one message needs, shared by every message in flight.
struct Shared {
    processor: Processor,
    producer: EventProducer,
    dlq: DlqPublisher,
    /// One permit per message being normalised.
    permits: Semaphore,
    /// Cancelled at shutdown: retries give up, messages not started are left.
    stop: CancellationToken,
}

/// Where a message was read.
struct Position {
    topic: String,
    partition: i32,
    offset: i64,
}

/// What became of a message whose work is complete.
enum Tally {
    /// Its events, each acknowledged by the broker (entities, for the metrics).
    Produced(Vec<&'static str>),
    /// Not taken (replay window, re-drive filter).
    Skipped(Skip),
    /// Written to the DLQ.
    DeadLettered,
    /// A re-drive that failed again with the same code (the letter stays where it is).
    StillFailing,
}

/// Why a message's work did not complete: its offset, and every later one, stays unstored.
enum Halt {
    /// A canonical event was not delivered.
    Undelivered(KafkaFailure),
    /// Shutdown came first.
    Stopped,
}

type Work = JoinHandle<Result<(Position, Tally), Halt>>;

impl Runner {
    /// Runs until `shutdown` completes or the run has caught up (then drains what is in flight),
    /// or a delivery fails.
    ///
    /// # Errors
    /// A delivery failed or the consumer failed; every safe offset was stored first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<Counts> {
        let Self {
            consumer,
            producer,
            dlq,
            processor,
            max_in_flight,
            concurrency,
            intake,
            mut until,
        } = self;
        let shared = Arc::new(Shared {
            processor,
            producer,
            dlq,
            permits: Semaphore::new(concurrency.max(1)),
            stop: CancellationToken::new(),
        });
        tokio::pin!(shutdown);
        let mut in_flight: FuturesOrdered<Work> = FuturesOrdered::new();
        let mut order = KeyOrder::default();
        let mut counts = Counts::default();
        let bounded = until.is_some();
        let outcome = loop {
            if until.as_ref().is_some_and(CatchUp::reached) {
                break Ok(());
            }
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    shared.stop.cancel();
                    break Ok(());
                }
                Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                    match finish(&consumer, &shared, done, &mut counts) {
                        Ok(Finished::Stored) => {}
                        Ok(Finished::Halted) => break Ok(()),
                        Err(e) => {
                            shared.stop.cancel();
                            break Err(e);
                        }
                    }
                }
                message = tokio::time::timeout(IDLE, consumer.recv()),
                    if in_flight.len() < max_in_flight =>
                {
                    let message = match message {
                        Ok(Ok(message)) => message,
                        Err(_idle) => {
                            if let Some(until) = until.as_mut() {
                                until.refresh(&consumer);
                            }
                            continue;
                        }
                        Ok(Err(e)) if e.kind == ErrorKind::Transient => {
                            // An input topic not created yet, a broker restarting: keep polling.
                            warn!(error = %e, "Consumer error; polling on.");
                            shared.processor.metrics.retries.with_label_values(&["consumer"]).inc();
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                        Ok(Err(e)) => break Err(anyhow::anyhow!("consumer failed: {e}")),
                    };
                    counts.read += 1;
                    if let Some(until) = until.as_mut() {
                        until.read(
                            message.topic(),
                            message.partition(),
                            message.offset(),
                            message.timestamp().to_millis(),
                        );
                    }
                    let position = Position {
                        topic: message.topic().to_owned(),
                        partition: message.partition(),
                        offset: message.offset(),
                    };
                    let work = match intake.admit(&message) {
                        Err(skip) => tokio::spawn(async move { Ok((position, Tally::Skipped(skip))) }),
                        Ok(input) => {
                            let (predecessor, turn) =
                                order.enter(message.topic(), message.key().unwrap_or_default());
                            let shared = Arc::clone(&shared);
                            tokio::spawn(async move {
                                let tally = shared.work(input, predecessor, turn).await?;
                                Ok((position, tally))
                            })
                        }
                    };
                    in_flight.push_back(work);
                }
            }
        };
        // Drain: after a shutdown what is being normalised finishes and what has not started is
        // left (a caught-up run finishes everything); every acknowledged message's offset is
        // stored, in order, up to the first that is not.
        let mut result = outcome;
        let mut storing = result.is_ok();
        while let Some(done) = in_flight.next().await {
            if storing {
                match finish(&consumer, &shared, done, &mut counts) {
                    Ok(Finished::Stored) => {}
                    Ok(Finished::Halted) => storing = false,
                    Err(e) => {
                        result = Err(e);
                        storing = false;
                    }
                }
            }
        }
        if let Err(e) = consumer.commit_stored() {
            warn!(error = %e, "Committing offsets at shutdown failed; the last messages will repeat.");
        }
        if let Err(e) = shared.producer.flush(Duration::from_secs(10)) {
            warn!(error = %e, "Flushing the producer at shutdown failed.");
        }
        if bounded {
            info!(%counts, "Run caught up.");
        } else {
            info!("Normaliser stopped.");
        }
        result.map(|()| counts)
    }
}

/// Whether the offset of a message was stored.
enum Finished {
    /// Stored: the message is done.
    Stored,
    /// Shutdown came before the message was done: its offset and every later one stay unstored.
    Halted,
}

/// Counts a completed message and stores its offset.
///
/// # Errors
/// The message failed (an event not delivered, a panic) or its offset could not be stored.
fn finish(
    consumer: &HubConsumer,
    shared: &Shared,
    done: Result<Result<(Position, Tally), Halt>, tokio::task::JoinError>,
    counts: &mut Counts,
) -> anyhow::Result<Finished> {
    let (position, tally) = match done {
        Ok(Ok(done)) => done,
        Ok(Err(Halt::Stopped)) => return Ok(Finished::Halted),
        Ok(Err(Halt::Undelivered(e))) => {
            return Err(anyhow::anyhow!("a canonical event was not delivered: {e}"));
        }
        Err(e) => return Err(anyhow::anyhow!("normalising a message panicked: {e}")),
    };
    match tally {
        Tally::Produced(entities) => {
            for entity in &entities {
                shared
                    .processor
                    .metrics
                    .produced
                    .with_label_values(&[entity])
                    .inc();
            }
            counts.produced_events += entities.len() as u64;
        }
        Tally::Skipped(skip) => counts.skip(skip),
        Tally::DeadLettered => counts.dead_lettered += 1,
        Tally::StillFailing => counts.still_failing += 1,
    }
    consumer
        .store(&position.topic, position.partition, position.offset + 1)
        .map_err(|e| anyhow::anyhow!("storing the offset failed: {e}"))?;
    Ok(Finished::Stored)
}

impl Shared {
    /// One message: after the previous message of its key, within a permit, normalise it and
    /// enqueue its events (or its dead letter); then hand the key on and await the broker.
    async fn work(
        &self,
        input: Admitted,
        predecessor: Option<Predecessor>,
        turn: Turn,
    ) -> Result<Tally, Halt> {
        if let Some(predecessor) = predecessor {
            // Err: the predecessor gave up (shutdown, failure); its offset stops the storing.
            let _ = predecessor.await;
        }
        let permit = self.permits.acquire().await.map_err(|_| Halt::Stopped)?;
        if self.stop.is_cancelled() {
            return Err(Halt::Stopped);
        }
        let stop = self.stop.cancelled();
        tokio::pin!(stop);
        let tally = match self.processor.process(&input.raw, &mut stop).await {
            Outcome::Stopped => return Err(Halt::Stopped),
            Outcome::Events(records) => {
                let deliveries = self.enqueue(&records).await?;
                drop(turn);
                drop(permit);
                for delivery in deliveries {
                    delivery.await.map_err(Halt::Undelivered)?;
                }
                Tally::Produced(records.iter().map(|r| r.entity).collect())
            }
            Outcome::Rejected { code, detail } => {
                if input.previous_code.as_deref() == Some(code) {
                    Tally::StillFailing
                } else {
                    self.dead_letter(&input, code, &detail).await?;
                    Tally::DeadLettered
                }
            }
        };
        Ok(tally)
    }

    /// Enqueues every event of a message in order, retrying a full queue until shutdown.
    async fn enqueue(
        &self,
        records: &[Encoded],
    ) -> Result<Vec<impl Future<Output = Result<Delivery, KafkaFailure>> + Send + 'static>, Halt>
    {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            let out = || OutRecord {
                topic: &record.topic,
                key: record.key.as_bytes(),
                payload: &record.payload,
                headers: None,
            };
            let delivery = self
                .retrying("producer", "Enqueueing an event failed; retrying.", || {
                    self.producer.enqueue(out())
                })
                .await?;
            deliveries.push(delivery);
        }
        Ok(deliveries)
    }

    /// Writes `input` to the DLQ with its original position, retrying until shutdown.
    async fn dead_letter(
        &self,
        input: &Admitted,
        code: &'static str,
        detail: &str,
    ) -> Result<(), Halt> {
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
        self.retrying("dlq", "Dead-letter publish failed; retrying.", || {
            self.dlq
                .publish(&raw.key, &raw.payload, input.headers.as_ref(), letter)
        })
        .await
        .map(|_| ())
    }

    /// Runs `attempt` until it succeeds, backing off from 100 ms to 30 s, or until shutdown.
    async fn retrying<T, F: Future<Output = Result<T, KafkaFailure>>>(
        &self,
        what: &'static str,
        warning: &'static str,
        mut attempt: impl FnMut() -> F,
    ) -> Result<T, Halt> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(e) => {
                    warn!(error = %e, "{warning}");
                    self.processor
                        .metrics
                        .retries
                        .with_label_values(&[what])
                        .inc();
                    tokio::select! {
                        () = self.stop.cancelled() => return Err(Halt::Stopped),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
