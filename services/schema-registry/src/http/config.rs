//! Compatibility levels: global and per subject.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Body, Flags, Params, Vnd};
use crate::compat::Level;
use crate::error::RegistryError;
use crate::model::Subject;

/// `{"compatibility": "FULL"}`. The value is taken loosely so that any wrong value (a number,
/// a missing field) is reported as an invalid level (42203), as Confluent does.
#[derive(Debug, Deserialize)]
pub(super) struct ConfigBody {
    #[serde(default, alias = "compatibilityLevel")]
    compatibility: Option<Value>,
}

impl ConfigBody {
    fn level(&self) -> Result<Level, RegistryError> {
        match &self.compatibility {
            Some(Value::String(name)) => name
                .parse()
                .map_err(|_| RegistryError::InvalidLevel(name.clone())),
            Some(other) => Err(RegistryError::InvalidLevel(other.to_string())),
            None => Err(RegistryError::InvalidLevel(String::new())),
        }
    }
}

fn level_body(level: Level) -> Vnd<Value> {
    Vnd(json!({ "compatibilityLevel": level }))
}

fn updated_body(level: Level) -> Vnd<Value> {
    Vnd(json!({ "compatibility": level }))
}

/// `GET /config` -> `{"compatibilityLevel": ...}`
pub(super) async fn get_global(State(state): State<AppState>) -> Result<Vnd<Value>, RegistryError> {
    Ok(level_body(state.store.global_level().await?))
}

/// `PUT /config` `{"compatibility": ...}` -> `{"compatibility": ...}`
pub(super) async fn put_global(
    State(state): State<AppState>,
    Body(body): Body<ConfigBody>,
) -> Result<Vnd<Value>, RegistryError> {
    let level = body.level()?;
    state.store.set_global_level(level).await?;
    Ok(updated_body(level))
}

/// `DELETE /config`: back to the default (`BACKWARD`); answers the level it had.
pub(super) async fn delete_global(
    State(state): State<AppState>,
) -> Result<Vnd<Value>, RegistryError> {
    Ok(level_body(state.store.reset_global_level().await?))
}

/// `GET /config/{subject}[?defaultToGlobal=true]`
pub(super) async fn get_subject(
    State(state): State<AppState>,
    Params(subject): Params<String>,
    flags: Flags,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    match state.store.subject_level(&subject).await? {
        Some(level) => Ok(level_body(level)),
        None if flags.flag("defaultToGlobal") => Ok(level_body(state.store.global_level().await?)),
        None => Err(RegistryError::SubjectLevelNotConfigured(
            subject.to_string(),
        )),
    }
}

/// `PUT /config/{subject}` `{"compatibility": ...}` (the subject need not exist yet).
pub(super) async fn put_subject(
    State(state): State<AppState>,
    Params(subject): Params<String>,
    Body(body): Body<ConfigBody>,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    let level = body.level()?;
    state.store.set_subject_level(&subject, level).await?;
    Ok(updated_body(level))
}

/// `DELETE /config/{subject}`: the subject follows the global level again; answers the level
/// it had.
pub(super) async fn delete_subject(
    State(state): State<AppState>,
    Params(subject): Params<String>,
) -> Result<Vnd<Value>, RegistryError> {
    let subject = Subject::new(subject)?;
    Ok(level_body(
        state.store.delete_subject_level(&subject).await?,
    ))
}
