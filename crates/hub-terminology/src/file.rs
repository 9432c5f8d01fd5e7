//! Reading one versioned map file: a `# version: <version>` first line, `#` comment lines, a
//! header row with exactly the expected columns, then CSV rows (RFC 4180 quoting, so displays may
//! contain commas). Each row keeps its line number for error messages.

use crate::error::TerminologyError;

/// A parsed map file: its version and its data rows.
#[derive(Debug)]
pub(crate) struct MapFile {
    /// The version from the first line.
    pub version: String,
    /// Data rows, each with exactly the header's number of (trimmed) fields.
    pub rows: Vec<Row>,
}

/// One data row.
#[derive(Debug)]
pub(crate) struct Row {
    /// 1-based line number in the file.
    pub line: u64,
    /// The fields, trimmed.
    pub fields: Vec<String>,
}

/// Parses `text` (the contents of `file`) whose header must be exactly `header`.
pub(crate) fn parse(file: &str, text: &str, header: &[&str]) -> Result<MapFile, TerminologyError> {
    // Spreadsheet programs save UTF-8 CSV with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let version = version_of(text.lines().next().unwrap_or("")).ok_or_else(|| {
        TerminologyError::MissingVersion {
            file: file.to_owned(),
        }
    })?;
    let mut rows = Vec::new();
    let mut seen_header = false;
    // Line by line, so that line numbers count comments and blank lines exactly as an editor
    // shows them (a field cannot span lines: map files have no use for that).
    for (index, text) in text.lines().enumerate() {
        let line = index as u64 + 1;
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let fields = split(text)
            .ok_or_else(|| TerminologyError::invalid(file, line, "not a valid CSV row"))?;
        if fields.iter().all(String::is_empty) {
            continue;
        }
        if !seen_header {
            if fields != header {
                return Err(TerminologyError::invalid(
                    file,
                    line,
                    format!("expected the header `{}`", header.join(",")),
                ));
            }
            seen_header = true;
            continue;
        }
        if fields.len() != header.len() {
            return Err(TerminologyError::invalid(
                file,
                line,
                format!("expected {} columns, found {}", header.len(), fields.len()),
            ));
        }
        rows.push(Row { line, fields });
    }
    if !seen_header {
        return Err(TerminologyError::invalid(
            file,
            1,
            format!("no header row `{}`", header.join(",")),
        ));
    }
    Ok(MapFile { version, rows })
}

/// The version in a `# version: <version>` line.
fn version_of(first_line: &str) -> Option<String> {
    let rest = first_line.trim().strip_prefix('#')?.trim_start();
    let version = rest.strip_prefix("version:")?.trim();
    let ok = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then(|| version.to_owned())
}

/// The trimmed fields of one CSV line (RFC 4180 quoting).
fn split(line: &str) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(line.as_bytes());
    let record = reader.records().next()?.ok()?;
    Some(record.iter().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[&str] = &["a", "b"];

    #[test]
    fn reads_version_comments_quotes_and_line_numbers() {
        let text =
            "\u{feff}# version: 2026-11-01\n# a comment\na,b\n\nx,\"y, z\"\n# more\n q , r \n";
        let file = parse("t.csv", text, HEADER).unwrap();
        assert_eq!(file.version, "2026-11-01");
        let rows: Vec<(u64, Vec<String>)> =
            file.rows.into_iter().map(|r| (r.line, r.fields)).collect();
        assert_eq!(
            rows,
            vec![
                (5, vec!["x".to_owned(), "y, z".to_owned()]),
                (7, vec!["q".to_owned(), "r".to_owned()]),
            ]
        );
    }

    #[test]
    fn rejects_missing_version_bad_header_and_wrong_column_count() {
        let err = parse("t.csv", "a,b\n1,2\n", HEADER).unwrap_err();
        assert!(
            matches!(err, TerminologyError::MissingVersion { .. }),
            "{err}"
        );
        let err = parse("t.csv", "# version: v 1\na,b\n", HEADER).unwrap_err();
        assert!(
            matches!(err, TerminologyError::MissingVersion { .. }),
            "{err}"
        );
        let err = parse("t.csv", "# version: 1\na,c\n", HEADER).unwrap_err();
        assert_eq!(err.to_string(), "t.csv:2: expected the header `a,b`");
        let err = parse("t.csv", "# version: 1\na,b\n1,2\n1,2,3\n", HEADER).unwrap_err();
        assert_eq!(err.to_string(), "t.csv:4: expected 2 columns, found 3");
        let err = parse("t.csv", "# version: 1\n", HEADER).unwrap_err();
        assert!(err.to_string().contains("no header row"), "{err}");
    }
}
