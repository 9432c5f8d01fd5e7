//! Validated request values: subject names and version selectors.

use std::fmt;

use crate::error::RegistryError;

/// The longest subject accepted, in bytes. Kafka topics are at most 249 characters, so
/// `<topic>-value` fits with room for record-name strategies; the limit keeps every subject
/// within a PostgreSQL B-tree entry.
pub const MAX_SUBJECT_BYTES: usize = 1024;

/// A subject name that can be stored: non-empty, at most [`MAX_SUBJECT_BYTES`] bytes, and free
/// of control characters (PostgreSQL text cannot hold NUL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject(String);

impl Subject {
    /// Validates a subject name.
    ///
    /// # Errors
    /// [`RegistryError::InvalidSubject`] for an empty or over-long name or one with control
    /// characters.
    pub fn new(name: impl Into<String>) -> Result<Self, RegistryError> {
        let name = name.into();
        if name.is_empty() {
            return Err(RegistryError::InvalidSubject("the subject is empty".into()));
        }
        if name.len() > MAX_SUBJECT_BYTES {
            return Err(RegistryError::InvalidSubject(format!(
                "the subject is longer than {MAX_SUBJECT_BYTES} bytes"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(RegistryError::InvalidSubject(
                "the subject contains control characters".into(),
            ));
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which version of a subject a request means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    /// The newest visible version (`latest` or `-1`).
    Latest,
    /// A version number, 1 to 2^31-1.
    Number(i32),
}

impl VersionSpec {
    /// Parses `latest`, `-1` or a positive 32-bit integer.
    ///
    /// # Errors
    /// [`RegistryError::InvalidVersion`] for anything else.
    pub fn parse(text: &str) -> Result<Self, RegistryError> {
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Self::Latest);
        }
        match text.parse::<i32>() {
            Ok(-1) => Ok(Self::Latest),
            Ok(n) if n >= 1 => Ok(Self::Number(n)),
            _ => Err(RegistryError::InvalidVersion(text.to_owned())),
        }
    }
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(VersionSpec::parse("latest").unwrap(), VersionSpec::Latest);
        assert_eq!(VersionSpec::parse("-1").unwrap(), VersionSpec::Latest);
        assert_eq!(VersionSpec::parse("7").unwrap(), VersionSpec::Number(7));
        for bad in ["0", "-2", "abc", "1.5", "2147483648", ""] {
            assert_eq!(
                VersionSpec::parse(bad).unwrap_err().error_code(),
                42202,
                "{bad}"
            );
        }
    }

    #[test]
    fn subjects() {
        assert!(Subject::new("canonical.lab-result.v1-value").is_ok());
        assert!(Subject::new("a/b c").is_ok());
        for bad in [
            String::new(),
            "a\0b".into(),
            "a\nb".into(),
            "x".repeat(1025),
        ] {
            assert_eq!(Subject::new(bad).unwrap_err().error_code(), 42208);
        }
    }
}
