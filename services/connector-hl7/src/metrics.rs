//! The connector's Prometheus metrics. Labels are bounded: `facility` and `source` come from
//! configuration, `code` from HL7 table 0008, `error_code` and `reason` from fixed lists.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Handles on the metrics, shared by every listener.
#[derive(Debug, Clone)]
pub struct Metrics {
    received: IntCounterVec,
    acks: IntCounterVec,
    rejected: IntCounterVec,
    duplicates: IntCounterVec,
    bytes: IntCounterVec,
    latency: HistogramVec,
    open: IntGaugeVec,
    discarded: IntCounterVec,
    refused: IntCounterVec,
    charset_errors: IntCounterVec,
    dlq: IntCounterVec,
}

/// The metrics of one listener, with its labels resolved.
#[derive(Debug, Clone)]
pub struct ListenerMetrics {
    all: Metrics,
    facility: String,
    source: &'static str,
    /// Messages received (each message of a batch counts).
    pub received: IntCounter,
    /// Message bytes received (frame contents).
    pub bytes: IntCounter,
    /// Stored messages whose key was stored before, within the window.
    pub duplicates: IntCounter,
    /// Frame receipt to ACK written, in seconds.
    pub latency: Histogram,
    /// Connections open now.
    pub open: IntGauge,
    /// Bytes outside MLLP frames, dropped.
    pub discarded: IntCounter,
    /// Messages stored although their bytes are not valid in their declared charset.
    pub charset_errors: IntCounter,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    /// The registry already holds metrics with these names.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let fs = &["facility", "source"];
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let metrics = Self {
            received: counter(
                "hub_hl7_messages_received_total",
                "HL7 messages received.",
                fs,
            )?,
            acks: counter(
                "hub_hl7_acks_total",
                "ACKs sent, by MSA-1 code.",
                &["facility", "source", "code"],
            )?,
            rejected: counter(
                "hub_hl7_rejected_total",
                "Messages answered with AE/AR (CE/CR), by reason.",
                &["facility", "source", "error_code"],
            )?,
            duplicates: counter(
                "hub_hl7_duplicate_messages_total",
                "Stored messages whose facility and MSH-10 were stored recently (resends).",
                fs,
            )?,
            bytes: counter(
                "hub_hl7_received_bytes_total",
                "Message bytes received.",
                fs,
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "hub_hl7_ack_latency_seconds",
                    "From a message's last byte to its ACK written.",
                )
                .buckets(vec![
                    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                fs,
            )?,
            open: IntGaugeVec::new(
                Opts::new("hub_hl7_open_connections", "MLLP connections open."),
                fs,
            )?,
            discarded: counter(
                "hub_hl7_discarded_bytes_total",
                "Bytes received outside MLLP frames and dropped.",
                fs,
            )?,
            refused: counter(
                "hub_hl7_refused_connections_total",
                "Connections closed on accept, by reason.",
                &["facility", "source", "reason"],
            )?,
            charset_errors: counter(
                "hub_hl7_charset_errors_total",
                "Messages stored whose bytes are malformed in their declared charset.",
                fs,
            )?,
            dlq: counter(
                "hub_dlq_published_events_total",
                "Inputs sent to a dead-letter topic.",
                &["stage", "error_code"],
            )?,
        };
        registry.register(Box::new(metrics.received.clone()))?;
        registry.register(Box::new(metrics.acks.clone()))?;
        registry.register(Box::new(metrics.rejected.clone()))?;
        registry.register(Box::new(metrics.duplicates.clone()))?;
        registry.register(Box::new(metrics.bytes.clone()))?;
        registry.register(Box::new(metrics.latency.clone()))?;
        registry.register(Box::new(metrics.open.clone()))?;
        registry.register(Box::new(metrics.discarded.clone()))?;
        registry.register(Box::new(metrics.refused.clone()))?;
        registry.register(Box::new(metrics.charset_errors.clone()))?;
        registry.register(Box::new(metrics.dlq.clone()))?;
        Ok(metrics)
    }

    /// The metrics of the listener for `facility` and `source`.
    pub fn listener(&self, facility: &str, source: &'static str) -> ListenerMetrics {
        let l = [facility, source];
        ListenerMetrics {
            all: self.clone(),
            facility: facility.to_owned(),
            source,
            received: self.received.with_label_values(&l),
            bytes: self.bytes.with_label_values(&l),
            duplicates: self.duplicates.with_label_values(&l),
            latency: self.latency.with_label_values(&l),
            open: self.open.with_label_values(&l),
            discarded: self.discarded.with_label_values(&l),
            charset_errors: self.charset_errors.with_label_values(&l),
        }
    }
}

impl ListenerMetrics {
    /// Counts an ACK sent with `code`.
    pub fn ack(&self, code: &'static str) {
        self.all
            .acks
            .with_label_values(&[self.facility.as_str(), self.source, code])
            .inc();
    }

    /// Counts a refused message.
    pub fn rejected(&self, error_code: &'static str) {
        self.all
            .rejected
            .with_label_values(&[self.facility.as_str(), self.source, error_code])
            .inc();
    }

    /// Counts a connection closed on accept (`not_allowed`, `connection_limit`, `tls_handshake`).
    pub fn refused(&self, reason: &'static str) {
        self.all
            .refused
            .with_label_values(&[self.facility.as_str(), self.source, reason])
            .inc();
    }

    /// Counts a dead letter written.
    pub fn dead_lettered(&self, error_code: &'static str) {
        self.all
            .dlq
            .with_label_values(&[crate::SERVICE, error_code])
            .inc();
    }
}
