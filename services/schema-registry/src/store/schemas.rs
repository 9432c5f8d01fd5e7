//! Schemas by global id.

use sqlx::PgConnection;

use super::Store;
use crate::avro::ParsedSchema;
use crate::error::RegistryError;

/// A stored schema.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SchemaRecord {
    /// The global id.
    pub id: i32,
    /// Always `AVRO` today.
    pub schema_type: String,
    /// The text as first registered.
    pub schema: String,
}

impl Store {
    /// The schema with this id. Soft- and permanently-deleted subject versions do not remove
    /// it: consumers must still decode old messages.
    ///
    /// # Errors
    /// [`RegistryError::SchemaNotFound`] (40403) for an unknown id; storage failures.
    pub async fn schema_by_id(&self, id: i32) -> Result<SchemaRecord, RegistryError> {
        sqlx::query_as("SELECT id, schema_type, schema FROM schemas WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| RegistryError::schema_id_not_found(id))
    }

    /// The `(subject, version)` pairs that use schema `id`, oldest first.
    ///
    /// # Errors
    /// [`RegistryError::SchemaNotFound`] for an unknown id; storage failures.
    pub async fn versions_of_schema(
        &self,
        id: i32,
        include_deleted: bool,
    ) -> Result<Vec<(String, i32)>, RegistryError> {
        self.schema_by_id(id).await?;
        Ok(sqlx::query_as(
            "SELECT subject, version FROM subject_versions \
             WHERE schema_id = $1 AND ($2 OR NOT deleted) ORDER BY subject, version",
        )
        .bind(id)
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many distinct schemas are stored.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn schema_count(&self) -> Result<i64, RegistryError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM schemas")
            .fetch_one(&self.pool)
            .await?)
    }
}

/// The id of `parsed`, inserting it if no schema with the same identity exists; whether it was
/// inserted.
///
/// Safe under concurrency: a concurrent insert of the same schema blocks on the unique digest
/// until the other transaction ends; if that one committed, the insert does nothing and the
/// second select (a fresh snapshot under READ COMMITTED) finds its row.
pub(super) async fn get_or_insert(
    conn: &mut PgConnection,
    parsed: &ParsedSchema,
) -> Result<(i32, bool), sqlx::Error> {
    const FIND: &str = "SELECT id FROM schemas WHERE digest = sha256(convert_to($1, 'UTF8'))";
    if let Some(id) = sqlx::query_scalar(FIND)
        .bind(&parsed.identity)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok((id, false));
    }
    let inserted: Option<i32> = sqlx::query_scalar(
        "INSERT INTO schemas (schema_type, schema, canonical_form, fingerprint, digest) \
         VALUES ('AVRO', $1, $2, $3, sha256(convert_to($4, 'UTF8'))) \
         ON CONFLICT (digest) DO NOTHING RETURNING id",
    )
    .bind(&parsed.text)
    .bind(&parsed.canonical_form)
    .bind(parsed.fingerprint)
    .bind(&parsed.identity)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = inserted {
        return Ok((id, true));
    }
    let id = sqlx::query_scalar(FIND)
        .bind(&parsed.identity)
        .fetch_one(&mut *conn)
        .await?;
    Ok((id, false))
}
