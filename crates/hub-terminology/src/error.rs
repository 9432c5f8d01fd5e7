//! [`TerminologyError`]: why a terminology folder cannot be loaded, with the file and line.

use std::path::PathBuf;

/// A terminology file that cannot be read or holds a bad row. Loading stops at the first bad
/// row: a half-loaded map would silently leave codes unmapped. Messages name the file, the line
/// and the column; they quote codes from the map files (never personal data, which these files
/// do not hold).
#[derive(Debug, thiserror::Error)]
pub enum TerminologyError {
    /// The file is missing or unreadable.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not start with its `# version: <version>` line.
    #[error("{file}:1: the first line must be `# version: <version>` (letters, digits, . _ -)")]
    MissingVersion {
        /// The file name, e.g. `facilities.csv`.
        file: String,
    },
    /// A row (or the header) is malformed.
    #[error("{file}:{line}: {reason}")]
    Invalid {
        /// The file name, e.g. `facilities.csv`.
        file: String,
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong, naming the column.
        reason: String,
    },
}

impl TerminologyError {
    pub(crate) fn invalid(file: &str, line: u64, reason: impl Into<String>) -> Self {
        Self::Invalid {
            file: file.to_owned(),
            line,
            reason: reason.into(),
        }
    }
}
