//! The command line every service binary accepts: `--config <file>` (or `--config=<file>`,
//! `-c <file>`) and `--help`. Everything else comes from the file and the environment.

use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run, with this configuration file if given.
    Run(Option<PathBuf>),
    /// Print the usage and exit.
    Help,
}

/// A command line that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses the arguments after the program name.
///
/// # Errors
/// An unknown argument, or `--config` without a file.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, UsageError> {
    let mut config = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-c" | "--config" => match args.next() {
                Some(file) => config = Some(PathBuf::from(file)),
                None => return Err(UsageError("--config needs a file".into())),
            },
            other => match other.strip_prefix("--config=") {
                Some(file) => config = Some(PathBuf::from(file)),
                None => return Err(UsageError(format!("unknown argument '{other}'"))),
            },
        }
    }
    Ok(Command::Run(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_the_config_file_and_help() {
        let file = Some(PathBuf::from("s.yaml"));
        assert_eq!(parse_args(args(&[])).unwrap(), Command::Run(None));
        assert_eq!(
            parse_args(args(&["--config", "s.yaml"])).unwrap(),
            Command::Run(file.clone())
        );
        assert_eq!(
            parse_args(args(&["--config=s.yaml"])).unwrap(),
            Command::Run(file.clone())
        );
        assert_eq!(
            parse_args(args(&["-c", "s.yaml"])).unwrap(),
            Command::Run(file)
        );
        assert_eq!(parse_args(args(&["--help"])).unwrap(), Command::Help);
        assert!(parse_args(args(&["--config"])).is_err());
        assert!(parse_args(args(&["serve"])).is_err());
    }
}
