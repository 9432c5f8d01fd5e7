//! The connector's durable state in the hub's own PostgreSQL database (via `hub-postgres`):
//! per table the cursor, the ledger of the row versions delivered to Kafka, and the results of
//! the reconciliation.
//!
//! Why a database and not a file next to the binary: the cursor and the ledger must move
//! together (the reconciliation compares the ledger with the source, so a cursor ahead of its
//! ledger would hide rows, a ledger ahead of its cursor would count rows twice), and one
//! PostgreSQL transaction makes both durable atomically. The connector is also stateless on its
//! host (a restarted container or another machine continues where it stopped), and operators can
//! query cursors and reconciliation results with SQL.
//!
//! A batch is committed here only after every delivery report of its rows came back successful,
//! so a crash between Kafka and this commit re-reads and re-sends the batch: duplicates with the
//! same message id, never a gap.

use sqlx::PgPool;

/// A position in a table's `(change time, key)` order, as the source database renders both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Change time of the last row delivered.
    pub change_time: String,
    /// Its primary key.
    pub pk: String,
}

/// One delivered row version, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Primary key.
    pub pk: String,
    /// Change time of the version delivered.
    pub change_time: String,
}

/// The day (`YYYY-MM-DD`) of a change time in the source's rendering.
pub fn day_of(change_time: &str) -> &str {
    change_time.get(..10).unwrap_or(change_time)
}

/// One day's comparison, stored for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayResult {
    /// The day.
    pub day: chrono::NaiveDate,
    /// Rows of the source changed that day (up to the cursor).
    pub source_rows: i64,
    /// Hash of the source's `(key, change time)` pairs.
    pub source_hash: u64,
    /// Row versions of that day in the hub's ledger.
    pub hub_rows: i64,
    /// Hash of the ledger's pairs.
    pub hub_hash: u64,
    /// Rows re-sent because the hub lacked them.
    pub late_rows: i64,
    /// Rows the hub delivered that the source no longer has (deleted at the source).
    pub hub_only_rows: i64,
}

/// The state database.
#[derive(Debug, Clone)]
pub struct StateStore {
    pool: PgPool,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS table_cursor (
        facility text NOT NULL, table_name text NOT NULL,
        change_time text NOT NULL, pk text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (facility, table_name))",
    "CREATE TABLE IF NOT EXISTS table_ledger (
        facility text NOT NULL, table_name text NOT NULL, pk text NOT NULL,
        change_time text NOT NULL, day text NOT NULL,
        delivered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (facility, table_name, pk))",
    "CREATE INDEX IF NOT EXISTS table_ledger_by_day ON table_ledger (facility, table_name, day)",
    "CREATE TABLE IF NOT EXISTS table_reconciliation (
        facility text NOT NULL, table_name text NOT NULL, day date NOT NULL,
        source_rows bigint NOT NULL, source_hash text NOT NULL,
        hub_rows bigint NOT NULL, hub_hash text NOT NULL,
        late_rows bigint NOT NULL, hub_only_rows bigint NOT NULL,
        checked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (facility, table_name, day))",
];

impl StateStore {
    /// Connects (creating the database if needed) and creates the tables.
    ///
    /// # Errors
    /// The database is unreachable or refuses the schema.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let pool = hub_postgres::connect(url, 4).await?;
        for statement in SCHEMA {
            sqlx::query(*statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// The pool (tests and the benchmark read the state directly).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The committed cursor of a table, if any.
    ///
    /// # Errors
    /// The database failed.
    pub async fn cursor(&self, facility: &str, table: &str) -> Result<Option<Cursor>, sqlx::Error> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT change_time, pk FROM table_cursor WHERE facility = $1 AND table_name = $2",
        )
        .bind(facility)
        .bind(table)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(change_time, pk)| Cursor { change_time, pk }))
    }

    /// Records delivered row versions in the ledger and, when given, moves the cursor: one
    /// transaction. Call only after Kafka confirmed every row.
    ///
    /// # Errors
    /// The database failed; nothing was recorded, the rows will be read and sent again.
    pub async fn commit(
        &self,
        facility: &str,
        table: &str,
        rows: &[Delivered],
        advance_to: Option<&Cursor>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let pks: Vec<&str> = rows.iter().map(|r| r.pk.as_str()).collect();
        let times: Vec<&str> = rows.iter().map(|r| r.change_time.as_str()).collect();
        let days: Vec<&str> = rows.iter().map(|r| day_of(&r.change_time)).collect();
        sqlx::query(
            "INSERT INTO table_ledger (facility, table_name, pk, change_time, day)
             SELECT $1, $2, k, c, d FROM UNNEST($3::text[], $4::text[], $5::text[]) AS u(k, c, d)
             ON CONFLICT (facility, table_name, pk) DO UPDATE
             SET change_time = EXCLUDED.change_time, day = EXCLUDED.day, delivered_at = now()",
        )
        .bind(facility)
        .bind(table)
        .bind(&pks)
        .bind(&times)
        .bind(&days)
        .execute(&mut *tx)
        .await?;
        if let Some(cursor) = advance_to {
            sqlx::query(
                "INSERT INTO table_cursor (facility, table_name, change_time, pk)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (facility, table_name) DO UPDATE
                 SET change_time = EXCLUDED.change_time, pk = EXCLUDED.pk, updated_at = now()",
            )
            .bind(facility)
            .bind(table)
            .bind(&cursor.change_time)
            .bind(&cursor.pk)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// The ledger's row versions of one day.
    ///
    /// # Errors
    /// The database failed.
    pub async fn ledger_day(
        &self,
        facility: &str,
        table: &str,
        day: chrono::NaiveDate,
    ) -> Result<Vec<Delivered>, sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT pk, change_time FROM table_ledger
             WHERE facility = $1 AND table_name = $2 AND day = $3",
        )
        .bind(facility)
        .bind(table)
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(pk, change_time)| Delivered { pk, change_time })
            .collect())
    }

    /// Stores one day's reconciliation result.
    ///
    /// # Errors
    /// The database failed.
    pub async fn record(
        &self,
        facility: &str,
        table: &str,
        result: &DayResult,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO table_reconciliation (facility, table_name, day, source_rows, source_hash,
                hub_rows, hub_hash, late_rows, hub_only_rows)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (facility, table_name, day) DO UPDATE SET
                source_rows = EXCLUDED.source_rows, source_hash = EXCLUDED.source_hash,
                hub_rows = EXCLUDED.hub_rows, hub_hash = EXCLUDED.hub_hash,
                late_rows = table_reconciliation.late_rows + EXCLUDED.late_rows,
                hub_only_rows = EXCLUDED.hub_only_rows, checked_at = now()",
        )
        .bind(facility)
        .bind(table)
        .bind(result.day)
        .bind(result.source_rows)
        .bind(format!("{:016x}", result.source_hash))
        .bind(result.hub_rows)
        .bind(format!("{:016x}", result.hub_hash))
        .bind(result.late_rows)
        .bind(result.hub_only_rows)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
