//! The `connector-hl7` binary: loads settings, initialises logging, serves the MLLP listeners
//! until SIGINT or SIGTERM, then finishes in-flight messages and exits.

use anyhow::Context;
use connector_hl7::settings::{USAGE, parse_args};
use connector_hl7::{Settings, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(config) = parse_args(std::env::args().skip(1)).map_err(anyhow::Error::msg)? else {
        eprintln!("{USAGE}");
        return Ok(());
    };
    let settings: Settings = hub_config::load(config.as_deref()).context("loading settings")?;
    hub_telemetry::init_tracing(settings.log_format);
    run(settings, shutdown_signal()).await?;
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
