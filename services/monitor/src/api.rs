//! The HTTP API: `GET /indicators` and `GET /indicators/ytd` (JSON: indicators, referral flows,
//! outflow by chapter, data quality), `GET /indicators/trend` (the twelve months to `period`),
//! `GET /pipeline` (events and dead letters of the last hour, silent facilities), and the
//! dashboard at `/`.
//!
//! Query parameters: `county` (six digits, default the first configured county) and `period`
//! (`YYYY-MM`, default the current local month). Only aggregates are served, small cells
//! suppressed, so no token is needed (the record API is where personal data lives).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;
use tracing::warn;

use crate::period::{Month, Scope};
use crate::report::{self, ReportConfig};

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The monitor's database.
    pub pool: PgPool,
    /// Targets, small-cell threshold, time zone.
    pub config: Arc<ReportConfig>,
    /// The default county.
    pub default_county: String,
}

/// Query parameters of every route.
#[derive(Debug, Deserialize)]
pub struct Params {
    /// Six-digit county code.
    pub county: Option<String>,
    /// `YYYY-MM`.
    pub period: Option<String>,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/indicators", get(month))
        .route("/indicators/ytd", get(ytd))
        .route("/indicators/trend", get(trend))
        .route("/pipeline", get(pipeline))
        .with_state(state)
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

/// Validated county and month from the parameters.
fn parse(state: &AppState, params: &Params) -> Result<(String, Month), &'static str> {
    let county = params
        .county
        .clone()
        .unwrap_or_else(|| state.default_county.clone());
    if !report::valid_county(&county) {
        return Err("county must be a six-digit GB/T 2260 code");
    }
    let month = match &params.period {
        Some(p) => Month::parse(p).ok_or("period must be YYYY-MM")?,
        None => Month::containing(
            chrono::Utc::now().timestamp_millis(),
            state.config.utc_offset_hours,
        )
        .ok_or("no current month")?,
    };
    Ok((county, month))
}

async fn json(state: AppState, params: Params, scope: Scope) -> Response {
    let (county, month) = match parse(&state, &params) {
        Ok(v) => v,
        Err(message) => return bad_request(message),
    };
    match report::build(&state.pool, &state.config, &county, month, scope).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => {
            warn!(error = %e, "Computing indicators failed.");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn month(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    json(state, params, Scope::Month).await
}

async fn ytd(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    json(state, params, Scope::YearToDate).await
}

async fn trend(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let (county, month) = match parse(&state, &params) {
        Ok(v) => v,
        Err(message) => return bad_request(message),
    };
    match crate::trend::build(&state.pool, &state.config, &county, month).await {
        Ok(trend) => Json(trend).into_response(),
        Err(e) => unavailable(&e),
    }
}

async fn pipeline(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let (county, _) = match parse(&state, &params) {
        Ok(v) => v,
        Err(message) => return bad_request(message),
    };
    let now = chrono::Utc::now().timestamp_millis();
    match crate::health::read(&state.pool, &county, now, state.config.silent_after_secs).await {
        Ok(health) => Json(health).into_response(),
        Err(e) => unavailable(&e),
    }
}

fn unavailable(e: &sqlx::Error) -> Response {
    warn!(error = %e, "Computing indicators failed.");
    (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
}

async fn dashboard(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let (county, month) = match parse(&state, &params) {
        Ok(v) => v,
        Err(message) => return bad_request(message),
    };
    let (pool, config) = (&state.pool, &state.config);
    let built = async {
        let page = crate::dashboard::Page {
            month: report::build(pool, config, &county, month, Scope::Month).await?,
            ytd: report::build(pool, config, &county, month, Scope::YearToDate).await?,
            trend: crate::trend::build(pool, config, &county, month).await?,
            health: crate::health::read(
                pool,
                &county,
                chrono::Utc::now().timestamp_millis(),
                config.silent_after_secs,
            )
            .await?,
        };
        Ok::<_, sqlx::Error>(page)
    };
    match built.await {
        Ok(page) => Html(crate::dashboard::render(&page)).into_response(),
        Err(e) => unavailable(&e),
    }
}
