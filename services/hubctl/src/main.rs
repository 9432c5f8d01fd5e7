//! `hubctl`: the operator's command-line tool.
//!
//! - `hubctl init`: creates every raw, canonical and dead-letter topic and registers the
//!   canonical schemas (FULL_TRANSITIVE) with the registry. Idempotent; run at every start.
//! - `hubctl tail <topic>`: prints canonical events of a topic as JSON lines, decoded through the
//!   registry with the writer's own schema. It prints health data: use it on synthetic data or
//!   where the operator is entitled to see it.
//! - `hubctl simulate`: a seeded synthetic county sent through the connectors (HL7 over MLLP,
//!   settlement batches over HTTP); `--print-expected` prints the indicator values its data
//!   must produce instead (see `crates/hub-simulator`).
//! - `hubctl reconcile`: after a simulated run, checks that every acknowledged message is in its
//!   raw topic, became canonical events and is in the record exactly once, and that the
//!   indicators equal the expected ones (the chaos test's verdict, `scripts/chaos`).
//! - `hubctl scan-logs <simulate's county arguments> PATH...`: regenerates the simulated county
//!   and searches log files for its personal data (ID numbers, names, phones, insurance numbers,
//!   patient ids); prints where, never what; exits 1 on a hit, 2 on an error.

mod commands;
mod reconcile;
mod scan_logs;
mod simulate;

use clap::{Parser, Subcommand};

/// The county health hub's command-line tool.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        env = "HUB_KAFKA",
        default_value = "127.0.0.1:9092",
        global = true
    )]
    bootstrap: String,
    /// Schema registry URL.
    #[arg(
        long,
        env = "HUB_REGISTRY_URL",
        default_value = "http://127.0.0.1:8081",
        global = true
    )]
    registry: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create all topics and register the canonical schemas.
    Init {
        /// Replication factor of created topics (1 on a single local broker).
        #[arg(long, default_value_t = 1)]
        replication: i32,
    },
    /// Print the events of a canonical topic as JSON lines.
    Tail {
        /// The topic, e.g. canonical.lab-result.v1.
        topic: String,
        /// Stop after this many events.
        #[arg(long)]
        max: Option<usize>,
        /// Stop when no event arrives for this many seconds.
        #[arg(long, default_value_t = 5)]
        idle_secs: u64,
    },
    /// Simulate a county and send it through the connectors (or print its expected indicators).
    Simulate(Box<simulate::SimulateArgs>),
    /// Reconcile a simulated run: acknowledged = raw = canonical = record, indicators = expected.
    Reconcile(Box<reconcile::ReconcileArgs>),
    /// Search log files for the personal data of a simulated county (exit 0 clean, 1 hits,
    /// 2 error); takes `simulate`'s county arguments.
    ScanLogs(Box<scan_logs::ScanLogsArgs>),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
    let cli = Cli::parse();
    let kafka = hub_kafka::KafkaSettings::with_bootstrap(&cli.bootstrap);
    match cli.command {
        Command::Init { replication } => commands::init(&kafka, &cli.registry, replication).await,
        Command::Tail {
            topic,
            max,
            idle_secs,
        } => commands::tail(&kafka, &cli.registry, &topic, max, idle_secs).await,
        Command::Simulate(args) => simulate::simulate(*args).await,
        Command::Reconcile(args) => reconcile::reconcile(&kafka, &cli.registry, *args).await,
        // Its own exit statuses, as grep: a hit is a verdict, not an error.
        Command::ScanLogs(args) => std::process::exit(match scan_logs::scan_logs(&args) {
            Ok(false) => 0,
            Ok(true) => 1,
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "Scanning the logs failed.");
                2
            }
        }),
    }
}
