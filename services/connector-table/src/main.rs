//! The `connector-table` binary: loads settings, initialises logging, polls the configured
//! tables until SIGINT or SIGTERM, then finishes the batches under way.

use anyhow::Context;
use connector_table::settings::{USAGE, parse_args};
use connector_table::{Settings, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(config) = parse_args(std::env::args().skip(1)).map_err(anyhow::Error::msg)? else {
        eprintln!("{USAGE}");
        return Ok(());
    };
    let settings: Settings = hub_config::load(config.as_deref()).context("loading settings")?;
    hub_telemetry::init_tracing(settings.log_format);
    run(settings, hub_telemetry::shutdown_signal()).await?;
    Ok(())
}
