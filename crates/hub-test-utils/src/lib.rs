//! Helpers for tests that run against the real stack (the local broker and PostgreSQL started by
//! `scripts/stack.sh`): where to find them, random topic and group names, and a fresh database per
//! test, so that tests never share state and can run in parallel; [`tansu`] starts a private
//! broker for tests that stop, freeze or kill it, and [`child`] runs a service binary.

pub mod child;
pub mod tansu;

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

/// Environment variable with the broker's bootstrap servers.
pub const KAFKA_ENV: &str = "HUB_TEST_KAFKA";
/// Environment variable with a PostgreSQL URL of a role allowed to create databases.
pub const DATABASE_ENV: &str = "HUB_TEST_DATABASE_URL";

/// The broker the integration tests use (`HUB_TEST_KAFKA`, default `127.0.0.1:9092`).
pub fn kafka_bootstrap() -> String {
    std::env::var(KAFKA_ENV).unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// The PostgreSQL server the integration tests use (`HUB_TEST_DATABASE_URL`, default the local
/// server's `postgres` database over TCP).
pub fn admin_database_url() -> String {
    std::env::var(DATABASE_ENV)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A name unique to this test run: `<prefix>-<random hex>` (valid for topics and groups).
pub fn random_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// A database created for one test and dropped when the value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates an empty database with a random name.
    ///
    /// # Errors
    /// The server cannot be reached or refuses to create a database.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = admin_database_url();
        let name = format!("hub_test_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin_url).await.map_err(|e| {
            anyhow::anyhow!("cannot reach PostgreSQL at {admin_url} (run scripts/stack.sh): {e}")
        })?;
        // The name is generated here (hex digits), never taken from input.
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await?;
        conn.close().await?;
        let url = replace_database(&admin_url, &name);
        Ok(Self {
            name,
            url,
            admin_url,
        })
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A connection pool on the new database.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn pool(&self) -> anyhow::Result<sqlx::PgPool> {
        Ok(sqlx::postgres::PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&self.url)
            .await?)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop runs outside any async context we can borrow: use a short-lived runtime on its own
        // thread. A failure only leaves an empty test database behind.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                    let _ = conn.execute(AssertSqlSafe(statement)).await;
                }
            });
        })
        .join();
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{database}?{q}"),
        None => format!("{prefix}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_in_a_url() {
        assert_eq!(
            replace_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
