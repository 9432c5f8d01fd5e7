//! The `record` binary: loads settings (`--config FILE` and `HUB__*`), initialises logging, and
//! runs the sink and the query API until SIGINT or SIGTERM.

use anyhow::Context;
use record::{Settings, run};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: record [--config <file.yaml>]";
    let config = match hub_config::cli::parse_args(std::env::args().skip(1)) {
        Ok(hub_config::cli::Command::Run(config)) => config,
        Ok(hub_config::cli::Command::Help) => {
            eprintln!("{usage}");
            return Ok(());
        }
        Err(e) => anyhow::bail!("{e}\n{usage}"),
    };
    let settings: Settings = hub_config::load(config.as_deref()).context("loading settings")?;
    hub_telemetry::init_tracing(settings.log_format);
    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    run(settings, listener, hub_telemetry::shutdown_signal())
        .await
        .context("record service")
}
