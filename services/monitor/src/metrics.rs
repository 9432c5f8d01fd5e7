//! The monitor's own metrics, and the indicator gauges refreshed from the database.

use prometheus::{GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric of the service (cheap to clone: the handles share their values).
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `hub_indicator_value{county, indicator, scope}`: county-level indicators (current month
    /// and year to date). Suppressed cells are absent.
    pub indicator: GaugeVec,
    /// `hub_indicator_facility_value{county, facility, indicator, scope}`: per-facility
    /// indicators only (shared-centre turnaround).
    pub facility_indicator: GaugeVec,
    /// `hub_indicator_target{county, indicator}`: the configured target.
    pub target: GaugeVec,
    /// `hub_monitor_unknown_facility_events`: facts from facilities missing in the registry.
    pub unknown_facility_events: IntGauge,
    /// `hub_component_received_events_total{entity}`: canonical events consumed.
    pub received: IntCounterVec,
    /// `hub_monitor_alerts_produced_total`: clinical alerts produced.
    pub alerts: IntCounterVec,
    /// `hub_sink_retries_total{cause}`: batches retried.
    pub retries: IntCounterVec,
    /// `hub_sink_batch_write_duration_seconds`: one fact transaction, commit included.
    pub batch_write_seconds: Histogram,
    /// `hub_monitor_refresh_duration_seconds`: one refresh of every gauge.
    pub refresh_seconds: Histogram,
}

impl Metrics {
    /// Creates and registers the metrics in `registry`.
    ///
    /// # Errors
    /// A metric is already registered differently.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Self {
            indicator: GaugeVec::new(
                Opts::new(
                    "hub_indicator_value",
                    "County medical-community indicator value.",
                ),
                &["county", "indicator", "scope"],
            )?,
            facility_indicator: GaugeVec::new(
                Opts::new(
                    "hub_indicator_facility_value",
                    "Per-facility indicator value (shared centres).",
                ),
                &["county", "facility", "indicator", "scope"],
            )?,
            target: GaugeVec::new(
                Opts::new("hub_indicator_target", "Configured target of an indicator."),
                &["county", "indicator"],
            )?,
            unknown_facility_events: IntGauge::new(
                "hub_monitor_unknown_facility_events",
                "Facts whose facility code is not in the registry.",
            )?,
            received: IntCounterVec::new(
                Opts::new(
                    "hub_component_received_events_total",
                    "Canonical events consumed.",
                ),
                &["entity"],
            )?,
            alerts: IntCounterVec::new(
                Opts::new(
                    "hub_monitor_alerts_produced_total",
                    "Clinical alerts produced.",
                ),
                &["alert_type"],
            )?,
            retries: IntCounterVec::new(
                Opts::new("hub_sink_retries_total", "Batches retried after a failure."),
                &["cause"],
            )?,
            batch_write_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "hub_sink_batch_write_duration_seconds",
                    "Time to write one batch of facts, commit included.",
                )
                .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
            )?,
            refresh_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "hub_monitor_refresh_duration_seconds",
                    "Time to recompute every gauge from the database.",
                )
                .buckets(vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
            )?,
        };
        registry.register(Box::new(m.indicator.clone()))?;
        registry.register(Box::new(m.facility_indicator.clone()))?;
        registry.register(Box::new(m.target.clone()))?;
        registry.register(Box::new(m.unknown_facility_events.clone()))?;
        registry.register(Box::new(m.received.clone()))?;
        registry.register(Box::new(m.alerts.clone()))?;
        registry.register(Box::new(m.retries.clone()))?;
        registry.register(Box::new(m.batch_write_seconds.clone()))?;
        registry.register(Box::new(m.refresh_seconds.clone()))?;
        Ok(m)
    }
}
