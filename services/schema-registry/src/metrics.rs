//! The registry's Prometheus metrics, registered in the service's telemetry registry.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Requests served, by matched route template and HTTP status.
pub const REQUESTS_TOTAL: &str = "hub_registry_requests_total";
/// Distinct schemas (global ids) stored.
pub const SCHEMAS: &str = "hub_registry_schemas";
/// Label value for requests that matched no route (keeps the label bounded).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Handles on the registry's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: IntCounterVec,
    schemas: IntGauge,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    /// The registry already holds metrics with these names.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                REQUESTS_TOTAL,
                "HTTP requests served, by route template and status.",
            ),
            &["route", "status"],
        )?;
        let schemas = IntGauge::new(SCHEMAS, "Distinct schemas (global ids) stored.")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(schemas.clone()))?;
        Ok(Self { requests, schemas })
    }

    /// Counts one request. `route` must be a route template, never a raw path.
    pub fn request(&self, route: &str, status: u16) {
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
    }

    /// Sets the number of stored schemas.
    pub fn set_schemas(&self, count: i64) {
        self.schemas.set(count);
    }
}
