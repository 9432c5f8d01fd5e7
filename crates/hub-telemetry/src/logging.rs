//! Tracing initialisation.

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Plain,
    /// One JSON object per line, for a log shipper.
    Json,
}

/// Initialises the global subscriber once; later calls are ignored (tests start many services in
/// one process). The filter comes from `RUST_LOG`, defaulting to `info`.
///
/// Logs carry ids, counts, codes and timings, never message contents: payloads are health data.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
