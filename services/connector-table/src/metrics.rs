//! The connector's Prometheus metrics, `hub_table_*`. Labels are bounded: `facility` and
//! `table` come from the configuration, `reason` from a fixed list in this crate.

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Handles on the metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Rows read from the source.
    pub read: IntCounterVec,
    /// Rows confirmed in the raw topic.
    pub published: IntCounterVec,
    /// Batches not committed, by reason (`source`, `kafka`, `state`).
    pub failures: IntCounterVec,
    /// Seconds between the source's clock and the cursor.
    pub lag: GaugeVec,
    /// Source rows in the reconciliation window.
    pub source_rows: IntGaugeVec,
    /// Hub row versions in the reconciliation window.
    pub hub_rows: IntGaugeVec,
    /// Days whose count or hash still differ after the late-row re-send.
    pub mismatched_days: IntGaugeVec,
    /// Rows found missing by the reconciliation (and re-sent).
    pub late_rows: IntCounterVec,
    /// Rows delivered that the source no longer has.
    pub hub_only_rows: IntGaugeVec,
    /// Source rows without a change time (never readable).
    pub null_change_times: IntGaugeVec,
    /// Unix time of the last complete reconciliation.
    pub reconciled_at: GaugeVec,
    /// Dead letters (shared name with the other services).
    pub dlq: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    /// The registry already holds metrics with these names.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let ft = &["facility", "table"];
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let int_gauge = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(name, help), &["facility", "table"])
        };
        let m = Self {
            read: counter(
                "hub_table_rows_read_total",
                "Rows read from source tables.",
                ft,
            )?,
            published: counter(
                "hub_table_rows_published_total",
                "Rows confirmed by the broker in the raw topic.",
                ft,
            )?,
            failures: counter(
                "hub_table_batch_failures_total",
                "Batches not committed (retried from the same cursor), by reason.",
                &["facility", "table", "reason"],
            )?,
            lag: GaugeVec::new(
                Opts::new(
                    "hub_table_cursor_lag_seconds",
                    "Source database clock minus the cursor's change time, in seconds.",
                ),
                ft,
            )?,
            source_rows: int_gauge(
                "hub_table_reconcile_source_rows",
                "Source rows up to the cursor in the reconciliation window.",
            )?,
            hub_rows: int_gauge(
                "hub_table_reconcile_hub_rows",
                "Row versions the hub delivered in the reconciliation window.",
            )?,
            mismatched_days: int_gauge(
                "hub_table_reconcile_mismatched_days",
                "Days whose row count or hash differ between source and hub after re-sending.",
            )?,
            late_rows: counter(
                "hub_table_late_rows_total",
                "Rows the reconciliation found missing in the hub (committed after the safety \
                 window) and re-sent.",
                ft,
            )?,
            hub_only_rows: int_gauge(
                "hub_table_reconcile_hub_only_rows",
                "Rows delivered by the hub that the source no longer has (deleted at the source).",
            )?,
            null_change_times: int_gauge(
                "hub_table_rows_without_change_time",
                "Source rows whose change time is NULL: the poller can never read them.",
            )?,
            reconciled_at: GaugeVec::new(
                Opts::new(
                    "hub_table_reconcile_last_run_timestamp_seconds",
                    "Unix time of the last complete reconciliation.",
                ),
                ft,
            )?,
            dlq: counter(
                "hub_dlq_published_events_total",
                "Inputs sent to a dead-letter topic.",
                &["stage", "error_code"],
            )?,
        };
        for c in [&m.read, &m.published, &m.failures, &m.late_rows, &m.dlq] {
            registry.register(Box::new(c.clone()))?;
        }
        for g in [&m.lag, &m.reconciled_at] {
            registry.register(Box::new(g.clone()))?;
        }
        for g in [
            &m.source_rows,
            &m.hub_rows,
            &m.mismatched_days,
            &m.hub_only_rows,
            &m.null_change_times,
        ] {
            registry.register(Box::new(g.clone()))?;
        }
        Ok(m)
    }
}
