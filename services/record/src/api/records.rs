//! A person's timeline (keyset pagination), lab series, imaging, settlements and referrals.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;

use super::AppState;
use super::access::person_read;
use super::error::ApiError;
use super::params::{Params, TimelineQuery, encode_cursor, lab_code};
use super::persons::list;

/// Timeline entry types, each with its subquery. Superseded versions (corrections, status
/// updates) are left out through `is_current`; encounter events and settlements are all shown,
/// with their `cancelled` / `reversed_by` marks.
const TIMELINE: &[(&str, &str)] = &[
    (
        "encounter",
        "SELECT 'encounter' AS type, event_id, event_time, facility_code, jsonb_build_object(\
         'encounter_id', encounter_id, 'class', encounter_class, 'action', action, \
         'department', department_name, 'admit_time', admit_time, 'discharge_time', discharge_time, \
         'cancelled', cancelled) AS detail FROM encounters WHERE TRUE",
    ),
    (
        "diagnosis",
        "SELECT 'diagnosis', event_id, event_time, facility_code, jsonb_build_object(\
         'code', code, 'display', code_display, 'code_system', code_system, 'action', action, \
         'diagnosis_type', diagnosis_type, 'encounter_id', encounter_id) \
         FROM diagnoses WHERE is_current",
    ),
    (
        "lab",
        "SELECT 'lab', event_id, event_time, facility_code, jsonb_build_object(\
         'test_code', test_code, 'test_display', test_display, 'value_text', value_text, \
         'value_numeric', value_numeric, 'unit', unit, 'abnormal_flag', abnormal_flag, \
         'result_status', result_status, 'order_id', order_id) FROM lab_results WHERE is_current",
    ),
    (
        "imaging_study",
        "SELECT 'imaging_study', event_id, event_time, facility_code, jsonb_build_object(\
         'order_id', order_id, 'status', status, 'modality', modality, 'body_part', body_part, \
         'procedure', procedure_display) FROM imaging_studies WHERE is_current",
    ),
    (
        "imaging_report",
        "SELECT 'imaging_report', event_id, event_time, facility_code, jsonb_build_object(\
         'order_id', order_id, 'report_status', report_status, 'modality', modality, \
         'impression', impression, 'critical', critical) FROM imaging_reports WHERE is_current",
    ),
    (
        "settlement",
        "SELECT 'settlement', event_id, event_time, facility_code, jsonb_build_object(\
         'setl_id', setl_id, 'kind', kind, 'reverses_setl_id', reverses_setl_id, \
         'reversed_by', reversed_by, 'medfee_sumamt', medfee_sumamt, \
         'fund_pay_sumamt', fund_pay_sumamt, 'med_type', med_type) FROM settlements WHERE TRUE",
    ),
    (
        "referral",
        "SELECT 'referral', event_id, event_time, facility_code, jsonb_build_object(\
         'referral_id', referral_id, 'direction', direction, 'status', status, \
         'from_facility_code', from_facility_code, 'to_facility_code', to_facility_code, \
         'reason_code', reason_code) FROM referrals WHERE is_current",
    ),
    (
        "alert",
        "SELECT 'alert', event_id, event_time, facility_code, jsonb_build_object(\
         'alert_type', alert_type, 'severity', severity, 'test_code', test_code, \
         'value_text', value_text) FROM clinical_alerts WHERE is_current",
    ),
];

/// The timeline's entry types, in the order of [`TIMELINE`].
pub fn timeline_types() -> impl Iterator<Item = &'static str> {
    TIMELINE.iter().map(|(t, _)| *t)
}

/// The filter every timeline subquery gets (same parameters in each).
const FILTER: &str = " AND person_id = ANY($1) \
    AND ($2::timestamptz IS NULL OR event_time >= $2) \
    AND ($3::timestamptz IS NULL OR event_time < $3) \
    AND ($4::text IS NULL OR facility_code = $4) \
    AND ($5::timestamptz IS NULL OR (event_time, event_id) < ($5, $6::text))";

/// `GET /persons/{id}/timeline?type=&from=&to=&facility=&cursor=&limit=`: newest first, by
/// event time (never arrival), keyset-paginated on `(event_time, event_id)`.
///
/// # Errors
/// As `person_read`, plus 400 for a bad type, time, cursor or limit.
pub async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "timeline").await?;
    let known: Vec<&'static str> = timeline_types().collect();
    let query = TimelineQuery::parse(&q, &known)?;
    let parts: Vec<String> = query
        .types
        .iter()
        .filter_map(|t| TIMELINE.iter().find(|(name, _)| name == t))
        .map(|(_, sql)| {
            format!("(SELECT * FROM ({sql}{FILTER}) s(type, event_id, event_time, facility_code, detail))")
        })
        .collect();
    let limit = query.limit;
    let sql = format!(
        "SELECT * FROM ({}) t ORDER BY event_time DESC, event_id DESC LIMIT $7",
        parts.join(" UNION ALL ")
    );
    // Assembled from the constants above; every value is a bind parameter.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&access.ids)
        .bind(query.from)
        .bind(query.to)
        .bind(query.facility)
        .bind(query.cursor.as_ref().map(|(t, _)| *t))
        .bind(query.cursor.as_ref().map(|(_, id)| id.as_str()))
        .bind(limit + 1)
        .fetch_all(&state.pool)
        .await?;
    let more = rows.len() as i64 > limit;
    let mut items = Vec::with_capacity(rows.len());
    let mut next = None;
    for row in rows.into_iter().take(limit as usize) {
        let event_id: String = row.try_get("event_id")?;
        let time: DateTime<Utc> = row.try_get("event_time")?;
        next = Some(encode_cursor(time, &event_id));
        items.push(json!({
            "type": row.try_get::<String, _>("type")?,
            "event_id": event_id,
            "event_time": time,
            "facility_code": row.try_get::<String, _>("facility_code")?,
            "detail": row.try_get::<Value, _>("detail")?,
        }));
    }
    Ok(Json(json!({
        "person_id": access.person_id,
        "items": items,
        "next_cursor": if more { next } else { None },
    })))
}

/// `GET /persons/{id}/labs?code=`: the current value of every observation of one test, oldest
/// first (for a trend).
///
/// # Errors
/// As `person_read`, plus 400 without `code`.
pub async fn labs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "labs").await?;
    let code = lab_code(&q)?;
    let series: Value = sqlx::query_scalar(
        "SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.time, x.event_id), '[]'::jsonb) FROM ( \
           SELECT event_id, coalesce(collected_at, event_time) AS time, value_text, value_numeric, \
                  unit, reference_range, abnormal_flag, result_status, facility_code, order_id, \
                  test_display FROM lab_results \
           WHERE person_id = ANY($1) AND test_code = $2 AND is_current \
             AND result_status <> 'CANCELLED') x",
    )
    .bind(&access.ids)
    .bind(code)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(
        json!({ "person_id": access.person_id, "code": code, "series": series }),
    ))
}

/// `GET /persons/{id}/imaging`: current studies, each with its order's current report, and
/// reports whose study was not (yet) received.
///
/// # Errors
/// As `person_read`.
pub async fn imaging(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "imaging").await?;
    let studies = list(
        &state,
        &access,
        "SELECT s.event_id, s.facility_code, s.order_id, s.accession_number, s.study_instance_uid, \
                s.status, s.modality, s.body_part, s.procedure_code, s.procedure_display, \
                s.performed_at, s.event_time, \
                (SELECT jsonb_build_object('report_id', r.report_id, 'report_status', \
                   r.report_status, 'findings', r.findings, 'impression', r.impression, \
                   'critical', r.critical, 'reported_at', r.reported_at) \
                 FROM imaging_reports r WHERE r.person_id = ANY($1) AND r.is_current \
                   AND r.facility_code = s.facility_code AND r.order_id = s.order_id LIMIT 1) AS report \
         FROM imaging_studies s WHERE s.person_id = ANY($1) AND s.is_current \
         ORDER BY s.event_time DESC",
    )
    .await?;
    let orphans = list(
        &state,
        &access,
        "SELECT r.event_id, r.facility_code, r.order_id, r.report_id, r.report_status, r.modality, \
                r.findings, r.impression, r.critical, r.reported_at, r.event_time \
         FROM imaging_reports r WHERE r.person_id = ANY($1) AND r.is_current AND NOT EXISTS ( \
           SELECT 1 FROM imaging_studies s WHERE s.person_id = ANY($1) \
             AND s.facility_code = r.facility_code AND s.order_id = r.order_id) \
         ORDER BY r.event_time DESC",
    )
    .await?;
    Ok(Json(
        json!({ "person_id": access.person_id, "studies": studies, "reports_without_study": orphans }),
    ))
}

/// `GET /persons/{id}/settlements`: every settlement, reversal and cancellation, newest first;
/// a reversed settlement names its reversal in `reversed_by`. Amounts in fen (0.01 CNY).
///
/// # Errors
/// As `person_read`.
pub async fn settlements(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "settlements").await?;
    let items = list(
        &state,
        &access,
        "SELECT event_id, setl_id, kind, reverses_setl_id, reversed_by, mdtrt_id, fixmedins_code, \
                insuplc_admdvs, insutype, med_type, inpatient, setl_time, medfee_sumamt, \
                fund_pay_sumamt, psn_cash_pay, diagnoses FROM settlements \
         WHERE person_id = ANY($1) AND is_current ORDER BY setl_time DESC, event_id DESC",
    )
    .await?;
    Ok(Json(
        json!({ "person_id": access.person_id, "settlements": items }),
    ))
}

/// `GET /persons/{id}/referrals`: each referral in its latest status, newest first.
///
/// # Errors
/// As `person_read`.
pub async fn referrals(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "referrals").await?;
    let items = list(
        &state,
        &access,
        "SELECT event_id, referral_id, direction, status, from_facility_code, to_facility_code, \
                reason_code, reason_display, referred_at, encounter_id, receiving_encounter_id, \
                event_time AS status_time FROM referrals \
         WHERE person_id = ANY($1) AND is_current ORDER BY referred_at DESC, event_id DESC",
    )
    .await?;
    Ok(Json(
        json!({ "person_id": access.person_id, "referrals": items }),
    ))
}
