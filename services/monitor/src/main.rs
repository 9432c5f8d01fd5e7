//! The `monitor` binary: loads settings (`--config FILE` and `HUB__*`), initialises logging, and
//! runs the consumer, the gauges and the dashboard until SIGINT or SIGTERM.

use anyhow::Context;
use monitor::{Settings, run};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match args.as_slice() {
        [] => None,
        [flag, file] if flag == "--config" => Some(std::path::PathBuf::from(file)),
        _ => anyhow::bail!("usage: monitor [--config <file.yaml>]"),
    };
    let settings: Settings = hub_config::load(config.as_deref()).context("loading settings")?;
    hub_telemetry::init_tracing(settings.log_format);
    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    run(settings, listener, hub_telemetry::shutdown_signal())
        .await
        .context("monitor service")
}
