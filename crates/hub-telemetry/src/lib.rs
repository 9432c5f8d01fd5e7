//! Telemetry shared by every hub service: structured logs without personal data, and the
//! operational HTTP endpoints.
//!
//! - [`init_tracing`] sets up `tracing` (plain or JSON lines, filtered by `RUST_LOG`).
//! - [`Telemetry`] owns the service's Prometheus registry and its readiness state, and
//!   [`Telemetry::router`] serves `/metrics` (Prometheus text format), `/healthz` (the process
//!   is alive) and `/readyz` (its dependencies are reachable and it is doing its job).
//!
//! Metric names follow Prometheus conventions: a `hub_` prefix, base units, `_total` for
//! counters, `_seconds` histograms, and only bounded labels (service, facility, source, topic,
//! error code), never anything that identifies a person.

mod endpoints;
mod logging;
mod shutdown;

pub use endpoints::{Health, Telemetry, serve};
pub use logging::{LogFormat, init_tracing};
pub use shutdown::shutdown_signal;
