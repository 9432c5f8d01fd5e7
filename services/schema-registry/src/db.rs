//! Migrating the registry's database (connecting is `hub_postgres::connect`).

/// Applies the embedded migrations (`migrations/*.sql`); concurrent starts are serialised by
/// sqlx's own advisory lock.
///
/// # Errors
/// A migration fails, or the database was migrated by a newer, unknown version.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!().run(pool).await
}
