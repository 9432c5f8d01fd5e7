//! The monitor's own metrics, and the indicator gauges refreshed from the database.

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::health::PipelineHealth;
use crate::report::Report;

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
    /// `hub_indicator_chapter_value{county, chapter, indicator, scope}`: outflow by ICD-10
    /// chapter (`outflow_visit_share`, `outflow_stay_share`; 25 chapter values at most).
    pub chapter_indicator: GaugeVec,
    /// `hub_monitor_events_last_hour{entity}`: facts received in the last hour (from the DB).
    pub events_last_hour: IntGaugeVec,
    /// `hub_monitor_dead_letters_last_hour{stage}`: dead letters written in the last hour.
    pub dead_letters_last_hour: IntGaugeVec,
    /// `hub_monitor_facility_silence_seconds{county, facility}`: seconds since the facility's
    /// last message (absent when none in seven days).
    pub facility_silence: IntGaugeVec,
    /// `hub_monitor_silent_facilities{county}`: facilities without a message for
    /// `silent_after_secs`.
    pub silent_facilities: IntGaugeVec,
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
            chapter_indicator: GaugeVec::new(
                Opts::new(
                    "hub_indicator_chapter_value",
                    "Patient outflow by ICD-10 chapter of the principal diagnosis.",
                ),
                &["county", "chapter", "indicator", "scope"],
            )?,
            events_last_hour: IntGaugeVec::new(
                Opts::new(
                    "hub_monitor_events_last_hour",
                    "Canonical events received by the hub in the last hour, per entity.",
                ),
                &["entity"],
            )?,
            dead_letters_last_hour: IntGaugeVec::new(
                Opts::new(
                    "hub_monitor_dead_letters_last_hour",
                    "Dead letters written in the last hour, per stage.",
                ),
                &["stage"],
            )?,
            facility_silence: IntGaugeVec::new(
                Opts::new(
                    "hub_monitor_facility_silence_seconds",
                    "Seconds since the facility's last message.",
                ),
                &["county", "facility"],
            )?,
            silent_facilities: IntGaugeVec::new(
                Opts::new(
                    "hub_monitor_silent_facilities",
                    "County facilities without a message for silent_after_secs.",
                ),
                &["county"],
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
        registry.register(Box::new(m.chapter_indicator.clone()))?;
        registry.register(Box::new(m.events_last_hour.clone()))?;
        registry.register(Box::new(m.dead_letters_last_hour.clone()))?;
        registry.register(Box::new(m.facility_silence.clone()))?;
        registry.register(Box::new(m.silent_facilities.clone()))?;
        registry.register(Box::new(m.unknown_facility_events.clone()))?;
        registry.register(Box::new(m.received.clone()))?;
        registry.register(Box::new(m.alerts.clone()))?;
        registry.register(Box::new(m.retries.clone()))?;
        registry.register(Box::new(m.batch_write_seconds.clone()))?;
        registry.register(Box::new(m.refresh_seconds.clone()))?;
        Ok(m)
    }
}

impl Metrics {
    /// Sets the gauges beyond the indicator list: outflow by chapter and per-facility data
    /// quality of `reports` (after the caller reset `facility_indicator`), and the pipeline
    /// health of each county. Resets its own gauges first: a cell that became suppressed or a
    /// facility no longer seen disappears.
    pub fn publish_details(&self, reports: &[Report], health: &[PipelineHealth]) {
        self.chapter_indicator.reset();
        self.events_last_hour.reset();
        self.dead_letters_last_hour.reset();
        self.facility_silence.reset();
        self.silent_facilities.reset();
        for r in reports {
            for row in &r.outflow {
                for (id, value) in [
                    ("outflow_visit_share", row.visit_outflow_share),
                    ("outflow_stay_share", row.stay_outflow_share),
                ] {
                    if let Some(v) = value {
                        self.chapter_indicator
                            .with_label_values(&[r.county.as_str(), &row.chapter, id, r.scope])
                            .set(v);
                    }
                }
            }
            for f in &r.data_quality.facilities {
                for (id, v) in f.gauges() {
                    self.facility_indicator
                        .with_label_values(&[r.county.as_str(), f.facility.as_str(), id, r.scope])
                        .set(v);
                }
            }
        }
        for h in health {
            for e in &h.events_last_hour {
                self.events_last_hour
                    .with_label_values(&[e.entity.as_str()])
                    .set(e.events);
            }
            for d in &h.dead_letters_last_hour {
                self.dead_letters_last_hour
                    .with_label_values(&[d.stage.as_str()])
                    .set(d.dead_letters);
            }
            for f in &h.facilities {
                if let Some(secs) = f.silent_secs {
                    self.facility_silence
                        .with_label_values(&[h.county.as_str(), f.facility.as_str()])
                        .set(secs);
                }
            }
            let silent = h.facilities.iter().filter(|f| f.silent).count();
            self.silent_facilities
                .with_label_values(&[h.county.as_str()])
                .set(i64::try_from(silent).unwrap_or(i64::MAX));
        }
    }
}
