//! Compatibility levels and the checks they imply.
//!
//! A level says which earlier versions a new schema is checked against (the latest only, or all
//! of them for `_TRANSITIVE`) and in which direction:
//!
//! - `BACKWARD`: the new schema (reader) can read data written with the old one;
//! - `FORWARD`: the old schema (reader) can read data written with the new one;
//! - `FULL`: both; `NONE`: no check.
//!
//! Avro resolution may be only *partially* possible (a writer union branch or enum symbol that
//! the reader lacks): like Confluent's registry, that counts as incompatible, because some data
//! written with the writer schema would fail to decode.

use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use serde::{Serialize, Serializer};

use crate::avro::{InvalidSchema, guarded};

/// A compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// No check.
    None,
    /// The new schema reads data written with the latest version (Confluent's default).
    #[default]
    Backward,
    /// The new schema reads data written with every version.
    BackwardTransitive,
    /// The latest version reads data written with the new schema.
    Forward,
    /// Every version reads data written with the new schema.
    ForwardTransitive,
    /// Backward and forward against the latest version.
    Full,
    /// Backward and forward against every version (the hub's canonical subjects).
    FullTransitive,
}

impl Level {
    /// Every level, in Confluent's order.
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    /// The level's name, as Confluent spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether the check covers every earlier version rather than the latest only.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    fn backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a compatibility level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown compatibility level '{0}'")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    /// Parses a level name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownLevel(s.to_owned()))
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Checks `new` against earlier versions under `level`.
///
/// `previous` holds `(version, schema)` pairs, newest first; for a non-transitive level only the
/// first is used. Returns one message per failed check: empty means compatible.
///
/// # Errors
/// The Avro library panicked on one of the schemas.
pub fn check(
    level: Level,
    new: &Schema,
    previous: &[(i32, Schema)],
) -> Result<Vec<String>, InvalidSchema> {
    let count = if level.is_transitive() {
        previous.len()
    } else {
        previous.len().min(1)
    };
    let mut messages = Vec::new();
    for (version, old) in &previous[..count] {
        if level.backward()
            && let Some(why) = guarded(|| can_read(old, new))?
        {
            messages.push(format!(
                "BACKWARD: the new schema cannot read data written with version {version}: {why}"
            ));
        }
        if level.forward()
            && let Some(why) = guarded(|| can_read(new, old))?
        {
            messages.push(format!(
                "FORWARD: version {version} cannot read data written with the new schema: {why}"
            ));
        }
    }
    Ok(messages)
}

/// `None` if `reader` can read everything written with `writer`, else why not.
fn can_read(writer: &Schema, reader: &Schema) -> Option<String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => None,
        Ok(Compatibility::Partial) => Some(
            "only partially compatible: some union branches or enum symbols of the writer \
             cannot be read"
                .to_owned(),
        ),
        Err(e) => {
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why.push_str(": ");
                why.push_str(&cause.to_string());
                source = cause.source();
            }
            Some(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"R","fields":[{fields}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn levels_parse_ignoring_case_and_print_in_upper_case() {
        assert_eq!(
            "full_transitive".parse::<Level>().unwrap(),
            Level::FullTransitive
        );
        assert_eq!(Level::BackwardTransitive.to_string(), "BACKWARD_TRANSITIVE");
        assert!("SIDEWAYS".parse::<Level>().is_err());
        assert_eq!(Level::default(), Level::Backward);
    }

    #[test]
    fn directions() {
        let v1 = record(r#"{"name":"a","type":"int"}"#);
        let added_with_default =
            record(r#"{"name":"a","type":"int"},{"name":"b","type":"string","default":""}"#);
        let added_without_default =
            record(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#);
        let old = [(1, v1.clone())];
        assert!(
            check(Level::Full, &added_with_default, &old)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            check(Level::Backward, &added_without_default, &old)
                .unwrap()
                .len(),
            1
        );
        assert!(
            check(Level::Forward, &added_without_default, &old)
                .unwrap()
                .is_empty()
        );
        assert!(
            check(Level::None, &record(r#"{"name":"z","type":"int"}"#), &old)
                .unwrap()
                .is_empty()
        );
        // Removing a field without a default breaks forward compatibility only.
        let removed = [(2, added_without_default)];
        assert!(check(Level::Backward, &v1, &removed).unwrap().is_empty());
        assert_eq!(check(Level::Full, &v1, &removed).unwrap().len(), 1);
    }

    #[test]
    fn transitive_levels_check_every_version() {
        let v1 = record(r#"{"name":"a","type":"int"}"#);
        let v2 = record(r#"{"name":"a","type":"int","default":0}"#);
        // Fine against v2 (whose `a` has a default), but v1 cannot read data without `a`.
        let v3 = record(r#"{"name":"b","type":"string","default":""}"#);
        let newest_first = [(2, v2), (1, v1)];
        assert!(check(Level::Full, &v3, &newest_first).unwrap().is_empty());
        let messages = check(Level::FullTransitive, &v3, &newest_first).unwrap();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with("FORWARD: version 1 "),
            "{messages:?}"
        );
    }

    #[test]
    fn partial_compatibility_is_incompatible() {
        let wide = Schema::parse_str(r#"["int","string"]"#).unwrap();
        let narrow = Schema::parse_str(r#""int""#).unwrap();
        assert_eq!(
            check(Level::Backward, &narrow, &[(1, wide)]).unwrap().len(),
            1
        );
    }
}
