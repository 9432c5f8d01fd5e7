//! Subjects and their versions: listing, reading, registering, checking compatibility.

use apache_avro::Schema;
use sqlx::PgConnection;

use super::config::effective_level;
use super::schemas::get_or_insert;
use super::{Store, lock_subject};
use crate::avro::{ParsedSchema, guarded};
use crate::compat::{self, Level};
use crate::error::RegistryError;
use crate::model::{Subject, VersionSpec};

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VersionRecord {
    /// The subject.
    pub subject: String,
    /// The version number within the subject.
    pub version: i32,
    /// The global schema id.
    pub id: i32,
    /// The schema text.
    pub schema: String,
    /// Whether the version is soft-deleted.
    pub deleted: bool,
}

/// The outcome of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    /// The global schema id.
    pub id: i32,
    /// The subject version that holds it.
    pub version: i32,
    /// Whether a new version was created (false: the subject already had this schema).
    pub new_version: bool,
    /// Whether a new schema id was created.
    pub new_schema: bool,
}

/// A literal query reading [`VersionRecord`]s, followed by `$rest` (conditions, order).
macro_rules! select_version {
    ($rest:literal) => {
        concat!(
            "SELECT sv.subject, sv.version, sv.schema_id AS id, s.schema, sv.deleted \
             FROM subject_versions sv JOIN schemas s ON s.id = sv.schema_id ",
            $rest
        )
    };
}

impl Store {
    /// Every subject with at least one version (visible unless `include_deleted`), sorted.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, RegistryError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT subject FROM subject_versions WHERE $1 OR NOT deleted ORDER BY subject",
        )
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The subject's version numbers, ascending.
    ///
    /// # Errors
    /// [`RegistryError::SubjectNotFound`] if it has none; storage failures.
    pub async fn versions(
        &self,
        subject: &Subject,
        include_deleted: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        let versions: Vec<i32> = sqlx::query_scalar(
            "SELECT version FROM subject_versions WHERE subject = $1 AND ($2 OR NOT deleted) \
             ORDER BY version",
        )
        .bind(subject.as_str())
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?;
        if versions.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        Ok(versions)
    }

    /// One version of the subject.
    ///
    /// # Errors
    /// [`RegistryError::SubjectNotFound`] (40401), [`RegistryError::VersionNotFound`] (40402);
    /// storage failures.
    pub async fn version(
        &self,
        subject: &Subject,
        spec: VersionSpec,
        include_deleted: bool,
    ) -> Result<VersionRecord, RegistryError> {
        let mut conn = self.pool.acquire().await?;
        find_version(&mut conn, subject, spec, include_deleted).await
    }

    /// The newest version of the subject holding this schema.
    ///
    /// # Errors
    /// [`RegistryError::SubjectNotFound`] (40401), [`RegistryError::SchemaNotFound`] (40403);
    /// storage failures.
    pub async fn lookup(
        &self,
        subject: &Subject,
        parsed: &ParsedSchema,
        include_deleted: bool,
    ) -> Result<VersionRecord, RegistryError> {
        let mut conn = self.pool.acquire().await?;
        if !subject_exists(&mut conn, subject, include_deleted).await? {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        sqlx::query_as(select_version!(
            "WHERE sv.subject = $1 AND s.digest = sha256(convert_to($2, 'UTF8')) \
             AND ($3 OR NOT sv.deleted) ORDER BY sv.version DESC LIMIT 1"
        ))
        .bind(subject.as_str())
        .bind(&parsed.identity)
        .bind(include_deleted)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| RegistryError::SchemaNotFound("Schema not found".into()))
    }

    /// Registers `parsed` under `subject`: the existing id if a visible version already holds
    /// this schema, else a new version after the compatibility check of the subject's level.
    /// A soft-deleted version with the same schema does not count: the schema comes back as a
    /// new version (with its old global id).
    ///
    /// # Errors
    /// [`RegistryError::Incompatible`] (409); [`RegistryError::CorruptSchema`] or storage
    /// failures.
    pub async fn register(
        &self,
        subject: &Subject,
        parsed: &ParsedSchema,
    ) -> Result<Registered, RegistryError> {
        let mut tx = self.pool.begin().await?;
        lock_subject(&mut tx, subject).await?;
        let existing: Option<(i32, i32)> = sqlx::query_as(
            "SELECT sv.schema_id, sv.version FROM subject_versions sv \
             JOIN schemas s ON s.id = sv.schema_id \
             WHERE sv.subject = $1 AND NOT sv.deleted AND s.digest = sha256(convert_to($2, 'UTF8')) \
             ORDER BY sv.version DESC LIMIT 1",
        )
        .bind(subject.as_str())
        .bind(&parsed.identity)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id, version)) = existing {
            tx.commit().await?;
            return Ok(Registered {
                id,
                version,
                new_version: false,
                new_schema: false,
            });
        }

        let level = effective_level(&mut tx, subject).await?;
        let messages = check_against(&mut tx, subject, level, &parsed.schema, None).await?;
        if !messages.is_empty() {
            return Err(RegistryError::Incompatible {
                subject: subject.to_string(),
                messages,
            });
        }
        let (id, new_schema) = get_or_insert(&mut tx, parsed).await?;
        let version: i32 = sqlx::query_scalar(
            "INSERT INTO subject_versions (subject, version, schema_id) \
             SELECT $1, COALESCE(max(version), 0) + 1, $2 FROM subject_versions WHERE subject = $1 \
             RETURNING version",
        )
        .bind(subject.as_str())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Registered {
            id,
            version,
            new_version: true,
            new_schema,
        })
    }

    /// Checks `parsed` against the subject under its level: against one version if `against`
    /// names it, else against the latest or (for a transitive level) every visible version.
    /// Returns one message per failed check; empty means compatible.
    ///
    /// # Errors
    /// [`RegistryError::SubjectNotFound`] or [`RegistryError::VersionNotFound`] when `against`
    /// names a version that does not exist; [`RegistryError::InvalidSchema`] if the Avro library
    /// fails on the schemas; storage failures.
    pub async fn check_compatibility(
        &self,
        subject: &Subject,
        parsed: &ParsedSchema,
        against: Option<VersionSpec>,
    ) -> Result<Vec<String>, RegistryError> {
        let mut conn = self.pool.acquire().await?;
        let level = effective_level(&mut conn, subject).await?;
        check_against(&mut conn, subject, level, &parsed.schema, against).await
    }
}

/// Whether the subject has a version (a visible one unless `include_deleted`).
pub(super) async fn subject_exists(
    conn: &mut PgConnection,
    subject: &Subject,
    include_deleted: bool,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM subject_versions WHERE subject = $1 AND ($2 OR NOT deleted))",
    )
    .bind(subject.as_str())
    .bind(include_deleted)
    .fetch_one(conn)
    .await
}

/// Resolves a version selector; `latest` is the newest version that `include_deleted` admits.
pub(super) async fn find_version(
    conn: &mut PgConnection,
    subject: &Subject,
    spec: VersionSpec,
    include_deleted: bool,
) -> Result<VersionRecord, RegistryError> {
    let found: Option<VersionRecord> = match spec {
        VersionSpec::Latest => sqlx::query_as(select_version!(
            "WHERE sv.subject = $1 AND ($2 OR NOT sv.deleted) \
             ORDER BY sv.version DESC LIMIT 1"
        ))
        .bind(subject.as_str())
        .bind(include_deleted),
        VersionSpec::Number(n) => sqlx::query_as(select_version!(
            "WHERE sv.subject = $1 AND ($2 OR NOT sv.deleted) AND sv.version = $3"
        ))
        .bind(subject.as_str())
        .bind(include_deleted)
        .bind(n),
    }
    .fetch_optional(&mut *conn)
    .await?;
    match found {
        Some(record) => Ok(record),
        None if !subject_exists(conn, subject, include_deleted).await? => {
            Err(RegistryError::SubjectNotFound(subject.to_string()))
        }
        None => Err(RegistryError::VersionNotFound(spec.to_string())),
    }
}

/// Runs the level's checks of `new` against the subject's visible versions (or one of them).
async fn check_against(
    conn: &mut PgConnection,
    subject: &Subject,
    level: Level,
    new: &Schema,
    against: Option<VersionSpec>,
) -> Result<Vec<String>, RegistryError> {
    if level == Level::None && against.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i32, i32, String)> = match against {
        Some(spec) => {
            let record = find_version(conn, subject, spec, false).await?;
            vec![(record.version, record.id, record.schema)]
        }
        None => {
            let limit: i64 = if level.is_transitive() { i64::MAX } else { 1 };
            sqlx::query_as(
                "SELECT sv.version, s.id, s.schema FROM subject_versions sv \
                 JOIN schemas s ON s.id = sv.schema_id WHERE sv.subject = $1 AND NOT sv.deleted \
                 ORDER BY sv.version DESC LIMIT $2",
            )
            .bind(subject.as_str())
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut previous = Vec::with_capacity(rows.len());
    for (version, id, text) in rows {
        let schema = guarded(|| Schema::parse_str(&text))
            .ok()
            .and_then(Result::ok)
            .ok_or(RegistryError::CorruptSchema(id))?;
        previous.push((version, schema));
    }
    // Avro resolution compares fields pairwise: a huge schema can take a while, so the check
    // runs on the blocking pool rather than on a runtime worker.
    let new = new.clone();
    tokio::task::spawn_blocking(move || compat::check(level, &new, &previous))
        .await
        .map_err(|_| RegistryError::InvalidSchema("the compatibility check failed".to_owned()))?
        .map_err(|e| RegistryError::InvalidSchema(e.0))
}
