//! The audit API (auditors and admins) and aggregates (analysts and admins).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Role;
use super::error::ApiError;
use super::params::{AuditQuery, Params};

/// Smallest count published by `/stats`; smaller cells are suppressed (shown as null).
pub const MIN_CELL: i64 = 5;

/// `GET /audit?person=&actor=&from=&to=&limit=`: audit rows, newest first.
///
/// # Errors
/// 401, 403 (not an auditor or admin), 400 for a bad time or limit, 503.
pub async fn audit_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let caller = state.tokens.authenticate(&headers)?;
    if !matches!(caller.role, Role::Auditor | Role::Admin) {
        return Err(ApiError::Forbidden("only auditors read the audit log"));
    }
    let query = AuditQuery::parse(&q)?;
    let rows: Value = sqlx::query_scalar(
        "SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id DESC), '[]'::jsonb) FROM ( \
           SELECT id, at, actor, role, actor_facility, person_id, endpoint, purpose, outcome \
           FROM audit_log WHERE ($1::text IS NULL OR person_id = $1) \
             AND ($2::text IS NULL OR actor = $2) \
             AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4) \
           ORDER BY id DESC LIMIT $5) x",
    )
    .bind(query.person)
    .bind(query.actor)
    .bind(query.from)
    .bind(query.to)
    .bind(query.limit)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(json!({ "entries": rows })))
}

/// `GET /stats`: current events per entity and facility, cells under [`MIN_CELL`] suppressed.
///
/// # Errors
/// 401, 403 (not an analyst or admin), 503.
pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = state.tokens.authenticate(&headers)?;
    if !matches!(caller.role, Role::Analyst | Role::Admin) {
        return Err(ApiError::Forbidden("aggregates are for analysts"));
    }
    let rows: Value = sqlx::query_scalar(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('entity', entity, 'facility_code', f, \
           'count', CASE WHEN n >= $1 THEN n END) ORDER BY entity, f), '[]'::jsonb) FROM ( \
           SELECT 'encounter' AS entity, facility_code AS f, count(*) AS n FROM encounters WHERE is_current GROUP BY 2 \
           UNION ALL SELECT 'diagnosis', facility_code, count(*) FROM diagnoses WHERE is_current GROUP BY 2 \
           UNION ALL SELECT 'lab-result', facility_code, count(*) FROM lab_results WHERE is_current GROUP BY 2 \
           UNION ALL SELECT 'imaging-study', facility_code, count(*) FROM imaging_studies WHERE is_current GROUP BY 2 \
           UNION ALL SELECT 'settlement', facility_code, count(*) FROM settlements WHERE is_current GROUP BY 2 \
           UNION ALL SELECT 'referral', facility_code, count(*) FROM referrals WHERE is_current GROUP BY 2) c",
    )
    .bind(MIN_CELL)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(json!({ "min_cell": MIN_CELL, "counts": rows })))
}
