//! Subjects: list, register, look up, delete.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Body, Flags, Params, Vnd};
use crate::avro::{self, AVRO, ParsedSchema};
use crate::error::RegistryError;
use crate::model::Subject;
use crate::store::VersionRecord;

/// The body of registration, lookup and compatibility requests. Other fields Confluent clients
/// may send (`metadata`, `ruleSet`, `id`, `version`) are ignored.
#[derive(Debug, Deserialize)]
pub(super) struct SchemaBody {
    schema: String,
    #[serde(rename = "schemaType", default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<Value>>,
}

impl SchemaBody {
    /// Parses the schema; only Avro without references is supported.
    pub(super) fn parse(&self) -> Result<ParsedSchema, RegistryError> {
        if let Some(kind) = &self.schema_type
            && !kind.eq_ignore_ascii_case(AVRO)
        {
            return Err(RegistryError::InvalidSchema(format!(
                "schema type '{kind}' is not supported: this registry supports AVRO only"
            )));
        }
        if self.references.as_ref().is_some_and(|r| !r.is_empty()) {
            return Err(RegistryError::InvalidSchema(
                "schema references are not supported".to_owned(),
            ));
        }
        avro::parse(&self.schema).map_err(|e| RegistryError::InvalidSchema(e.0))
    }
}

/// `{"subject", "id", "version", "schema"}` (`schemaType` is omitted, as Confluent does for
/// Avro, the only type here).
pub(super) fn version_body(record: VersionRecord) -> Value {
    json!({
        "subject": record.subject,
        "id": record.id,
        "version": record.version,
        "schema": record.schema,
    })
}

/// `GET /subjects[?deleted=true][&subjectPrefix=p]`
pub(super) async fn list(
    State(state): State<AppState>,
    flags: Flags,
) -> Result<Vnd<Vec<String>>, RegistryError> {
    let mut subjects = state.store.subjects(flags.flag("deleted")).await?;
    if let Some(prefix) = flags.get("subjectPrefix") {
        subjects.retain(|s| s.starts_with(prefix));
    }
    Ok(Vnd(subjects))
}

/// `GET /subjects/{subject}/versions[?deleted=true]`
pub(super) async fn versions(
    State(state): State<AppState>,
    Params(subject): Params<String>,
    flags: Flags,
) -> Result<Vnd<Vec<i32>>, RegistryError> {
    let subject = Subject::new(subject)?;
    Ok(Vnd(state
        .store
        .versions(&subject, flags.flag("deleted"))
        .await?))
}

/// `POST /subjects/{subject}/versions` `{"schema": ...}` -> `{"id": N}`
pub(super) async fn register(
    State(state): State<AppState>,
    Params(subject): Params<String>,
    Body(body): Body<SchemaBody>,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    let parsed = body.parse()?;
    let registered = state.store.register(&subject, &parsed).await?;
    if registered.new_schema {
        state.refresh_schema_gauge().await;
    }
    Ok(Vnd(json!({ "id": registered.id })))
}

/// `POST /subjects/{subject}[?deleted=true]` `{"schema": ...}`: which version holds the schema.
pub(super) async fn lookup(
    State(state): State<AppState>,
    Params(subject): Params<String>,
    flags: Flags,
    Body(body): Body<SchemaBody>,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    let parsed = body.parse()?;
    let record = state
        .store
        .lookup(&subject, &parsed, flags.flag("deleted"))
        .await?;
    Ok(Vnd(version_body(record)))
}

/// `DELETE /subjects/{subject}[?permanent=true]` -> the deleted versions.
pub(super) async fn delete(
    State(state): State<AppState>,
    Params(subject): Params<String>,
    flags: Flags,
) -> Result<Vnd<Vec<i32>>, RegistryError> {
    let subject = Subject::new(subject)?;
    Ok(Vnd(state
        .store
        .delete_subject(&subject, flags.flag("permanent"))
        .await?))
}
