//! The county health record's side: every row of the entity tables the record keeps per
//! canonical event, by table, with its event id and natural key.

use anyhow::Context;
use sqlx::Row as _;

/// The record's table of each canonical entity the normaliser produces (clinical alerts come
/// from the monitor, not from a sender's message, and are not reconciled).
pub const TABLES: &[(&str, &str)] = &[
    ("person", "persons"),
    ("encounter", "encounters"),
    ("diagnosis", "diagnoses"),
    ("lab-result", "lab_results"),
    ("imaging-study", "imaging_studies"),
    ("imaging-report", "imaging_reports"),
    ("settlement", "settlements"),
    ("referral", "referrals"),
    ("identity-link", "identity_links"),
];

/// One row of an entity table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The table.
    pub table: &'static str,
    /// The canonical event id the row was written from.
    pub event_id: String,
    /// What the event is a version of (corrections share it).
    pub natural_key: String,
}

/// Every row of every entity table.
///
/// # Errors
/// The database could not be reached or a table is missing.
pub async fn rows(url: &str) -> anyhow::Result<Vec<Row>> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .context("connecting to the record's database")?;
    let mut out = Vec::new();
    for (_, table) in TABLES {
        // The table names are the constants above, never input.
        let query = format!("SELECT event_id, natural_key FROM {table}");
        let found = sqlx::query(sqlx::AssertSqlSafe(query))
            .fetch_all(&pool)
            .await
            .with_context(|| format!("reading {table}"))?;
        for row in found {
            out.push(Row {
                table,
                event_id: row.try_get("event_id")?,
                natural_key: row.try_get("natural_key")?,
            });
        }
    }
    pool.close().await;
    Ok(out)
}
