//! The normaliser's metrics. Labels are bounded: topic, entity, facility, error code, identity
//! action and method; never a person or a message id.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Counters and histograms of the normaliser.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Raw messages read, by topic.
    pub received: IntCounterVec,
    /// Canonical events produced (acknowledged by the broker), by entity.
    pub produced: IntCounterVec,
    /// Messages rejected to the dead-letter topic, by error code.
    pub rejected: IntCounterVec,
    /// Time to map, resolve and encode one message.
    pub normalise_seconds: Histogram,
    /// EMPI decisions by action and method.
    pub identity: IntCounterVec,
    /// Coded values seen and left unmapped, by facility (`outcome` = mapped | unmapped).
    pub codes: IntCounterVec,
    /// Transient failures (database, broker) that were retried.
    pub retries: IntCounterVec,
    /// 1 when the normaliser runs in Kafka transactions (exactly-once), 0 when at-least-once.
    pub exactly_once: IntGauge,
    /// Messages of the input not yet committed by the group, by topic and partition (bounded by
    /// the input topics' partition counts).
    pub consumer_lag: IntGaugeVec,
}

impl Metrics {
    /// Creates and registers the metrics.
    ///
    /// # Errors
    /// A metric is already registered.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(metric.clone()))?;
                Ok(metric)
            };
        let normalise_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "hub_normalise_duration_seconds",
                "Time to map, resolve and encode one raw message.",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
            ]),
        )?;
        registry.register(Box::new(normalise_seconds.clone()))?;
        let exactly_once = IntGauge::new(
            "hub_normaliser_exactly_once",
            "1 when consume-transform-produce runs in Kafka transactions, 0 when at-least-once.",
        )?;
        registry.register(Box::new(exactly_once.clone()))?;
        let consumer_lag = hub_kafka::lag::register_gauge(registry)?;
        Ok(Self {
            exactly_once,
            consumer_lag,
            received: counter(
                "hub_normaliser_received_messages_total",
                "Raw messages read.",
                &["topic"],
            )?,
            produced: counter(
                "hub_normaliser_produced_events_total",
                "Canonical events acknowledged by the broker.",
                &["entity"],
            )?,
            rejected: counter(
                "hub_normaliser_rejected_messages_total",
                "Raw messages sent to dlq.normaliser.",
                &["error_code"],
            )?,
            normalise_seconds,
            identity: counter(
                "hub_identity_decisions_total",
                "EMPI decisions.",
                &["action", "method"],
            )?,
            codes: counter(
                "hub_normaliser_coded_values_total",
                "Coded values seen by terminology mapping.",
                &["facility", "outcome"],
            )?,
            retries: counter(
                "hub_normaliser_retries_total",
                "Transient failures retried.",
                &["cause"],
            )?,
        })
    }
}
