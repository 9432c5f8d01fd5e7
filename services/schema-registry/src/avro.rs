//! Avro schema texts: parsing untrusted input without ever crashing, and the forms the registry
//! stores.
//!
//! Two forms of a schema matter here:
//!
//! - the **identity form** decides whether two texts are *the same schema* (same id, no new
//!   version): the JSON with insignificant whitespace removed and object keys sorted, keeping
//!   docs, defaults and aliases. This is close to Confluent's own rule (the schema's normalised
//!   string). The Avro Parsing Canonical Form is deliberately *not* used for identity: it drops
//!   defaults, so registering a schema that only adds a default to a field (a compatible,
//!   meaningful change for readers) would silently return the old id and lose the default.
//! - the **Parsing Canonical Form** (and its CRC-64-AVRO fingerprint) is stored alongside, for
//!   clients that match schemas by fingerprint.
//!
//! `apache-avro` may panic on pathological input; every call into it goes through [`guarded`],
//! which turns a panic into an [`InvalidSchema`] so that bad input never takes the server down.

use std::panic::{AssertUnwindSafe, catch_unwind};

use apache_avro::Schema;
use apache_avro::rabin::Rabin;
use serde_json::Value;

/// The only schema type this registry supports.
pub const AVRO: &str = "AVRO";

/// A schema text that is not a valid Avro schema; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSchema(pub String);

/// A schema text that parsed as Avro, with the forms the registry stores.
#[derive(Debug, Clone)]
pub struct ParsedSchema {
    /// The text as submitted.
    pub text: String,
    /// The parsed schema, for compatibility checks.
    pub schema: Schema,
    /// Avro Parsing Canonical Form.
    pub canonical_form: String,
    /// CRC-64-AVRO fingerprint of the canonical form (little-endian bytes read as an `i64`, as in
    /// Avro single-object encoding).
    pub fingerprint: i64,
    /// The identity form (see the module documentation).
    pub identity: String,
}

/// Parses an Avro schema text.
///
/// # Errors
/// The text is not JSON, not an Avro schema, contains a NUL character (which PostgreSQL cannot
/// store), or makes the Avro library panic.
pub fn parse(text: &str) -> Result<ParsedSchema, InvalidSchema> {
    if text.contains('\0') {
        return Err(InvalidSchema("the schema contains a NUL character".into()));
    }
    let json: Value = serde_json::from_str(text)
        .map_err(|e| InvalidSchema(format!("the schema is not valid JSON: {e}")))?;
    let identity = identity_form(&json);
    let schema = guarded(|| Schema::parse(&json))?.map_err(|e| InvalidSchema(e.to_string()))?;
    let canonical_form = guarded(|| schema.canonical_form())?;
    let fingerprint = guarded(|| schema.fingerprint::<Rabin>())?;
    let mut bytes = [0_u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(&fingerprint.bytes) {
        *slot = *byte;
    }
    Ok(ParsedSchema {
        text: text.to_owned(),
        schema,
        canonical_form,
        fingerprint: i64::from_le_bytes(bytes),
        identity,
    })
}

/// Runs `f`, turning a panic inside the Avro library into an [`InvalidSchema`].
///
/// # Errors
/// `f` panicked.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, InvalidSchema> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        InvalidSchema(format!("the schema could not be processed ({detail})"))
    })
}

/// The identity form: compact JSON with object keys sorted at every level.
fn identity_form(json: &Value) -> String {
    let mut out = String::new();
    write_sorted(json, &mut out);
    out
}

fn write_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"{"type":"record","name":"User","fields":[{"name":"a","type":"int"}]}"#;

    #[test]
    fn whitespace_and_key_order_do_not_change_identity() {
        let reordered = r#"{ "name": "User", "fields": [ {"type": "int", "name": "a"} ],
            "type": "record" }"#;
        assert_eq!(
            parse(USER).unwrap().identity,
            parse(reordered).unwrap().identity
        );
    }

    #[test]
    fn defaults_and_docs_change_identity_but_not_canonical_form() {
        let with_default =
            r#"{"type":"record","name":"User","fields":[{"name":"a","type":"int","default":1}]}"#;
        let (a, b) = (parse(USER).unwrap(), parse(with_default).unwrap());
        assert_ne!(a.identity, b.identity);
        assert_eq!(a.canonical_form, b.canonical_form);
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn rejects_invalid_schemas() {
        for bad in [
            "",
            "not json",
            "{}",
            r#"{"type":"record"}"#,
            r#""nope""#,
            "\"int\u{0}\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(r#""string""#).is_ok());
    }

    #[test]
    fn panics_become_errors() {
        let result: Result<(), _> = guarded(|| panic!("boom"));
        assert_eq!(
            result.unwrap_err().0,
            "the schema could not be processed (boom)"
        );
    }

    #[test]
    fn canonical_schemas_parse() {
        for contract in hub_schemas::CANONICAL {
            parse(contract.schema).unwrap();
        }
    }
}
