//! API errors: a clear 4xx JSON body for the caller's mistakes, 503 when the database is down;
//! never a 500 with internals, and never personal data in a message.

use axum::Json;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::warn;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or unknown bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The role or facility may not read this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// No such person or resource.
    #[error("not found")]
    NotFound,
    /// The database failed (logged; the caller may retry).
    #[error("the record database is unavailable")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::BadRequest(_) => "bad_request",
            Self::NotFound => "not_found",
            Self::Database(_) => "unavailable",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Database(e) = &self {
            // sqlx errors carry SQL and codes, never bound values.
            warn!(error = %e, "Record query failed.");
        }
        let mut response = (
            self.status(),
            Json(json!({ "error": self.code(), "message": self.to_string() })),
        )
            .into_response();
        if matches!(self, Self::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Turns the plain-text errors axum's extractors and router answer by themselves (a query string
/// or path that does not percent-decode to UTF-8, a wrong method) into the API's JSON error
/// shape, so that every 4xx a caller sees is JSON. Their text describes the request's syntax,
/// never stored data; it is not logged.
pub async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        s if s.is_server_error() => "unavailable",
        _ => "bad_request",
    };
    let message = String::from_utf8_lossy(&text).trim().to_owned();
    let body = json!({ "error": code, "message": message }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
