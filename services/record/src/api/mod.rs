//! The query API (axum, JSON): person search and record reads behind bearer tokens, purposes and
//! an audit row per read; the audit API; aggregates; the OpenAPI document; FHIR R4.
//!
//! Layout: [`auth`] (tokens, roles, purposes), [`access`] (merges, facility rule, audit rows),
//! [`persons`], [`records`], [`audit`], [`fhir`], [`openapi`], [`error`].

pub mod access;
pub mod audit;
pub mod auth;
pub mod error;
pub mod fhir;
pub mod openapi;
pub mod params;
pub mod persons;
pub mod records;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use sqlx::PgPool;

use crate::metrics::Metrics;
use auth::Tokens;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The record's database.
    pub pool: PgPool,
    /// Configured tokens.
    pub tokens: Arc<Tokens>,
    /// Metrics.
    pub metrics: Metrics,
    /// Identifier system OID of insurance numbers.
    pub insurance_oid: Arc<str>,
}

/// Every route of the API (method, path), as served and as documented in `/openapi.json`.
/// `/metrics`, `/healthz` and `/readyz` come from `hub-telemetry`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/persons"),
    ("get", "/persons/{id}"),
    ("get", "/persons/{id}/timeline"),
    ("get", "/persons/{id}/labs"),
    ("get", "/persons/{id}/imaging"),
    ("get", "/persons/{id}/settlements"),
    ("get", "/persons/{id}/referrals"),
    ("get", "/audit"),
    ("get", "/stats"),
    ("get", "/fhir/Patient/{id}"),
    ("get", "/fhir/Patient/{id}/$everything"),
    ("get", "/openapi.json"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

/// The API router (without the telemetry endpoints).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/persons", get(persons::search))
        .route("/persons/{id}", get(persons::summary))
        .route("/persons/{id}/timeline", get(records::timeline))
        .route("/persons/{id}/labs", get(records::labs))
        .route("/persons/{id}/imaging", get(records::imaging))
        .route("/persons/{id}/settlements", get(records::settlements))
        .route("/persons/{id}/referrals", get(records::referrals))
        .route("/audit", get(audit::audit_log))
        .route("/stats", get(audit::stats))
        .route("/fhir/Patient/{id}", get(fhir::patient))
        .route("/fhir/Patient/{id}/$everything", get(fhir::everything))
        .route("/openapi.json", get(openapi::document))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .fallback(unknown_route)
        .layer(middleware::map_response(error::json_rejections))
        .with_state(state)
}

/// 404 for a path the API does not serve, in the API's JSON error shape.
async fn unknown_route() -> error::ApiError {
    error::ApiError::NotFound
}

/// Counts `hub_record_reads_total{endpoint, status}` and times each request by route template
/// (never by the concrete path, which holds a person id).
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .request_seconds
        .with_label_values(&[endpoint.as_str()])
        .observe(started.elapsed().as_secs_f64());
    state
        .metrics
        .reads
        .with_label_values(&[endpoint.as_str(), response.status().as_str()])
        .inc();
    response
}
