//! Cutting input into settlement records, one per Kafka message, each the exact bytes the
//! sender wrote for it (the normaliser maps one raw message as one record).
//!
//! - HTTP body: a JSON array of records, or an object `{"records": [...]}` (other members of that
//!   object are ignored). Each element's source text is taken as it is (`RawValue`), so the raw
//!   topic holds what the sender sent, digits of amounts included. A leading UTF-8 BOM is skipped.
//! - JSON Lines file: one record per non-blank line, without its line ending (`\n` or `\r\n`).
//! - CSV file: see [`crate::csv_records`].

use serde::Deserialize;
use serde_json::value::RawValue;

/// One record cut out of a batch or file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position reported back: the index in an HTTP batch (0-based) or the line in a file
    /// (1-based; for CSV the line where the row starts).
    pub position: usize,
    /// The bytes to produce.
    pub bytes: Vec<u8>,
    /// Set when the record is unusable before validation (e.g. a CSV row with a wrong number of
    /// fields): a bounded error code and a detail without values.
    pub framing_error: Option<(&'static str, String)>,
    /// Media type of `bytes` (`application/json`, or `text/csv` for a row kept as sent).
    pub content_type: &'static str,
    /// Character set of `bytes` (`UTF-8` for JSON).
    pub charset: &'static str,
}

impl Record {
    /// A JSON record at `position`.
    pub fn json(position: usize, bytes: Vec<u8>) -> Self {
        Self {
            position,
            bytes,
            framing_error: None,
            content_type: hub_kafka::headers::JSON,
            charset: "UTF-8",
        }
    }
}

/// Why an HTTP body holds no records (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not UTF-8 (RFC 8259 JSON is UTF-8).
    #[error("the body is not UTF-8")]
    NotUtf8,
    /// Not JSON, or JSON of another shape; the reason names the line and column only.
    #[error("the body is not a JSON array of records or an object with a \"records\" array: {0}")]
    NotJson(String),
}

impl BodyError {
    /// The bounded error code (`hub-error-code`, metric label).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotUtf8 => "body_not_utf8",
            Self::NotJson(_) => "invalid_json",
        }
    }
}

#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
}

/// Strips a UTF-8 byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The records of an HTTP body, in order.
///
/// # Errors
/// The body is not UTF-8, not JSON, or neither an array nor an object with `records`.
pub fn split_body(body: &[u8]) -> Result<Vec<Record>, BodyError> {
    let text = std::str::from_utf8(strip_bom(body)).map_err(|_| BodyError::NotUtf8)?;
    let described = |e: serde_json::Error| {
        // serde_json's messages name types, lines and columns, not input values.
        BodyError::NotJson(format!(
            "{} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof =>
                    "syntax error",
                _ => "unexpected shape",
            },
            e.line(),
            e.column()
        ))
    };
    let items: Vec<&RawValue> = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(text).map_err(described)?,
        Some(b'{') => {
            serde_json::from_str::<Wrapped<'_>>(text)
                .map_err(described)?
                .records
        }
        _ => return Err(BodyError::NotJson("expected '[' or '{'".to_owned())),
    };
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, raw)| Record::json(i, raw.get().as_bytes().to_vec()))
        .collect())
}

/// The records of a JSON Lines file: every non-blank line, 1-based line numbers.
pub fn split_lines(file: &[u8]) -> Vec<Record> {
    strip_bom(file)
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (!line.iter().all(u8::is_ascii_whitespace)).then(|| Record::json(i + 1, line.to_vec()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_each_element_as_sent() {
        let body = br#"[ {"setl_id":"S1","medfee_sumamt":100.10} ,{"setl_id" : "S2"}, 3 ]"#;
        let records = split_body(body).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0].bytes,
            br#"{"setl_id":"S1","medfee_sumamt":100.10}"#
        );
        assert_eq!(records[1].bytes, br#"{"setl_id" : "S2"}"#);
        assert_eq!(records[2].bytes, b"3");
        let wrapped = split_body(b"\xEF\xBB\xBF{\"batch\":7,\"records\":[{\"a\":1}]}").unwrap();
        assert_eq!(wrapped[0].bytes, br#"{"a":1}"#);
        assert_eq!(split_body(b"[]").unwrap(), Vec::new());
    }

    #[test]
    fn refuses_what_is_not_a_batch() {
        assert_eq!(split_body(b"\xff[]").unwrap_err(), BodyError::NotUtf8);
        for bad in [
            &b"[{"[..],
            b"{\"rows\":[]}",
            b"\"x\"",
            b"",
            b"{\"records\":{}}",
        ] {
            let e = split_body(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_json", "{bad:?}");
        }
    }

    #[test]
    fn json_lines_keep_line_numbers() {
        let file = b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}";
        let records = split_lines(file);
        let got: Vec<(usize, &[u8])> = records
            .iter()
            .map(|r| (r.position, r.bytes.as_slice()))
            .collect();
        assert_eq!(
            got,
            [(1, &b"{\"a\":1}"[..]), (4, b"{\"b\":2}"), (5, b"{\"c\":3}")]
        );
    }
}
