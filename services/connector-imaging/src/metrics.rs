//! The connector's Prometheus metrics, `hub_imaging_*`. Labels are bounded: `sender` is a
//! configured sender code (or `unknown` before authentication), `channel` is `http` or `file`,
//! `outcome` and `error_code` come from fixed lists in this crate.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Where instances came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `POST /v1/instances`.
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
    instances: IntCounterVec,
    rejected: IntCounterVec,
    bytes: IntCounterVec,
    files: IntCounterVec,
    requests: IntCounterVec,
    ack: HistogramVec,
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
        let metrics = Self {
            instances: counter(
                "hub_imaging_instances_total",
                "DICOM instances received, by outcome (stored, not_stored, rejected).",
                &["sender", "channel", "outcome"],
            )?,
            rejected: counter(
                "hub_imaging_rejected_total",
                "Files and request bodies rejected, by reason.",
                &["sender", "channel", "error_code"],
            )?,
            bytes: counter(
                "hub_imaging_received_bytes_total",
                "Request bodies and file headers read, in bytes (files: their size on disk).",
                &["sender", "channel"],
            )?,
            files: counter(
                "hub_imaging_files_total",
                "Drop-folder files handled, by outcome (done, failed, retry).",
                &["sender", "outcome"],
            )?,
            requests: counter(
                "hub_imaging_requests_total",
                "HTTP requests answered, by outcome.",
                &["sender", "outcome"],
            )?,
            ack: HistogramVec::new(
                HistogramOpts::new(
                    "hub_imaging_ack_duration_seconds",
                    "Receipt to acknowledgement (HTTP answer, or the file's move), in seconds.",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ]),
                &["channel"],
            )?,
            // Same name, help and labels as hub_kafka::dlq::DlqPublisher's counter.
            dlq: counter(
                "hub_dlq_published_events_total",
                "Inputs sent to a dead-letter topic.",
                &["stage", "error_code"],
            )?,
        };
        for c in [
            &metrics.instances,
            &metrics.rejected,
            &metrics.bytes,
            &metrics.files,
            &metrics.requests,
            &metrics.dlq,
        ] {
            registry.register(Box::new(c.clone()))?;
        }
        registry.register(Box::new(metrics.ack.clone()))?;
        Ok(metrics)
    }

    /// Counts `n` instances with `outcome`.
    pub fn instances(&self, sender: &str, channel: Channel, outcome: &str, n: u64) {
        self.instances
            .with_label_values(&[sender, channel.as_str(), outcome])
            .inc_by(n);
    }

    /// Counts a rejected file or body.
    pub fn rejected(&self, sender: &str, channel: Channel, code: &str) {
        self.rejected
            .with_label_values(&[sender, channel.as_str(), code])
            .inc();
    }

    /// Counts bytes read.
    pub fn bytes(&self, sender: &str, channel: Channel, n: u64) {
        self.bytes
            .with_label_values(&[sender, channel.as_str()])
            .inc_by(n);
    }

    /// Counts a handled file and, when it left `incoming/`, its acknowledgement latency.
    pub fn file(&self, sender: &str, outcome: &str, seconds: Option<f64>) {
        self.files.with_label_values(&[sender, outcome]).inc();
        if let Some(seconds) = seconds {
            self.ack.with_label_values(&["file"]).observe(seconds);
        }
    }

    /// Counts an answered request and its latency.
    pub fn request(&self, sender: &str, outcome: &str, seconds: f64) {
        self.requests.with_label_values(&[sender, outcome]).inc();
        self.ack.with_label_values(&["http"]).observe(seconds);
    }

    /// Counts a durable dead letter.
    pub fn dead_lettered(&self, error_code: &str) {
        self.dlq
            .with_label_values(&[crate::SERVICE, error_code])
            .inc();
    }
}
