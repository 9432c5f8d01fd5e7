//! The `normaliser` binary: parses the command line ([`normaliser::cli`]), loads settings
//! (`--config FILE` and `HUB__*`), initialises logging, and runs the service until SIGINT or
//! SIGTERM, or a bounded `replay` / `redrive` command until it has caught up (its counts are
//! printed on stdout).

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use normaliser::cli::{Cli, Command};
use normaliser::intake::Window;
use normaliser::{Settings, commands, run};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings: Settings = hub_config::load(cli.config.as_deref()).context("loading settings")?;
    hub_telemetry::init_tracing(settings.log_format);
    let shutdown = hub_telemetry::shutdown_signal();
    let counts = match cli.command {
        None => {
            let admin = TcpListener::bind(&settings.admin_listen)
                .await
                .with_context(|| format!("binding {}", settings.admin_listen))?;
            return run(settings, admin, shutdown).await;
        }
        Some(Command::Replay {
            topic,
            since,
            until,
        }) => {
            let window = Window { since, until };
            commands::replay(settings, &topic, window, shutdown).await?
        }
        Some(Command::Redrive { error_code }) => {
            commands::redrive(settings, error_code, shutdown).await?
        }
    };
    writeln!(std::io::stdout(), "{counts}")?;
    Ok(())
}
