//! The `schema-registry` binary: loads settings, initialises logging, binds the listener and
//! serves until SIGINT or SIGTERM.

use anyhow::Context;
use schema_registry::settings::{Command, USAGE, parse_args};
use schema_registry::{Settings, run};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config =
        match parse_args(std::env::args().skip(1)).map_err(|e| anyhow::anyhow!("{e}\n{USAGE}"))? {
            Command::Help => {
                eprintln!("{USAGE}");
                return Ok(());
            }
            Command::Run(config) => config,
        };
    let settings: Settings = hub_config::load(config.as_deref()).context("loading settings")?;
    hub_telemetry::init_tracing(settings.log_format);
    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    run(settings, listener, hub_telemetry::shutdown_signal()).await?;
    Ok(())
}
