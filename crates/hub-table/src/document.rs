//! The row document: the value of a `raw.<source>.table` message, written by `connector-table`
//! and read by this crate's mapping.
//!
//! ```json
//! {"table":"his_visit","kind":"encounter","facility":"H21028100001","pk":"1042",
//!  "change_time":"2026-11-25 09:41:27.123456","columns":{"encounter_id":"MZ2026112500042", ...}}
//! ```
//!
//! `columns` holds the hub field names the table's configuration maps, each with the source
//! value as the source database renders it as text (`null` for SQL NULL).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `hub-content-type` of row documents.
pub const CONTENT_TYPE: &str = "application/json";

/// One row version of an intermediate table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowDocument {
    /// The table's logical name in the connector's configuration.
    pub table: String,
    /// What the row is: `encounter`, `diagnosis` or `lab_result`.
    pub kind: String,
    /// The facility whose front-end processor holds the table.
    pub facility: String,
    /// The row's primary key, as text.
    pub pk: String,
    /// The row's change time, as the source renders it.
    pub change_time: String,
    /// Hub field name to source value.
    pub columns: BTreeMap<String, Option<String>>,
}

impl RowDocument {
    /// The message id of this row version: `<table>:<pk>@<change time>`. A later update of the
    /// row is a new message (a correction); a re-send of the same version has the same id.
    pub fn message_id(&self) -> String {
        format!("{}:{}@{}", self.table, self.pk, self.change_time)
    }

    /// A column's value: trimmed, `None` when absent, NULL or blank.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.columns
            .get(field)
            .and_then(Option::as_deref)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}
