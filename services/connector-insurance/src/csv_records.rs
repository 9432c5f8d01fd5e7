//! CSV drop files to settlement records.
//!
//! The first row names the columns with the NHSA field names (`setl_id`, `psn_no`,
//! `medfee_sumamt`...). Each later row becomes one JSON object whose members are the columns in
//! header order, every value a JSON string exactly as the cell reads (so `0.10` stays `"0.10"`
//! and `hub-settlement`'s exact amount parser sees the digits; empty cells are `""`, which it
//! treats as absent). The raw topic carries that JSON, since the normaliser reads JSON; a row whose
//! cell count differs from the header's cannot be converted faithfully and is rejected
//! (`csv_field_count`) with its original bytes (`text/csv`) kept for the DLQ.
//!
//! Files are decoded from the sender's configured charset (`UTF-8`, or `GB18030`, which also
//! reads GBK, as Excel writes on Chinese Windows); the JSON is UTF-8.

use encoding_rs::{Encoding, GB18030, UTF_8};

use crate::records::{Record, strip_bom};

/// Why a CSV file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// The bytes are not valid in the configured charset.
    #[error("the file is not valid {0}")]
    Charset(&'static str),
    /// No header row, or an empty or repeated column name.
    #[error("the header row is missing, has an empty column name or repeats one")]
    Header,
    /// The CSV syntax is broken (e.g. an unclosed quote); names the line only.
    #[error("CSV syntax error near line {0}")]
    Syntax(u64),
}

impl CsvError {
    /// The bounded error code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Charset(_) => "csv_charset",
            Self::Header => "csv_header",
            Self::Syntax(_) => "csv_syntax",
        }
    }
}

/// The encoding named by a `csv_charset` setting, if supported.
pub fn charset(name: &str) -> Option<&'static Encoding> {
    match name.to_ascii_uppercase().as_str() {
        "UTF-8" | "UTF8" => Some(UTF_8),
        "GB18030" | "GBK" | "GB2312" => Some(GB18030),
        _ => None,
    }
}

/// The records of a CSV file.
///
/// # Errors
/// Undecodable bytes, a bad header row, or broken CSV syntax.
pub fn split_csv(file: &[u8], encoding: &'static Encoding) -> Result<Vec<Record>, CsvError> {
    let bytes = strip_bom(file);
    let (text, _, had_errors) = encoding.decode(bytes);
    if had_errors {
        return Err(CsvError::Charset(encoding.name()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|_| CsvError::Header)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut sorted = header.clone();
    sorted.sort();
    sorted.dedup();
    if header.is_empty() || header.iter().any(String::is_empty) || sorted.len() != header.len() {
        return Err(CsvError::Header);
    }
    let mut rows = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| CsvError::Syntax(e.position().map_or(0, |p| p.line())))?;
        let start = row.position().map_or(0, |p| p.byte());
        rows.push((start, row));
    }
    let text_bytes = text.as_bytes();
    // Line numbers from byte offsets (1-based): what an editor shows the operator.
    let line_of = |offset: u64| {
        let head = text_bytes.get(..offset as usize).unwrap_or(text_bytes);
        1 + head.iter().filter(|&&b| b == b'\n').count()
    };
    let rows: Vec<(usize, u64, csv::StringRecord)> = rows
        .into_iter()
        .map(|(mut start, row)| {
            // A record's position may point at the previous record's line ending (or at blank
            // lines skipped before it): move to its first byte.
            while matches!(text_bytes.get(start as usize), Some(b'\r' | b'\n')) {
                start += 1;
            }
            (line_of(start), start, row)
        })
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for (i, (line, start, row)) in rows.iter().enumerate() {
        if row.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if row.len() == header.len() {
            out.push(Record::json(*line, to_json(&header, row)));
            continue;
        }
        // The row as written (in the file's charset), without its line ending.
        let end = rows
            .get(i + 1)
            .map_or(text_bytes.len(), |(_, next, _)| *next as usize);
        let original = text_bytes
            .get(*start as usize..end)
            .unwrap_or_default()
            .trim_ascii_end();
        let original = String::from_utf8_lossy(original);
        let (encoded, _, _) = encoding.encode(&original);
        out.push(Record {
            position: *line,
            bytes: encoded.into_owned(),
            framing_error: Some((
                "csv_field_count",
                format!("row has {} cells, the header {}", row.len(), header.len()),
            )),
            content_type: "text/csv",
            charset: encoding.name(),
        });
    }
    Ok(out)
}

/// One row as a JSON object of strings, in header order.
fn to_json(header: &[String], row: &csv::StringRecord) -> Vec<u8> {
    let mut json = String::from("{");
    for (i, (name, cell)) in header.iter().zip(row.iter()).enumerate() {
        if i > 0 {
            json.push(',');
        }
        // Serialising a &str cannot fail.
        json.push_str(&serde_json::to_string(name).unwrap_or_default());
        json.push(':');
        json.push_str(&serde_json::to_string(cell.trim()).unwrap_or_default());
    }
    json.push('}');
    json.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "setl_id,psn_no,medfee_sumamt,fund_pay_sumamt,psn_cash_pay,dise_name\n";

    #[test]
    fn rows_become_json_objects_of_strings_with_nhsa_names() {
        let file =
            format!("{HEADER}S1,P1,100.10,80.00,20.1,\"高血压, 原发性\"\r\n\nS2,P2,0.10,0,0.1,\n");
        let records = split_csv(file.as_bytes(), UTF_8).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].position, 2);
        assert_eq!(
            String::from_utf8(records[0].bytes.clone()).unwrap(),
            r#"{"setl_id":"S1","psn_no":"P1","medfee_sumamt":"100.10","fund_pay_sumamt":"80.00","psn_cash_pay":"20.1","dise_name":"高血压, 原发性"}"#
        );
        assert_eq!(records[1].position, 4);
        let value: serde_json::Value = serde_json::from_slice(&records[1].bytes).unwrap();
        assert_eq!(value["medfee_sumamt"], "0.10");
        assert_eq!(value["dise_name"], "");
        assert!(records.iter().all(|r| r.framing_error.is_none()));
    }

    #[test]
    fn amounts_reach_the_exact_parser_as_digits() {
        let file = "setl_id,psn_no,mdtrt_id,fixmedins_code,insuplc_admdvs,insutype,med_type,\
                    setl_time,medfee_sumamt,fund_pay_sumamt,psn_cash_pay\n\
                    S1,P1,M1,H21028100001,210281,310,11,2024-05-01 08:30:00,1234567.89,0.10,1234567.79\n";
        let records = split_csv(file.as_bytes(), UTF_8).unwrap();
        let json = std::str::from_utf8(&records[0].bytes).unwrap();
        let valid = hub_settlement::validate(json).unwrap();
        assert_eq!(valid.amounts.medfee_sumamt, 123_456_789);
        assert_eq!(valid.amounts.fund_pay_sumamt, 10);
    }

    #[test]
    fn short_rows_are_kept_as_written_and_gbk_is_decoded() {
        let (gbk, _, _) = GB18030.encode("setl_id,psn_name\nS1,张三\nS2\n");
        let records = split_csv(&gbk, GB18030).unwrap();
        assert_eq!(
            String::from_utf8(records[0].bytes.clone()).unwrap(),
            r#"{"setl_id":"S1","psn_name":"张三"}"#
        );
        assert_eq!(records[1].bytes, b"S2");
        assert_eq!(records[1].content_type, "text/csv");
        assert_eq!(
            records[1].framing_error.as_ref().unwrap().0,
            "csv_field_count"
        );
    }

    #[test]
    fn unreadable_files() {
        assert_eq!(split_csv(b"", UTF_8).unwrap_err(), CsvError::Header);
        assert_eq!(
            split_csv(b"a,,b\n1,2,3\n", UTF_8).unwrap_err(),
            CsvError::Header
        );
        assert_eq!(
            split_csv(b"a,a\n1,2\n", UTF_8).unwrap_err(),
            CsvError::Header
        );
        assert_eq!(
            split_csv(b"a\n\xff\n", UTF_8).unwrap_err().code(),
            "csv_charset"
        );
        assert_eq!(charset("gbk"), Some(GB18030));
        assert_eq!(charset("latin1"), None);
    }
}
