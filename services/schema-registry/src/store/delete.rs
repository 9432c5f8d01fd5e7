//! Deleting subjects and versions, soft then permanently (Confluent's two-step rule).
//!
//! A soft delete hides versions from reads and from compatibility checks but keeps their rows
//! (and version numbers); a permanent delete removes rows that were soft-deleted first. Schema
//! ids are never removed: messages already written with them must stay decodable.

use super::subjects::find_version;
use super::{Store, lock_subject};
use crate::error::RegistryError;
use crate::model::{Subject, VersionSpec};

impl Store {
    /// Deletes a subject; returns the versions deleted. Soft: hides every visible version.
    /// Permanent: removes every version (all must be soft-deleted already) and the subject's own
    /// compatibility level.
    ///
    /// # Errors
    /// [`RegistryError::SubjectNotFound`] (40401), [`RegistryError::SubjectSoftDeleted`] (40404)
    /// for a second soft delete, [`RegistryError::SubjectNotSoftDeleted`] (40405) for a permanent
    /// delete of visible versions; storage failures.
    pub async fn delete_subject(
        &self,
        subject: &Subject,
        permanent: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        let mut tx = self.pool.begin().await?;
        lock_subject(&mut tx, subject).await?;
        let rows: Vec<(i32, bool)> = sqlx::query_as(
            "SELECT version, deleted FROM subject_versions WHERE subject = $1 ORDER BY version",
        )
        .bind(subject.as_str())
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        let visible: Vec<i32> = rows.iter().filter(|(_, d)| !d).map(|(v, _)| *v).collect();
        let deleted = if permanent {
            if !visible.is_empty() {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_string()));
            }
            sqlx::query("DELETE FROM subject_versions WHERE subject = $1")
                .bind(subject.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM subject_config WHERE subject = $1")
                .bind(subject.as_str())
                .execute(&mut *tx)
                .await?;
            rows.into_iter().map(|(v, _)| v).collect()
        } else {
            if visible.is_empty() {
                return Err(RegistryError::SubjectSoftDeleted(subject.to_string()));
            }
            sqlx::query("UPDATE subject_versions SET deleted = true WHERE subject = $1")
                .bind(subject.as_str())
                .execute(&mut *tx)
                .await?;
            visible
        };
        tx.commit().await?;
        Ok(deleted)
    }

    /// Deletes one version; returns its number. Soft: hides it (`latest` is the newest visible
    /// version). Permanent: removes it (it must be soft-deleted already; `latest` is the newest
    /// version, deleted or not).
    ///
    /// # Errors
    /// [`RegistryError::SubjectNotFound`] (40401), [`RegistryError::VersionNotFound`] (40402),
    /// [`RegistryError::VersionSoftDeleted`] (40406) for a second soft delete,
    /// [`RegistryError::VersionNotSoftDeleted`] (40407) for a permanent delete of a visible
    /// version; storage failures.
    pub async fn delete_version(
        &self,
        subject: &Subject,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<i32, RegistryError> {
        let mut tx = self.pool.begin().await?;
        lock_subject(&mut tx, subject).await?;
        let include_deleted = permanent || matches!(spec, VersionSpec::Number(_));
        let record = find_version(&mut tx, subject, spec, include_deleted).await?;
        let version = record.version;
        if permanent {
            if !record.deleted {
                let subject = subject.to_string();
                return Err(RegistryError::VersionNotSoftDeleted { subject, version });
            }
            sqlx::query("DELETE FROM subject_versions WHERE subject = $1 AND version = $2")
                .bind(subject.as_str())
                .bind(version)
                .execute(&mut *tx)
                .await?;
        } else {
            if record.deleted {
                let subject = subject.to_string();
                return Err(RegistryError::VersionSoftDeleted { subject, version });
            }
            sqlx::query(
                "UPDATE subject_versions SET deleted = true WHERE subject = $1 AND version = $2",
            )
            .bind(subject.as_str())
            .bind(version)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(version)
    }
}
