//! Extractors whose rejections are Confluent error bodies, never axum's plain-text ones, and the
//! JSON response type.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::error;

use crate::error::RegistryError;

/// The media type of every response.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Request media types accepted for JSON bodies (a missing `Content-Type` is accepted too).
const ACCEPTED: [&str; 4] = [
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];

/// A JSON request body; a malformed one is a 422 with a Confluent error body.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = RegistryError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
            let essence = value
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if !ACCEPTED
                .iter()
                .any(|accepted| accepted.eq_ignore_ascii_case(essence.trim()))
            {
                return Err(RegistryError::UnsupportedMediaType);
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                RegistryError::PayloadTooLarge
            } else {
                RegistryError::UnprocessableBody(rejection.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| RegistryError::UnprocessableBody(format!("invalid JSON body: {e}")))
    }
}

/// Path parameters; a parameter that cannot be decoded (invalid UTF-8) is a 404.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = RegistryError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Params(value))
            .map_err(|_| RegistryError::NotFound)
    }
}

/// Query parameters, read leniently as Confluent's server does: a flag is set when its value is
/// `true` (any case); anything else, or a parameter that cannot be decoded, leaves it unset.
#[derive(Debug, Default)]
pub struct Flags(Vec<(String, String)>);

impl Flags {
    /// Whether `name=true` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flags {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Query::try_from_uri(&parts.uri)
            .map(|Query(pairs)| Flags(pairs))
            .unwrap_or_default())
    }
}

/// A JSON response in the registry's media type.
#[derive(Debug)]
pub struct Vnd<T>(pub T);

impl<T: Serialize> IntoResponse for Vnd<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => {
                (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
            }
            Err(e) => {
                error!(error = %e, "Response could not be serialised.");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// A schema text returned as is (it is JSON already).
#[derive(Debug)]
pub struct RawSchema(pub String);

impl IntoResponse for RawSchema {
    fn into_response(self) -> Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            self.0,
        )
            .into_response()
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        match &self {
            Self::Storage(e) => error!(error = %e, "Storage failed while serving a request."),
            Self::CorruptSchema(id) => error!(id, "A stored schema no longer parses."),
            _ => {}
        }
        let body =
            serde_json::json!({ "error_code": self.error_code(), "message": self.to_string() });
        (
            self.status(),
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            body.to_string(),
        )
            .into_response()
    }
}
