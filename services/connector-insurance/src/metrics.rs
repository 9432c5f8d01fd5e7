//! The connector's Prometheus metrics. Labels are bounded: `sender` is a configured sender code
//! (or `unknown` before authentication), `channel` is `http` or `file`, `outcome` and
//! `error_code` come from fixed lists in this crate.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Where records came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `POST /v1/settlements`.
    Http,
    /// A drop-folder file.
    File,
}

impl Channel {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::File => "file",
        }
    }
}

/// Handles on the metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    received: IntCounterVec,
    accepted: IntCounterVec,
    rejected: IntCounterVec,
    not_stored: IntCounterVec,
    bytes: IntCounterVec,
    requests: IntCounterVec,
    latency: HistogramVec,
    files: IntCounterVec,
    dlq: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    /// The registry already holds metrics with these names.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let sc = &["sender", "channel"];
        let metrics = Self {
            received: counter(
                "hub_insurance_records_received_total",
                "Settlement records received.",
                sc,
            )?,
            accepted: counter(
                "hub_insurance_records_accepted_total",
                "Valid settlement records durable in the raw topic.",
                sc,
            )?,
            rejected: counter(
                "hub_insurance_records_rejected_total",
                "Settlement records rejected by validation, by reason.",
                &["sender", "channel", "error_code"],
            )?,
            not_stored: counter(
                "hub_insurance_records_not_stored_total",
                "Records the broker did not take (the sender or the file retry).",
                sc,
            )?,
            bytes: counter(
                "hub_insurance_received_bytes_total",
                "Request bodies and drop files read, in bytes.",
                sc,
            )?,
            requests: counter(
                "hub_insurance_requests_total",
                "HTTP requests answered, by outcome.",
                &["sender", "outcome"],
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "hub_insurance_request_duration_seconds",
                    "Request receipt to answer (commit-then-answer), in seconds.",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ]),
                &["outcome"],
            )?,
            files: counter(
                "hub_insurance_files_total",
                "Drop-folder files handled, by outcome (done, failed, retry).",
                &["sender", "outcome"],
            )?,
            // Same name, help and labels as hub_kafka::dlq::DlqPublisher's counter.
            dlq: counter(
                "hub_dlq_published_events_total",
                "Inputs sent to a dead-letter topic.",
                &["stage", "error_code"],
            )?,
        };
        for c in [
            &metrics.received,
            &metrics.accepted,
            &metrics.rejected,
            &metrics.not_stored,
            &metrics.bytes,
            &metrics.requests,
            &metrics.files,
            &metrics.dlq,
        ] {
            registry.register(Box::new(c.clone()))?;
        }
        registry.register(Box::new(metrics.latency.clone()))?;
        Ok(metrics)
    }

    /// Counts one batch's or file's records.
    pub fn records(&self, sender: &str, channel: Channel, tally: &Tally) {
        let labels = [sender, channel.as_str()];
        self.received
            .with_label_values(&labels)
            .inc_by(tally.received);
        self.accepted
            .with_label_values(&labels)
            .inc_by(tally.accepted);
        self.not_stored
            .with_label_values(&labels)
            .inc_by(tally.not_stored);
        for (code, n) in &tally.rejected {
            self.rejected
                .with_label_values(&[sender, channel.as_str(), code])
                .inc_by(*n);
        }
    }

    /// Counts bytes read.
    pub fn bytes(&self, sender: &str, channel: Channel, n: usize) {
        self.bytes
            .with_label_values(&[sender, channel.as_str()])
            .inc_by(n as u64);
    }

    /// Counts an answered request and its latency.
    pub fn request(&self, sender: &str, outcome: &str, seconds: f64) {
        self.requests.with_label_values(&[sender, outcome]).inc();
        self.latency.with_label_values(&[outcome]).observe(seconds);
    }

    /// Counts a handled file.
    pub fn file(&self, sender: &str, outcome: &str) {
        self.files.with_label_values(&[sender, outcome]).inc();
    }

    /// Counts a durable dead letter.
    pub fn dead_lettered(&self, error_code: &str) {
        self.dlq
            .with_label_values(&[crate::SERVICE, error_code])
            .inc();
    }
}

/// Counts of one batch or file, emitted together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records read.
    pub received: u64,
    /// Records durable in the raw topic.
    pub accepted: u64,
    /// Records rejected, by error code.
    pub rejected: Vec<(&'static str, u64)>,
    /// Records (valid or not) the broker did not take.
    pub not_stored: u64,
}

impl Tally {
    /// Adds one rejection with `code`.
    pub fn reject(&mut self, code: &'static str) {
        match self.rejected.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => self.rejected.push((code, 1)),
        }
    }
}
