//! PostgreSQL storage: schemas with global ids, subject versions, compatibility levels.
//!
//! The tables are created by the embedded migrations (`migrations/*.sql`). Every change to a
//! subject (registering, deleting) runs in a transaction that first takes a transaction-level
//! advisory lock on the subject (`pg_advisory_xact_lock(hashtext(subject))`): versions are
//! numbered without races, and the compatibility check sees exactly the versions it guards
//! against. Schema ids are global: the same schema registered concurrently under two subjects
//! still gets one id, because `schemas.digest` is unique and an insert that loses the race reads
//! the winner's row.
//!
//! Queries are built at run time (`sqlx::query`), since there is no database at compile time.

mod config;
mod delete;
mod schemas;
mod subjects;

use sqlx::{PgConnection, PgPool};

use crate::model::Subject;

pub use schemas::SchemaRecord;
pub use subjects::{Registered, VersionRecord};

/// The registry's storage, a cheap handle over a connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Wraps a pool on a migrated database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Serialises changes to one subject until the transaction ends.
async fn lock_subject(conn: &mut PgConnection, subject: &Subject) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(subject.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
