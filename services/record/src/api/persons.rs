//! Finding a person, and a person's summary.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::NaiveDate;
use hub_identity::mask;
use serde_json::{Value, json};
use sqlx::Row;

use super::AppState;
use super::access::{self, Access, has_records, members, person_read, survivor};
use super::auth::{Role, purpose};
use super::error::ApiError;
use super::params::{Params, Search};

/// Resident ID number system OID (GB 11643, CDA identifier OID).
pub const RESIDENT_ID_OID: &str = "2.16.156.10011.1.3";

/// `GET /persons?id_number=` | `?insurance_number=` | `?name=&birth_date=`: exact matches only,
/// each returned person audited (endpoint `search`). Clinicians see only persons they may read.
///
/// # Errors
/// 401, 403, 400 (no purpose, no or mixed criteria, bad date), 503.
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let caller = state.tokens.authenticate(&headers)?;
    if !matches!(caller.role, Role::Clinician | Role::Admin) {
        return Err(ApiError::Forbidden("this role may not search persons"));
    }
    let purpose = purpose(&headers)?;
    let found: Vec<String> = match Search::parse(&query)? {
        Search::IdNumber(id) => {
            sqlx::query_scalar("SELECT DISTINCT person_id FROM persons WHERE id_number = $1")
                .bind(id)
                .fetch_all(&state.pool)
                .await?
        }
        Search::InsuranceNumber(number) => {
            sqlx::query_scalar(
                "SELECT person_id FROM person_identifiers WHERE system_oid = $1 AND value = $2 \
                 UNION SELECT person_id FROM settlements WHERE psn_no = $2",
            )
            .bind(state.insurance_oid.as_ref())
            .bind(number)
            .fetch_all(&state.pool)
            .await?
        }
        Search::NameAndBirthDate { name, birth_date } => {
            sqlx::query_scalar(
                "SELECT DISTINCT person_id FROM persons WHERE name = $1 AND birth_date = $2",
            )
            .bind(name)
            .bind(birth_date)
            .fetch_all(&state.pool)
            .await?
        }
    };
    let mut roots: Vec<String> = Vec::new();
    for id in found {
        let root = survivor(&state.pool, &id).await?;
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    let mut persons = Vec::new();
    for root in roots {
        let ids = members(&state.pool, &root).await?;
        if caller.role == Role::Clinician
            && !has_records(&state.pool, &ids, caller.facility.as_deref()).await?
        {
            continue;
        }
        access::audit(&state, &caller, Some(&root), "search", purpose, "allowed").await?;
        let access = Access {
            caller: caller.clone(),
            person_id: root,
            ids,
        };
        persons.push(json!({
            "person_id": access.person_id,
            "demographics": demographics(&state, &access).await?,
        }));
    }
    Ok(Json(json!({ "persons": persons })))
}

/// `GET /persons/{id}`: demographics (identifiers masked unless admin), identifiers, active
/// problems, the last visits and clinical alerts.
///
/// # Errors
/// As [`person_read`].
pub async fn summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let access = person_read(&state, &headers, &id, "summary").await?;
    let problems = list(
        &state,
        &access,
        "SELECT code, code_display, code_system, diagnosis_type, facility_code, encounter_id, \
                event_time AS recorded_at FROM diagnoses \
         WHERE person_id = ANY($1) AND is_current AND action <> 'REMOVED' \
         ORDER BY event_time DESC LIMIT 50",
    )
    .await?;
    let visits = list(
        &state,
        &access,
        "SELECT facility_code, encounter_id, encounter_class, action AS last_action, \
                department_name, admit_time, discharge_time, event_time AS last_event_time, \
                (cancelled OR action LIKE 'CANCEL\\_%') AS cancelled FROM encounters \
         WHERE person_id = ANY($1) AND is_current ORDER BY event_time DESC LIMIT 10",
    )
    .await?;
    let alerts = list(
        &state,
        &access,
        "SELECT alert_id, alert_type, severity, test_code, test_display, value_text, \
                threshold_text, facility_code, notify_facility_code, raised_at FROM clinical_alerts \
         WHERE person_id = ANY($1) AND is_current ORDER BY raised_at DESC LIMIT 20",
    )
    .await?;
    let identifiers = identifiers(&state, &access).await?;
    Ok(Json(json!({
        "person_id": access.person_id,
        "merged_ids": &access.ids[1..],
        "demographics": demographics(&state, &access).await?,
        "identifiers": identifiers,
        "active_problems": problems,
        "last_visits": visits,
        "alerts": alerts,
    })))
}

/// Runs `sql` (with `$1` = the record's person ids) and returns its rows as a JSON array.
///
/// # Errors
/// The database failed.
pub async fn list(state: &AppState, access: &Access, sql: &'static str) -> Result<Value, ApiError> {
    let wrapped = format!("SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb) FROM ({sql}) x");
    // `sql` is a constant of this crate.
    let value: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(wrapped))
        .bind(&access.ids)
        .fetch_one(&state.pool)
        .await?;
    Ok(value)
}

/// The current demographics, the survivor's own row preferred over a merged id's.
///
/// # Errors
/// The database failed.
pub async fn demographics(state: &AppState, access: &Access) -> Result<Value, ApiError> {
    let row = sqlx::query(
        "SELECT name, sex_code, birth_date, id_number, phone, address_division_code, \
                insured_admdvs, ethnicity_code, facility_code, event_time \
         FROM persons WHERE person_id = ANY($1) AND is_current \
         ORDER BY (person_id = $2) DESC, event_time DESC LIMIT 1",
    )
    .bind(&access.ids)
    .bind(&access.person_id)
    .fetch_optional(&state.pool)
    .await?;
    let Some(row) = row else {
        return Ok(Value::Null);
    };
    let id_number: Option<String> = row.try_get("id_number")?;
    let phone: Option<String> = row.try_get("phone")?;
    let (id_number, phone) = if access.unmasked() {
        (id_number, phone)
    } else {
        (
            id_number.as_deref().map(mask::id_number),
            phone.as_deref().map(mask::phone),
        )
    };
    Ok(json!({
        "name": row.try_get::<String, _>("name")?,
        "sex_code": row.try_get::<String, _>("sex_code")?,
        "birth_date": row.try_get::<Option<NaiveDate>, _>("birth_date")?,
        "id_number": id_number,
        "phone": phone,
        "address_division_code": row.try_get::<Option<String>, _>("address_division_code")?,
        "insured_admdvs": row.try_get::<Option<String>, _>("insured_admdvs")?,
        "ethnicity_code": row.try_get::<Option<String>, _>("ethnicity_code")?,
        "masked": !access.unmasked(),
    }))
}

/// Every identifier of the record; resident ID numbers masked unless admin.
///
/// # Errors
/// The database failed.
pub async fn identifiers(state: &AppState, access: &Access) -> Result<Vec<Value>, ApiError> {
    let rows = sqlx::query(
        "SELECT DISTINCT system_oid, assigner, value FROM person_identifiers \
         WHERE person_id = ANY($1) ORDER BY system_oid, assigner, value",
    )
    .bind(&access.ids)
    .fetch_all(&state.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let system: String = row.try_get("system_oid")?;
        let value: String = row.try_get("value")?;
        let value = if system == RESIDENT_ID_OID && !access.unmasked() {
            mask::id_number(&value)
        } else {
            value
        };
        let assigner: String = row.try_get("assigner")?;
        out.push(json!({
            "system": format!("urn:oid:{system}"),
            "assigner": (!assigner.is_empty()).then_some(assigner),
            "value": value,
        }));
    }
    Ok(out)
}
