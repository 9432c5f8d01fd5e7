//! Reading one intermediate table of a PostgreSQL or MySQL/MariaDB front-end processor.
//!
//! Every value is read as text in SQL (`CAST(col AS text)` / `CAST(col AS CHAR)`), so the row
//! document carries the database's own rendering (exact decimals, microseconds) and the Rust side
//! never guesses a vendor type. The cursor is kept as the text of the change time and the key and
//! is cast back to the columns' own types (found in the catalogue at start-up) in every
//! comparison, so the database compares and orders with its native semantics and its index on
//! `(change_time, pk)`.

use std::str::FromStr;
use std::time::Duration;

use futures::TryStreamExt;
use secrecy::ExposeSecret;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

use crate::cursor::Cursor;
use crate::settings::{SourceSettings, TableSettings};

/// A problem reading the source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The database failed or is unreachable (retried).
    #[error("source database: {0}")]
    Database(#[from] sqlx::Error),
    /// The configuration does not fit the table (fatal at start-up).
    #[error("{0}")]
    Config(String),
}

/// A connection pool to one front-end processor.
#[derive(Debug, Clone)]
pub enum Db {
    /// PostgreSQL.
    Postgres(PgPool),
    /// MySQL or MariaDB.
    MySql(MySqlPool),
}

impl Db {
    /// Connects lazily (the first query connects), so a source that is down does not stop the
    /// other sources; its tables retry.
    ///
    /// # Errors
    /// The URL is invalid or its file unreadable.
    pub fn connect(settings: &SourceSettings) -> Result<Self, SourceError> {
        let url = match (&settings.url_file, &settings.url) {
            (Some(file), _) => std::fs::read_to_string(file)
                .map_err(|e| SourceError::Config(format!("{}: {e}", file.display())))?
                .trim()
                .to_owned(),
            (None, Some(url)) => url.expose_secret().to_owned(),
            (None, None) => return Err(SourceError::Config("no source url".into())),
        };
        let timeout = Duration::from_secs(10);
        if url.starts_with("postgres") {
            let mut options = PgConnectOptions::from_str(&url)?;
            if let Some(zone) = &settings.time_zone {
                options = options.options([("TimeZone", zone.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(timeout)
                .connect_lazy_with(options);
            Ok(Self::Postgres(pool))
        } else if url.starts_with("mysql") || url.starts_with("mariadb") {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let options = MySqlConnectOptions::from_str(&url)?.timezone(settings.time_zone.clone());
            let pool = MySqlPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(timeout)
                .connect_lazy_with(options);
            Ok(Self::MySql(pool))
        } else {
            Err(SourceError::Config(
                "source url must start with postgres:// or mysql://".into(),
            ))
        }
    }
}

/// One row read: the cursor position and the mapped values in the table's column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// Change time as the database renders it.
    pub change_time: String,
    /// Primary key as the database renders it.
    pub pk: String,
    /// Mapped column values (`None` for SQL NULL).
    pub values: Vec<Option<String>>,
}

impl SourceRow {
    /// The row's cursor position.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            change_time: self.change_time.clone(),
            pk: self.pk.clone(),
        }
    }
}

/// The read horizon of one poll and how far the cursor is behind the database clock.
#[derive(Debug, Clone)]
pub struct Horizon {
    /// Rows with a change time strictly before this are read.
    pub before: String,
    /// Seconds between the database clock and the cursor's change time (none without cursor).
    pub lag_seconds: Option<f64>,
}

/// The SQL of one table, built once from quoted identifiers and catalogue types.
#[derive(Debug, Clone)]
struct Queries {
    horizon: String,
    first_batch: String,
    next_batch: String,
    day_keys: String,
    /// Prefix of the lookup by keys; the `IN`/`ANY` part is appended per call.
    by_keys: String,
    null_change_times: String,
}

/// A configured table, ready to read.
#[derive(Debug, Clone)]
pub struct SourceTable {
    db: Db,
    queries: Queries,
}

fn quote(name: &str, q: char) -> Result<String, SourceError> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(SourceError::Config(format!("invalid identifier {name:?}")));
    }
    let doubled = name.replace(q, &format!("{q}{q}"));
    Ok(format!("{q}{doubled}{q}"))
}

fn quote_path(path: &str, q: char) -> Result<String, SourceError> {
    let parts: Result<Vec<_>, _> = path.split('.').map(|p| quote(p, q)).collect();
    Ok(parts?.join("."))
}

impl SourceTable {
    /// Looks the table's key and change-time columns up in the catalogue and builds its SQL.
    ///
    /// # Errors
    /// The table or a column does not exist, the change-time column is not a timestamp, or the
    /// database is unreachable.
    pub async fn prepare(db: Db, table: &TableSettings) -> Result<Self, SourceError> {
        let queries = match &db {
            Db::Postgres(pool) => postgres_queries(pool, table).await?,
            Db::MySql(pool) => mysql_queries(pool, table).await?,
        };
        Ok(Self { db, queries })
    }

    /// The read horizon (database clock minus `window`) and the cursor's lag.
    ///
    /// # Errors
    /// The database failed.
    pub async fn horizon(
        &self,
        window: Duration,
        cursor: Option<&Cursor>,
    ) -> Result<Horizon, SourceError> {
        let micros = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
        let change_time = cursor.map(|c| c.change_time.as_str());
        let sql = AssertSqlSafe(self.queries.horizon.as_str());
        let (before, lag_seconds) = match &self.db {
            Db::Postgres(pool) => {
                let row = sqlx::query(sql)
                    .bind(micros as f64 / 1e6)
                    .bind(change_time)
                    .fetch_one(pool)
                    .await?;
                (
                    row.try_get::<String, _>(0)?,
                    row.try_get::<Option<f64>, _>(1)?,
                )
            }
            Db::MySql(pool) => {
                let row = sqlx::query(sql)
                    .bind(micros)
                    .bind(change_time)
                    .fetch_one(pool)
                    .await?;
                let lag: Option<i64> = row.try_get(1)?;
                (row.try_get::<String, _>(0)?, lag.map(|us| us as f64 / 1e6))
            }
        };
        Ok(Horizon {
            before,
            lag_seconds,
        })
    }

    /// Up to `limit` rows after `cursor` (all from the start without one) and before the
    /// horizon, in `(change time, key)` order.
    ///
    /// # Errors
    /// The database failed.
    pub async fn batch(
        &self,
        cursor: Option<&Cursor>,
        before: &str,
        limit: u32,
    ) -> Result<Vec<SourceRow>, SourceError> {
        match (&self.db, cursor) {
            (Db::Postgres(pool), None) => {
                let q = sqlx::query(AssertSqlSafe(self.queries.first_batch.as_str()))
                    .bind(before)
                    .bind(i64::from(limit));
                rows(q.fetch_all(pool).await?)
            }
            (Db::Postgres(pool), Some(c)) => {
                let q = sqlx::query(AssertSqlSafe(self.queries.next_batch.as_str()))
                    .bind(&c.change_time)
                    .bind(&c.pk)
                    .bind(before)
                    .bind(i64::from(limit));
                rows(q.fetch_all(pool).await?)
            }
            (Db::MySql(pool), None) => {
                let q = sqlx::query(AssertSqlSafe(self.queries.first_batch.as_str()))
                    .bind(before)
                    .bind(limit);
                rows(q.fetch_all(pool).await?)
            }
            (Db::MySql(pool), Some(c)) => {
                let q = sqlx::query(AssertSqlSafe(self.queries.next_batch.as_str()))
                    .bind(&c.change_time)
                    .bind(&c.change_time)
                    .bind(&c.pk)
                    .bind(before)
                    .bind(limit);
                rows(q.fetch_all(pool).await?)
            }
        }
    }

    /// `(key, change time)` of every row changed on `day` (`YYYY-MM-DD`, the session's zone) up
    /// to and including `upto`.
    ///
    /// # Errors
    /// The database failed.
    pub async fn day_keys(
        &self,
        day: chrono::NaiveDate,
        upto: &Cursor,
    ) -> Result<Vec<(String, String)>, SourceError> {
        let from = day.format("%Y-%m-%d").to_string();
        let to = (day + chrono::Days::new(1)).format("%Y-%m-%d").to_string();
        let sql = AssertSqlSafe(self.queries.day_keys.as_str());
        let pair = |row: &dyn RowPair| row.pair();
        let mut out = Vec::new();
        match &self.db {
            Db::Postgres(pool) => {
                let mut s = sqlx::query(sql)
                    .bind(&from)
                    .bind(&to)
                    .bind(&upto.change_time)
                    .bind(&upto.pk)
                    .fetch(pool);
                while let Some(row) = s.try_next().await? {
                    out.push(pair(&row)?);
                }
            }
            Db::MySql(pool) => {
                let mut s = sqlx::query(sql)
                    .bind(&from)
                    .bind(&to)
                    .bind(&upto.change_time)
                    .bind(&upto.change_time)
                    .bind(&upto.pk)
                    .fetch(pool);
                while let Some(row) = s.try_next().await? {
                    out.push(pair(&row)?);
                }
            }
        }
        Ok(out)
    }

    /// The current rows with these keys (those that still exist).
    ///
    /// # Errors
    /// The database failed.
    pub async fn by_keys(&self, keys: &[String]) -> Result<Vec<SourceRow>, SourceError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            match &self.db {
                Db::Postgres(pool) => {
                    let sql = format!("{} = ANY($1)", self.queries.by_keys);
                    let q = sqlx::query(AssertSqlSafe(sql)).bind(chunk);
                    out.extend(rows(q.fetch_all(pool).await?)?);
                }
                Db::MySql(pool) => {
                    let marks = vec!["?"; chunk.len()].join(",");
                    let sql = format!("{} IN ({marks})", self.queries.by_keys);
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for key in chunk {
                        q = q.bind(key);
                    }
                    out.extend(rows(q.fetch_all(pool).await?)?);
                }
            }
        }
        Ok(out)
    }

    /// Rows without a change time: the poller can never read them (counted, alerted).
    ///
    /// # Errors
    /// The database failed.
    pub async fn null_change_times(&self) -> Result<i64, SourceError> {
        let sql = AssertSqlSafe(self.queries.null_change_times.as_str());
        Ok(match &self.db {
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            Db::MySql(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        })
    }
}

/// Reads `(text, text)` from the first two columns of either database's rows.
trait RowPair {
    fn pair(&self) -> Result<(String, String), sqlx::Error>;
}

impl<R: Row> RowPair for R
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn pair(&self) -> Result<(String, String), sqlx::Error> {
        Ok((self.try_get(0)?, self.try_get(1)?))
    }
}

/// Decodes `change time, key, values...` rows.
fn rows<R: Row>(raw: Vec<R>) -> Result<Vec<SourceRow>, SourceError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    raw.iter()
        .map(|row| {
            let width = row.len();
            let mut values = Vec::with_capacity(width.saturating_sub(2));
            for i in 2..width {
                values.push(row.try_get::<Option<String>, _>(i)?);
            }
            Ok(SourceRow {
                change_time: row.try_get(0)?,
                pk: row.try_get(1)?,
                values,
            })
        })
        .collect()
}

/// The selected columns: change time, key, then the mapped columns in `columns` order.
fn select_list(
    table: &TableSettings,
    q: char,
    as_text: &str,
) -> Result<(String, String, String), SourceError> {
    let change = quote(&table.change_time, q)?;
    let pk = quote(&table.pk, q)?;
    // Output columns get positional aliases and every column is qualified with the alias `t`
    // of the relation: a bare `ORDER BY change_time` would otherwise sort by the *text* output
    // column of that name, and text order ("100" < "99") is not the order the cursor compares in.
    let mut list = vec![
        format!("CAST(t.{change} AS {as_text}) AS c0"),
        format!("CAST(t.{pk} AS {as_text}) AS c1"),
    ];
    for (i, column) in table.columns.values().enumerate() {
        list.push(format!(
            "CAST(t.{} AS {as_text}) AS c{}",
            quote(column, q)?,
            i + 2
        ));
    }
    Ok((list.join(", "), format!("t.{change}"), format!("t.{pk}")))
}

async fn postgres_queries(pool: &PgPool, table: &TableSettings) -> Result<Queries, SourceError> {
    let relation = quote_path(&table.table, '"')?;
    let column_type = async |column: &str| -> Result<String, SourceError> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = CAST($1 AS regclass) AND a.attname = $2 \
             AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(&relation)
        .bind(column)
        .fetch_optional(pool)
        .await?;
        found.ok_or_else(|| {
            SourceError::Config(format!("table {}: no column {column:?}", table.name))
        })
    };
    let change_type = column_type(&table.change_time).await?;
    if !change_type.starts_with("timestamp") {
        return Err(SourceError::Config(format!(
            "table {}: change-time column is {change_type}, not a timestamp",
            table.name
        )));
    }
    let pk_type = column_type(&table.pk).await?;
    for column in table.columns.values() {
        column_type(column).await?;
    }
    let (list, c, k) = select_list(table, '"', "text")?;
    let ct = |p: &str| format!("CAST({p} AS {change_type})");
    let kt = |p: &str| format!("CAST({p} AS {pk_type})");
    Ok(Queries {
        horizon: format!(
            "SELECT CAST({} AS text), \
             CAST(EXTRACT(EPOCH FROM ({} - {})) AS float8)",
            ct("now() - make_interval(secs => $1)"),
            ct("now()"),
            ct("$2")
        ),
        first_batch: format!(
            "SELECT {list} FROM {relation} AS t WHERE {c} < {} ORDER BY {c}, {k} LIMIT $2",
            ct("$1")
        ),
        next_batch: format!(
            "SELECT {list} FROM {relation} AS t WHERE ({c}, {k}) > ({}, {}) AND {c} < {} \
             ORDER BY {c}, {k} LIMIT $4",
            ct("$1"),
            kt("$2"),
            ct("$3")
        ),
        day_keys: format!(
            "SELECT CAST({k} AS text), CAST({c} AS text) FROM {relation} AS t \
             WHERE {c} >= {} AND {c} < {} AND ({c}, {k}) <= ({}, {})",
            ct("$1"),
            ct("$2"),
            ct("$3"),
            kt("$4")
        ),
        by_keys: format!("SELECT {list} FROM {relation} AS t WHERE CAST({k} AS text)"),
        null_change_times: format!("SELECT COUNT(*) FROM {relation} AS t WHERE {c} IS NULL"),
    })
}

async fn mysql_queries(pool: &MySqlPool, table: &TableSettings) -> Result<Queries, SourceError> {
    let (schema, name) = match table.table.split_once('.') {
        Some((s, n)) => (Some(s), n),
        None => (None, table.table.as_str()),
    };
    let relation = quote_path(&table.table, '`')?;
    let column_type = async |column: &str| -> Result<(String, String), SourceError> {
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT CAST(DATA_TYPE AS CHAR), CAST(COLUMN_TYPE AS CHAR) \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME = ?",
        )
        .bind(schema)
        .bind(name)
        .bind(column)
        .fetch_optional(pool)
        .await?;
        found.ok_or_else(|| {
            SourceError::Config(format!("table {}: no column {column:?}", table.name))
        })
    };
    let (change_type, _) = column_type(&table.change_time).await?;
    if !matches!(
        change_type.to_ascii_lowercase().as_str(),
        "datetime" | "timestamp"
    ) {
        return Err(SourceError::Config(format!(
            "table {}: change-time column is {change_type}, not DATETIME or TIMESTAMP",
            table.name
        )));
    }
    let (pk_data, pk_column) = column_type(&table.pk).await?;
    for column in table.columns.values() {
        column_type(column).await?;
    }
    // Keys are compared in their own type: numbers as numbers (a string would compare as a
    // double and lose precision above 2^53), strings in the column's collation.
    let pk_cast = match pk_data.to_ascii_lowercase().as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint"
            if pk_column.to_ascii_lowercase().contains("unsigned") =>
        {
            "CAST(? AS UNSIGNED)"
        }
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => "CAST(? AS SIGNED)",
        "decimal" => "CAST(? AS DECIMAL(65,30))",
        _ => "?",
    };
    let (list, c, k) = select_list(table, '`', "CHAR")?;
    let ct = "CAST(? AS DATETIME(6))";
    // MariaDB does not use an index range for row comparisons `(a, b) > (x, y)`; the expanded
    // form below it does.
    let after = format!("({c} > {ct} OR ({c} = {ct} AND {k} > {pk_cast}))");
    let upto = format!("({c} < {ct} OR ({c} = {ct} AND {k} <= {pk_cast}))");
    Ok(Queries {
        horizon: format!(
            "SELECT CAST(NOW(6) - INTERVAL ? MICROSECOND AS CHAR), \
             TIMESTAMPDIFF(MICROSECOND, {ct}, NOW(6))"
        ),
        first_batch: format!(
            "SELECT {list} FROM {relation} AS t WHERE {c} < {ct} ORDER BY {c}, {k} LIMIT ?"
        ),
        next_batch: format!(
            "SELECT {list} FROM {relation} AS t WHERE {after} AND {c} < {ct} \
             ORDER BY {c}, {k} LIMIT ?"
        ),
        day_keys: format!(
            "SELECT CAST({k} AS CHAR), CAST({c} AS CHAR) FROM {relation} AS t \
             WHERE {c} >= {ct} AND {c} < {ct} AND {upto}"
        ),
        by_keys: format!("SELECT {list} FROM {relation} AS t WHERE CAST({k} AS CHAR)"),
        null_change_times: format!("SELECT COUNT(*) FROM {relation} AS t WHERE {c} IS NULL"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_their_quote_doubled() {
        assert_eq!(quote_path("fep.visit", '"').unwrap(), "\"fep\".\"visit\"");
        assert_eq!(quote("a\"b", '"').unwrap(), "\"a\"\"b\"");
        assert_eq!(quote("a`b", '`').unwrap(), "`a``b`");
        assert!(quote("", '"').is_err());
        assert!(quote("a\nb", '"').is_err());
    }
}
