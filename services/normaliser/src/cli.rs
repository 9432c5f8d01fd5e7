//! The command line: `normaliser [--config FILE]` runs the service; `replay` and `redrive` are
//! bounded commands that stop by themselves (see [`crate::commands`]).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

/// `normaliser [--config FILE] [COMMAND]`.
#[derive(Debug, Parser)]
#[command(
    name = "normaliser",
    about = "Raw source messages in, canonical Avro events out."
)]
pub struct Cli {
    /// YAML settings file (else `HUB_CONFIG`); `HUB__*` environment variables win over it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Without a command, run the service until SIGINT or SIGTERM.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A bounded command.
#[derive(Debug, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Re-process a raw topic (or the messages received in a time window) and stop when caught
    /// up with its end at start.
    Replay {
        /// The raw topic, e.g. `raw.lab.hl7v2`.
        #[arg(long)]
        topic: String,
        /// Only messages received at or after this instant (RFC 3339).
        #[arg(long, value_parser = rfc3339)]
        since: Option<DateTime<Utc>>,
        /// Only messages received before this instant (RFC 3339).
        #[arg(long, value_parser = rfc3339)]
        until: Option<DateTime<Utc>>,
    },
    /// Re-drive the dead letters of `dlq.normaliser` after their cause was fixed.
    Redrive {
        /// Only letters with this error code, e.g. `unknown_facility`.
        #[arg(long)]
        error_code: Option<String>,
    },
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e}), e.g. 2026-11-23T08:00:00+08:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_command_runs_the_service() {
        let cli = Cli::try_parse_from(["normaliser", "--config", "n.yaml"]).unwrap_or_else(|e| {
            panic!("{e}");
        });
        assert_eq!(cli.config, Some(PathBuf::from("n.yaml")));
        assert_eq!(cli.command, None);
    }

    #[test]
    fn replay_and_redrive_parse() {
        let cli = Cli::try_parse_from([
            "normaliser",
            "replay",
            "--topic",
            "raw.lab.hl7v2",
            "--since",
            "2026-11-23T08:00:00+08:00",
            "--config",
            "n.yaml",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Some(Command::Replay {
            topic,
            since,
            until,
        }) = cli.command
        else {
            panic!("not a replay");
        };
        assert_eq!(topic, "raw.lab.hl7v2");
        assert_eq!(
            since.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T00:00:00+00:00")
        );
        assert_eq!(until, None);
        assert_eq!(cli.config, Some(PathBuf::from("n.yaml")));
        let cli =
            Cli::try_parse_from(["normaliser", "redrive", "--error-code", "unknown_facility"])
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cli.command,
            Some(Command::Redrive {
                error_code: Some("unknown_facility".into())
            })
        );
        assert!(
            Cli::try_parse_from([
                "normaliser",
                "replay",
                "--topic",
                "t",
                "--since",
                "yesterday"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from(["normaliser", "replay"]).is_err(),
            "--topic is required"
        );
    }
}
