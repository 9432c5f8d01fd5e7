//! Compatibility checks without registering.

use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Body, Flags, Params, Vnd};
use super::subjects::SchemaBody;
use crate::error::RegistryError;
use crate::model::{Subject, VersionSpec};

/// `POST /compatibility/subjects/{subject}/versions/{version|latest}[?verbose=true]`: checks
/// against that one version, in the direction(s) of the subject's level.
pub(super) async fn against_version(
    State(state): State<AppState>,
    Params((subject, version)): Params<(String, String)>,
    flags: Flags,
    Body(body): Body<SchemaBody>,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    let spec = VersionSpec::parse(&version)?;
    let parsed = body.parse()?;
    let messages = state
        .store
        .check_compatibility(&subject, &parsed, Some(spec))
        .await?;
    Ok(answer(messages, flags.flag("verbose")))
}

/// `POST /compatibility/subjects/{subject}/versions[?verbose=true]`: checks as a registration
/// would (the latest, or every version for a transitive level); a subject without versions
/// accepts anything.
pub(super) async fn against_versions(
    State(state): State<AppState>,
    Params(subject): Params<String>,
    flags: Flags,
    Body(body): Body<SchemaBody>,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    let parsed = body.parse()?;
    let messages = state
        .store
        .check_compatibility(&subject, &parsed, None)
        .await?;
    Ok(answer(messages, flags.flag("verbose")))
}

fn answer(messages: Vec<String>, verbose: bool) -> Vnd<Value> {
    let compatible = messages.is_empty();
    if verbose {
        Vnd(json!({ "is_compatible": compatible, "messages": messages }))
    } else {
        Vnd(json!({ "is_compatible": compatible }))
    }
}
