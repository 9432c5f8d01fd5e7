//! A batched, idempotent upsert: `INSERT ... SELECT FROM UNNEST($1::text[], ...) ON CONFLICT
//! (event_id) DO UPDATE ... WHERE` the incoming version is not older.
//!
//! One array parameter per column, so the statement text depends only on the table and its
//! columns (one prepared statement per table, no 65,535-parameter limit). Every column is bound
//! as an array of nullable values; the table's `NOT NULL` constraints still apply.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, PgConnection, Postgres};

use super::keys::{Envelope, ms};

/// One column's values.
#[derive(Debug)]
enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i32>>),
    BigInt(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Time(Vec<Option<DateTime<Utc>>>),
    Date(Vec<Option<NaiveDate>>),
    Json(Vec<Option<String>>),
}

impl Column {
    fn sql_type(&self) -> &'static str {
        match self {
            Self::Text(_) | Self::Json(_) => "text[]",
            Self::Int(_) => "int4[]",
            Self::BigInt(_) => "int8[]",
            Self::Float(_) => "float8[]",
            Self::Bool(_) => "bool[]",
            Self::Time(_) => "timestamptz[]",
            Self::Date(_) => "date[]",
        }
    }

    fn bind<'q>(self, query: Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments> {
        match self {
            Self::Text(v) | Self::Json(v) => query.bind(v),
            Self::Int(v) => query.bind(v),
            Self::BigInt(v) => query.bind(v),
            Self::Float(v) => query.bind(v),
            Self::Bool(v) => query.bind(v),
            Self::Time(v) => query.bind(v),
            Self::Date(v) => query.bind(v),
        }
    }
}

/// Whether each row is the newest of the batch's rows of its natural key (event time, then
/// received at, then event id: the order of `write::current`). Written with the row, so that in
/// the common case (nothing newer stored) `current` finds every row already right and rewrites
/// none: an UPDATE of every fresh row would write each row, and each of its index entries, twice.
/// `current` stays the authority; a wrong guess (a newer version already stored, a tie that the
/// database's collation orders differently) costs one corrective update.
fn newest_in_batch<T: Envelope>(rows: &[T]) -> Vec<bool> {
    let mut best: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let rank = |r: &T| (r.version(), r.event_id().to_owned());
        best.entry(row.natural_key())
            .and_modify(|b| {
                if rank(row) > rank(&rows[*b]) {
                    *b = i;
                }
            })
            .or_insert(i);
    }
    let mut out = vec![false; rows.len()];
    for i in best.into_values() {
        out[i] = true;
    }
    out
}

/// The rows of one table, column by column.
#[derive(Debug)]
pub struct Upsert<'a, T> {
    table: &'static str,
    rows: &'a [T],
    columns: Vec<(&'static str, Column)>,
}

impl<'a, T: Envelope> Upsert<'a, T> {
    /// Starts with the envelope columns every entity table has.
    pub fn new(table: &'static str, rows: &'a [T]) -> Self {
        let mut upsert = Self {
            table,
            rows,
            columns: Vec::new(),
        };
        upsert.text("event_id", |e| Some(e.event_id().to_owned()));
        upsert.text("person_id", |e| Some(e.person_id().to_owned()));
        upsert.text("facility_code", |e| Some(e.facility_code().to_owned()));
        upsert.time("event_time", |e| Some(e.event_time()));
        upsert.time("received_at", |e| Some(e.provenance().received_at));
        upsert.text("source_topic", |e| {
            Some(e.provenance().source_topic.clone())
        });
        upsert.bigint("source_offset", |e| Some(e.provenance().source_offset));
        upsert.boolean("synthetic", |e| Some(e.provenance().synthetic));
        upsert.text("natural_key", |e| Some(e.natural_key()));
        let current = newest_in_batch(rows);
        upsert.columns.push((
            "is_current",
            Column::Bool(current.into_iter().map(Some).collect()),
        ));
        upsert
    }

    /// A text column.
    pub fn text(&mut self, name: &'static str, f: impl Fn(&T) -> Option<String>) -> &mut Self {
        let values = self.rows.iter().map(f).collect();
        self.columns.push((name, Column::Text(values)));
        self
    }

    /// A JSONB column, from serialisable values.
    pub fn json<V: serde::Serialize>(
        &mut self,
        name: &'static str,
        f: impl Fn(&T) -> V,
    ) -> &mut Self {
        let values = self
            .rows
            .iter()
            .map(|r| serde_json::to_string(&f(r)).ok())
            .collect();
        self.columns.push((name, Column::Json(values)));
        self
    }

    /// An int4 column.
    pub fn int(&mut self, name: &'static str, f: impl Fn(&T) -> Option<i32>) -> &mut Self {
        let values = self.rows.iter().map(f).collect();
        self.columns.push((name, Column::Int(values)));
        self
    }

    /// An int8 column.
    pub fn bigint(&mut self, name: &'static str, f: impl Fn(&T) -> Option<i64>) -> &mut Self {
        let values = self.rows.iter().map(f).collect();
        self.columns.push((name, Column::BigInt(values)));
        self
    }

    /// A float8 column.
    pub fn float(&mut self, name: &'static str, f: impl Fn(&T) -> Option<f64>) -> &mut Self {
        let values = self.rows.iter().map(f).collect();
        self.columns.push((name, Column::Float(values)));
        self
    }

    /// A boolean column.
    pub fn boolean(&mut self, name: &'static str, f: impl Fn(&T) -> Option<bool>) -> &mut Self {
        let values = self.rows.iter().map(f).collect();
        self.columns.push((name, Column::Bool(values)));
        self
    }

    /// A timestamptz column from epoch milliseconds (out-of-range values become NULL).
    pub fn time(&mut self, name: &'static str, f: impl Fn(&T) -> Option<i64>) -> &mut Self {
        let values = self.rows.iter().map(|r| f(r).and_then(ms)).collect();
        self.columns.push((name, Column::Time(values)));
        self
    }

    /// A date column.
    pub fn date(&mut self, name: &'static str, f: impl Fn(&T) -> Option<NaiveDate>) -> &mut Self {
        let values = self.rows.iter().map(f).collect();
        self.columns.push((name, Column::Date(values)));
        self
    }

    /// The statement text (constant for a given table and column list).
    fn sql(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        let arrays: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, c))| format!("${}::{}", i + 1, c.sql_type()))
            .collect();
        let select: Vec<String> = self
            .columns
            .iter()
            .map(|(n, c)| match c {
                Column::Json(_) => format!("u.{n}::jsonb"),
                _ => format!("u.{n}"),
            })
            .collect();
        let updates: Vec<String> = names
            .iter()
            .filter(|n| **n != "event_id")
            .map(|n| format!("{n} = EXCLUDED.{n}"))
            .collect();
        let t = self.table;
        format!(
            "INSERT INTO {t} ({cols}) SELECT {select} FROM UNNEST({arrays}) AS u({cols}) \
             ON CONFLICT (event_id) DO UPDATE SET {updates}, written_at = now() \
             WHERE (EXCLUDED.event_time, EXCLUDED.received_at) >= ({t}.event_time, {t}.received_at)",
            cols = names.join(", "),
            select = select.join(", "),
            arrays = arrays.join(", "),
            updates = updates.join(", "),
        )
    }

    /// Runs the upsert on `conn` (inside the batch's transaction) and returns the rows written.
    ///
    /// # Errors
    /// The database refused the statement.
    pub async fn execute(self, conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
        if self.rows.is_empty() {
            return Ok(0);
        }
        // The text is built from table and column names fixed in this crate, never from input.
        let sql = self.sql();
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (_, column) in self.columns {
            query = column.bind(query);
        }
        Ok(query.execute(conn).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_schemas::LabResult;

    #[test]
    fn builds_one_unnest_statement_with_a_version_guard() {
        let rows = vec![LabResult::default()];
        let mut upsert = Upsert::new("lab_results", &rows);
        upsert.text("order_id", |e| Some(e.order_id.clone()));
        upsert.json("extra", |_| vec![1]);
        let sql = upsert.sql();
        assert!(
            sql.starts_with("INSERT INTO lab_results (event_id, person_id,"),
            "{sql}"
        );
        assert!(sql.contains("UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[]"));
        assert!(sql.contains("u.extra::jsonb"));
        assert!(
            sql.contains("ON CONFLICT (event_id) DO UPDATE SET person_id = EXCLUDED.person_id")
        );
        assert!(sql.ends_with(">= (lab_results.event_time, lab_results.received_at)"));
    }
}
