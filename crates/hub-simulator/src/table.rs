//! The front-end-processor table (前置机中间表) of facilities whose HIS writes visits into a
//! database table for the hub to poll (`connector-table`) instead of sending HL7: one table per
//! facility, one row per visit, updated in place when the registration is cancelled, with a
//! change-time column the HIS sets on every write.

use serde_json::Value;
use sqlx::PgPool;

/// Hub field names (`hub-table` encounter fields) and the columns holding them: the same names,
/// so `connector-table`'s column map is the identity.
pub const COLUMNS: &[&str] = &[
    "encounter_id",
    "encounter_class",
    "admit_time",
    "department_code",
    "department_name",
    "patient_mrn",
    "patient_id_number",
    "patient_name",
    "patient_birth_date",
    "patient_sex",
    "patient_phone",
    "cancelled",
];
/// The primary key column.
pub const PK: &str = "visit_id";
/// The change-time column.
pub const CHANGE_TIME: &str = "updated_at";

/// The visit table of `facility`.
pub fn table_name(facility: &str) -> String {
    format!("fep_visits_{}", facility.to_ascii_lowercase())
}

/// Creates the visit table of `facility` if missing.
///
/// # Errors
/// The database refuses.
pub async fn create(pool: &PgPool, facility: &str) -> Result<(), sqlx::Error> {
    let table = table_name(facility);
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {table} (\
         visit_id text PRIMARY KEY, encounter_id text NOT NULL, encounter_class text, \
         admit_time timestamp, department_code text, department_name text, patient_mrn text, \
         patient_id_number text, patient_name text, patient_birth_date date, patient_sex text, \
         patient_phone text, cancelled boolean NOT NULL DEFAULT false, \
         synthetic boolean NOT NULL DEFAULT true, updated_at timestamptz NOT NULL)"
    );
    sqlx::query(sqlx::AssertSqlSafe(ddl)).execute(pool).await?;
    let index =
        format!("CREATE INDEX IF NOT EXISTS {table}_change ON {table} (updated_at, visit_id)");
    sqlx::query(sqlx::AssertSqlSafe(index))
        .execute(pool)
        .await?;
    Ok(())
}

/// Inserts or updates one visit row (a JSON object of the columns).
///
/// # Errors
/// The database refuses.
pub async fn upsert(pool: &PgPool, facility: &str, row: &Value) -> Result<(), sqlx::Error> {
    let table = table_name(facility);
    let sql = format!(
        "INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, $1::jsonb) \
         ON CONFLICT (visit_id) DO UPDATE SET cancelled = EXCLUDED.cancelled, \
         updated_at = EXCLUDED.updated_at"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(row.to_string())
        .execute(pool)
        .await?;
    Ok(())
}
