//! Compatibility levels: one global, optionally one per subject.

use sqlx::PgConnection;

use super::Store;
use crate::compat::Level;
use crate::error::RegistryError;
use crate::model::Subject;

impl Store {
    /// The global level (`BACKWARD` unless set).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn global_level(&self) -> Result<Level, RegistryError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT level FROM global_config")
            .fetch_optional(&self.pool)
            .await?;
        Ok(stored.map(|s| decode(&s)).transpose()?.unwrap_or_default())
    }

    /// Sets the global level.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn set_global_level(&self, level: Level) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO global_config (singleton, level) VALUES (true, $1) \
             ON CONFLICT (singleton) DO UPDATE SET level = EXCLUDED.level",
        )
        .bind(level.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Resets the global level to the default; returns the level it had.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn reset_global_level(&self) -> Result<Level, RegistryError> {
        let previous = self.global_level().await?;
        sqlx::query("DELETE FROM global_config")
            .execute(&self.pool)
            .await?;
        Ok(previous)
    }

    /// The subject's own level, if it has one.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn subject_level(&self, subject: &Subject) -> Result<Option<Level>, RegistryError> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT level FROM subject_config WHERE subject = $1")
                .bind(subject.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(stored.map(|s| decode(&s)).transpose()?)
    }

    /// Sets the subject's own level (the subject need not have versions yet).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn set_subject_level(
        &self,
        subject: &Subject,
        level: Level,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO subject_config (subject, level) VALUES ($1, $2) \
             ON CONFLICT (subject) DO UPDATE SET level = EXCLUDED.level",
        )
        .bind(subject.as_str())
        .bind(level.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the subject's own level, so that it follows the global one; returns the level it
    /// had.
    ///
    /// # Errors
    /// [`RegistryError::SubjectLevelNotConfigured`] (40408) if it had none; storage failures.
    pub async fn delete_subject_level(&self, subject: &Subject) -> Result<Level, RegistryError> {
        let removed: Option<String> =
            sqlx::query_scalar("DELETE FROM subject_config WHERE subject = $1 RETURNING level")
                .bind(subject.as_str())
                .fetch_optional(&self.pool)
                .await?;
        match removed {
            Some(level) => Ok(decode(&level)?),
            None => Err(RegistryError::SubjectLevelNotConfigured(
                subject.to_string(),
            )),
        }
    }
}

/// The level that applies to `subject`: its own, else the global one, else the default.
pub(super) async fn effective_level(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<Level, sqlx::Error> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT COALESCE((SELECT level FROM subject_config WHERE subject = $1), \
                         (SELECT level FROM global_config))",
    )
    .bind(subject.as_str())
    .fetch_one(conn)
    .await?;
    Ok(stored.map(|s| decode(&s)).transpose()?.unwrap_or_default())
}

/// A stored level; the tables only ever receive valid names, so a failure means corruption.
fn decode(stored: &str) -> Result<Level, sqlx::Error> {
    stored.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
