//! Connecting hub services to PostgreSQL.
//!
//! Each service owns its database (the registry, the EMPI, the record) and creates it on first
//! start, so a fresh server needs no manual step beyond a role with `CREATEDB`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgPool};
use tracing::info;

/// SQLSTATE `invalid_catalog_name`: the database does not exist.
const MISSING_DATABASE: &str = "3D000";
/// SQLSTATE `duplicate_database`: someone else created it first.
const DUPLICATE_DATABASE: &str = "42P04";

/// Connects a pool to `url`, creating the database first if it does not exist.
///
/// # Errors
/// The URL is invalid, the server cannot be reached, or the database cannot be created.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10));
    match pool.clone().connect_with(options.clone()).await {
        Err(e) if sqlstate(&e).as_deref() == Some(MISSING_DATABASE) => {
            create_database(&options).await?;
            pool.connect_with(options).await
        }
        result => result,
    }
}

async fn create_database(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    // The name is quoted as an identifier (embedded quotes doubled), so it cannot inject SQL.
    let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    match admin.execute(AssertSqlSafe(statement)).await {
        Ok(_) => info!(database = %name, "Created the database."),
        Err(e) if sqlstate(&e).as_deref() == Some(DUPLICATE_DATABASE) => {}
        Err(e) => return Err(e),
    }
    admin.close().await
}

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}
