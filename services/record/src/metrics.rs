//! The record service's metrics: `hub_sink_*` for the sink, `hub_record_*` for the API.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

/// Every metric of the service (cheap to clone: the handles share their values).
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `hub_sink_batch_write_duration_seconds`: one transaction per batch, commit included.
    pub batch_write_seconds: Histogram,
    /// `hub_sink_batch_size_events`: events per written batch (after de-duplication).
    pub batch_size: Histogram,
    /// `hub_record_events_written_total{entity}`: events upserted.
    pub events_written: IntCounterVec,
    /// `hub_sink_retries_total{cause}`: batches retried (database, registry, dead-letter topic).
    pub retries: IntCounterVec,
    /// `hub_record_reads_total{endpoint, status}`: API requests by route and HTTP status.
    pub reads: IntCounterVec,
    /// `hub_record_request_duration_seconds{endpoint}`: API latency by route.
    pub request_seconds: prometheus::HistogramVec,
    /// `hub_record_audit_rows_total`: audit rows written.
    pub audit_rows: IntCounter,
}

impl Metrics {
    /// Creates and registers the metrics in `registry`.
    ///
    /// # Errors
    /// A metric is already registered differently.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let batch_write_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "hub_sink_batch_write_duration_seconds",
                "Time to write one batch to PostgreSQL, commit included.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("hub_sink_batch_size_events", "Events per written batch.")
                .buckets(vec![1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0]),
        )?;
        let events_written = IntCounterVec::new(
            Opts::new(
                "hub_record_events_written_total",
                "Canonical events upserted into the record.",
            ),
            &["entity"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new("hub_sink_retries_total", "Batches retried after a failure."),
            &["cause"],
        )?;
        let reads = IntCounterVec::new(
            Opts::new("hub_record_reads_total", "Record API requests."),
            &["endpoint", "status"],
        )?;
        let request_seconds = prometheus::HistogramVec::new(
            HistogramOpts::new("hub_record_request_duration_seconds", "Record API latency.")
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
                ]),
            &["endpoint"],
        )?;
        let audit_rows = IntCounter::new("hub_record_audit_rows_total", "Audit rows written.")?;
        registry.register(Box::new(batch_write_seconds.clone()))?;
        registry.register(Box::new(batch_size.clone()))?;
        registry.register(Box::new(events_written.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(reads.clone()))?;
        registry.register(Box::new(request_seconds.clone()))?;
        registry.register(Box::new(audit_rows.clone()))?;
        Ok(Self {
            batch_write_seconds,
            batch_size,
            events_written,
            retries,
            reads,
            request_seconds,
            audit_rows,
        })
    }
}
