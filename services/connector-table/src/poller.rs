//! One table's polling loop: read a batch after the cursor, produce it, wait for every delivery
//! report, then commit the cursor (and the ledger) in the hub's database. Nothing else moves the
//! cursor, so a row is either in Kafka or will be read again.
//!
//! # Why no row is lost
//!
//! Timestamp-and-key polling (Kafka Connect JDBC's `timestamp+incrementing` mode) loses rows
//! because rows become visible out of order: transaction A takes change time 10:00:00.1, B takes
//! 10:00:00.2 and commits first; a poll between the two commits sees B, moves the cursor past
//! 10:00:00.2 and never looks at A again (kafka-connect-jdbc#915, #172).
//!
//! Here a poll reads only rows with `change_time < now() - safety_window`, with `now()` the
//! *source database's* clock, and strictly after the cursor `(change_time, pk)`. A writer sets
//! the change time inside its transaction, no later than the commit. If every transaction
//! commits within the safety window, then when the horizon `H = now() - window` is computed,
//! every transaction that set a change time `< H` started before `H` and so committed before
//! `now()`: all rows below the horizon are already visible to the batch query that follows
//! (its snapshot is later than the horizon's). Rows still in flight have change times `>= H`,
//! beyond every cursor the batch can produce, so they are read by a later poll, whatever order
//! the commits come in. The key breaks ties between equal change times, so a batch may end in
//! the middle of them.
//!
//! # A transaction open longer than the window
//!
//! Its rows become visible below a cursor that has already moved on: the poller cannot see
//! them. The reconciliation (`reconcile.rs`) compares, per day, the source's `(pk, change
//! time)` pairs with the ledger of what the hub delivered, counts such rows in
//! `hub_table_late_rows_total` (an alert: raise the window) and re-sends them; their message
//! ids are deterministic, so a row that was in fact delivered is only a duplicate id.
//!
//! Other assumptions, stated in the example configuration: the change time is set on every
//! insert and update (rows without one are counted, never read), by the database clock or a
//! clock not ahead of it by more than the window, and deletes are not events (the
//! reconciliation counts rows the source no longer has).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_kafka::resettable::ResettableProducer;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cursor::{Cursor, Delivered, StateStore};
use crate::metrics::Metrics;
use crate::publish::{Route, publish};
use crate::settings::ReconcileSettings;
use crate::source::{SourceError, SourceTable};

/// Why a batch was not committed; it is read again from the same cursor.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Reading the source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Some rows were not confirmed by the broker.
    #[error("{0} rows not confirmed by the broker")]
    Kafka(u64),
    /// The cursor could not be stored.
    #[error("state database: {0}")]
    State(#[from] sqlx::Error),
}

impl PollError {
    /// The `reason` label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Source(_) => "source",
            Self::Kafka(_) => "kafka",
            Self::State(_) => "state",
        }
    }
}

/// How a table is polled.
#[derive(Debug, Clone)]
pub struct PollSettings {
    /// Rows per batch.
    pub batch_size: u32,
    /// The safety window.
    pub safety_window: Duration,
    /// Pause after catching up.
    pub poll_interval: Duration,
    /// The reconciliation.
    pub reconcile: ReconcileSettings,
}

/// One table's poller.
#[derive(Debug)]
pub struct TablePoller {
    /// Where rows go.
    pub route: Route,
    /// The source table.
    pub source: SourceTable,
    /// Cursor and ledger.
    pub state: StateStore,
    /// The producer.
    pub producer: Arc<ResettableProducer>,
    /// Metrics.
    pub metrics: Metrics,
    /// Settings.
    pub settings: PollSettings,
}

impl TablePoller {
    fn labels(&self) -> [&str; 2] {
        [self.route.facility.as_str(), self.route.table.as_str()]
    }

    /// Polls until `stop` is cancelled; a batch under way is finished first.
    pub async fn run(self, stop: CancellationToken) {
        let mut cursor = None;
        let mut loaded = false;
        let mut next_reconcile = Instant::now();
        let mut backoff = self.settings.poll_interval;
        while !stop.is_cancelled() {
            if !loaded {
                match self
                    .state
                    .cursor(&self.route.facility, &self.route.table)
                    .await
                {
                    Ok(c) => {
                        cursor = c;
                        loaded = true;
                    }
                    Err(e) => warn!(table = %self.route.table, error = %e,
                        "Cannot read the cursor; retrying."),
                }
            }
            let result = if loaded {
                self.poll_once(&mut cursor).await
            } else {
                Err(PollError::State(sqlx::Error::PoolClosed))
            };
            let pause = match result {
                Ok(false) => {
                    backoff = self.settings.poll_interval;
                    continue;
                }
                Ok(true) => {
                    backoff = self.settings.poll_interval;
                    if Instant::now() >= next_reconcile
                        && let Some(c) = &cursor
                    {
                        match self.reconcile(c).await {
                            Ok(_) => {
                                next_reconcile = Instant::now()
                                    + Duration::from_secs(self.settings.reconcile.interval_secs);
                            }
                            Err(e) => warn!(table = %self.route.table, error = %e,
                                "Reconciliation failed; retrying after the next poll."),
                        }
                    }
                    self.settings.poll_interval
                }
                Err(e) => {
                    warn!(table = %self.route.table, reason = e.reason(), error = %e,
                        "Batch not committed; reading it again from the same cursor.");
                    self.metrics
                        .failures
                        .with_label_values(&[
                            self.route.facility.as_str(),
                            self.route.table.as_str(),
                            e.reason(),
                        ])
                        .inc();
                    backoff =
                        (backoff * 2).clamp(Duration::from_millis(200), Duration::from_secs(30));
                    backoff
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        info!(table = %self.route.table, "Poller stopped.");
    }

    /// Reads, publishes and commits one batch; true when the table is caught up (the batch was
    /// not full).
    ///
    /// # Errors
    /// The source, the broker or the state database failed; the cursor did not move.
    pub async fn poll_once(&self, cursor: &mut Option<Cursor>) -> Result<bool, PollError> {
        let horizon = self
            .source
            .horizon(self.settings.safety_window, cursor.as_ref())
            .await?;
        if let Some(lag) = horizon.lag_seconds {
            self.metrics.lag.with_label_values(&self.labels()).set(lag);
        }
        let rows = self
            .source
            .batch(cursor.as_ref(), &horizon.before, self.settings.batch_size)
            .await?;
        let Some(last) = rows.last() else {
            return Ok(true);
        };
        let labels = self.labels();
        self.metrics
            .read
            .with_label_values(&labels)
            .inc_by(rows.len() as u64);
        let delivery = publish(&self.producer, &self.route, &rows).await;
        if !delivery.complete() {
            return Err(PollError::Kafka(delivery.failed));
        }
        let next = last.cursor();
        let delivered: Vec<Delivered> = rows
            .iter()
            .map(|r| Delivered {
                pk: r.pk.clone(),
                change_time: r.change_time.clone(),
            })
            .collect();
        self.state
            .commit(
                &self.route.facility,
                &self.route.table,
                &delivered,
                Some(&next),
            )
            .await?;
        self.metrics
            .published
            .with_label_values(&labels)
            .inc_by(delivery.published);
        if delivery.dead_lettered > 0 {
            self.metrics
                .dlq
                .with_label_values(&[crate::SERVICE, "table_row_refused"])
                .inc_by(delivery.dead_lettered);
        }
        *cursor = Some(next);
        Ok(rows.len() < self.settings.batch_size as usize)
    }
}
