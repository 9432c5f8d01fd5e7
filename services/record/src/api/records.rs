//! A person's timeline (keyset pagination), lab series, imaging, settlements and referrals.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::Row;

use super::AppState;
use super::access::person_read;
use super::error::ApiError;
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

/// The filter every timeline subquery gets (same parameters in each).
const FILTER: &str = " AND person_id = ANY($1) \
    AND ($2::timestamptz IS NULL OR event_time >= $2) \
    AND ($3::timestamptz IS NULL OR event_time < $3) \
    AND ($4::text IS NULL OR facility_code = $4) \
    AND ($5::timestamptz IS NULL OR (event_time, event_id) < ($5, $6::text))";

/// Default and largest page sizes.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// `GET /persons/{id}/timeline?type=&from=&to=&facility=&cursor=&limit=`: newest first, by
/// event time (never arrival), keyset-paginated on `(event_time, event_id)`.
///
/// # Errors
/// As `person_read`, plus 400 for a bad type, time, cursor or limit.
pub async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "timeline").await?;
    let types: Vec<&str> = match q.get("type").filter(|t| !t.is_empty()) {
        Some(t) => t.split(',').map(str::trim).collect(),
        None => TIMELINE.iter().map(|(t, _)| *t).collect(),
    };
    let mut parts = Vec::new();
    for t in &types {
        let (_, sql) = TIMELINE.iter().find(|(name, _)| name == t).ok_or_else(|| {
            let known: Vec<&str> = TIMELINE.iter().map(|(t, _)| *t).collect();
            ApiError::BadRequest(format!("type must be among {}", known.join(", ")))
        })?;
        parts.push(format!(
            "(SELECT * FROM ({sql}{FILTER}) s(type, event_id, event_time, facility_code, detail))"
        ));
    }
    let from = q.get("from").map(|v| parse_time(v, "from")).transpose()?;
    let to = q.get("to").map(|v| parse_time(v, "to")).transpose()?;
    let cursor = q.get("cursor").map(|c| decode_cursor(c)).transpose()?;
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| ApiError::BadRequest(format!("limit must be 1..={MAX_LIMIT}")))?,
        None => DEFAULT_LIMIT,
    };
    let sql = format!(
        "SELECT * FROM ({}) t ORDER BY event_time DESC, event_id DESC LIMIT $7",
        parts.join(" UNION ALL ")
    );
    // Assembled from the constants above; every value is a bind parameter.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&access.ids)
        .bind(from)
        .bind(to)
        .bind(q.get("facility"))
        .bind(cursor.as_ref().map(|(t, _)| *t))
        .bind(cursor.as_ref().map(|(_, id)| id.clone()))
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
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "labs").await?;
    let code = q
        .get("code")
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("code is required".into()))?;
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

/// RFC 3339, or a date read as midnight China Standard Time.
///
/// # Errors
/// 400 naming the parameter.
pub fn parse_time(value: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let cst = FixedOffset::east_opt(8 * 3600);
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .zip(cst)
        .and_then(|(t, tz)| t.and_local_timezone(tz).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::BadRequest(format!("{name} must be RFC 3339 or YYYY-MM-DD")))
}

/// The opaque cursor of a timeline position: hex of `<epoch µs>\x1f<event id>`.
pub fn encode_cursor(time: DateTime<Utc>, event_id: &str) -> String {
    format!("{}\u{1f}{event_id}", time.timestamp_micros())
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The position in a cursor.
///
/// # Errors
/// 400 for anything [`encode_cursor`] did not make.
pub fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), ApiError> {
    let bad = || ApiError::BadRequest("malformed cursor".into());
    if !cursor.len().is_multiple_of(2) || !cursor.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (micros, id) = text.split_once('\u{1f}').ok_or_else(bad)?;
    let time = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((time, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_000).unwrap();
        let c = encode_cursor(t, "H1:MSG-9:2");
        assert_eq!(decode_cursor(&c).unwrap(), (t, "H1:MSG-9:2".to_owned()));
        for bad in ["", "zz", "abc", "3132", "e4b8ade69687"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_accept_rfc3339_and_china_dates() {
        let d = parse_time("2026-01-02", "from").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-01-01T16:00:00+00:00");
        let t = parse_time("2026-01-02T08:00:00+08:00", "from").unwrap();
        assert_eq!(t, d + chrono::Duration::hours(8));
        assert!(parse_time("yesterday", "from").is_err());
    }
}
