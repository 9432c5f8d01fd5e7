//! Schemas by global id, and the supported schema types.

use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Flags, Params, RawSchema, Vnd};
use crate::avro::AVRO;
use crate::error::RegistryError;

/// An id from the path: a positive 32-bit integer, else no schema has it.
fn parse_id(raw: &str) -> Result<i32, RegistryError> {
    match raw.parse::<i32>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(RegistryError::SchemaNotFound(
            "Schema not found.".to_owned(),
        )),
    }
}

/// `GET /schemas/types`
pub(super) async fn types() -> Vnd<[&'static str; 1]> {
    Vnd([AVRO])
}

/// `GET /schemas/ids/{id}` -> `{"schema": ...}`
pub(super) async fn by_id(
    State(state): State<AppState>,
    Params(id): Params<String>,
) -> Result<Vnd<Value>, RegistryError> {
    let record = state.store.schema_by_id(parse_id(&id)?).await?;
    Ok(Vnd(json!({ "schema": record.schema })))
}

/// `GET /schemas/ids/{id}/schema`: the schema text alone.
pub(super) async fn raw_by_id(
    State(state): State<AppState>,
    Params(id): Params<String>,
) -> Result<RawSchema, RegistryError> {
    Ok(RawSchema(
        state.store.schema_by_id(parse_id(&id)?).await?.schema,
    ))
}

/// `GET /schemas/ids/{id}/versions[?deleted=true]` -> `[{"subject", "version"}]`
pub(super) async fn versions(
    State(state): State<AppState>,
    Params(id): Params<String>,
    flags: Flags,
) -> Result<Vnd<Vec<Value>>, RegistryError> {
    let pairs = state
        .store
        .versions_of_schema(parse_id(&id)?, flags.flag("deleted"))
        .await?;
    let body = pairs
        .into_iter()
        .map(|(subject, version)| json!({ "subject": subject, "version": version }))
        .collect();
    Ok(Vnd(body))
}

/// `GET /schemas/ids/{id}/subjects[?deleted=true]` -> the subjects using the schema.
pub(super) async fn subjects(
    State(state): State<AppState>,
    Params(id): Params<String>,
    flags: Flags,
) -> Result<Vnd<Vec<String>>, RegistryError> {
    let pairs = state
        .store
        .versions_of_schema(parse_id(&id)?, flags.flag("deleted"))
        .await?;
    let mut subjects: Vec<String> = pairs.into_iter().map(|(subject, _)| subject).collect();
    subjects.dedup();
    Ok(Vnd(subjects))
}
