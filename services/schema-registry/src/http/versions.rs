//! One version of a subject: read, read its schema, delete.

use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::extract::{Flags, Params, RawSchema, Vnd};
use super::subjects::version_body;
use crate::error::RegistryError;
use crate::model::{Subject, VersionSpec};

/// `GET /subjects/{subject}/versions/{version|latest|-1}[?deleted=true]`
pub(super) async fn get(
    State(state): State<AppState>,
    Params((subject, version)): Params<(String, String)>,
    flags: Flags,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    let spec = VersionSpec::parse(&version)?;
    let record = state
        .store
        .version(&subject, spec, flags.flag("deleted"))
        .await?;
    Ok(Vnd(version_body(record)))
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the schema text alone.
pub(super) async fn schema(
    State(state): State<AppState>,
    Params((subject, version)): Params<(String, String)>,
    flags: Flags,
) -> Result<RawSchema, RegistryError> {
    let subject = Subject::new(subject)?;
    let spec = VersionSpec::parse(&version)?;
    let record = state
        .store
        .version(&subject, spec, flags.flag("deleted"))
        .await?;
    Ok(RawSchema(record.schema))
}

/// `DELETE /subjects/{subject}/versions/{version}[?permanent=true]` -> the version number.
pub(super) async fn delete(
    State(state): State<AppState>,
    Params((subject, version)): Params<(String, String)>,
    flags: Flags,
) -> Result<Vnd<i32>, RegistryError> {
    let subject = Subject::new(subject)?;
    let spec = VersionSpec::parse(&version)?;
    Ok(Vnd(state
        .store
        .delete_version(&subject, spec, flags.flag("permanent"))
        .await?))
}
