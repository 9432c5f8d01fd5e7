//! Who may read whose record, merges resolved, and the audit row every read writes.
//!
//! **Merges** are resolved here, at query time: `person_aliases` maps a merged-away person id to
//! its survivor. A request for either id reads the survivor's record made of every id that
//! resolves to it. Nothing is rewritten when a merge arrives, so a late event still carrying the
//! merged-away id shows under the survivor, and an UNMERGE restores both records exactly.

use axum::http::HeaderMap;
use sqlx::PgPool;

use super::AppState;
use super::auth::{Caller, Role, purpose};
use super::error::ApiError;

/// Longest merge chain followed (a guard against cycles in bad data).
const MAX_CHAIN: i32 = 16;

/// Tables holding events of a person, with their facility column.
const PERSON_TABLES: &[&str] = &[
    "persons",
    "encounters",
    "diagnoses",
    "lab_results",
    "imaging_studies",
    "imaging_reports",
    "settlements",
    "referrals",
    "clinical_alerts",
];

/// An allowed, audited read of one person's record.
#[derive(Debug, Clone)]
pub struct Access {
    /// The reader.
    pub caller: Caller,
    /// The surviving person id the request resolved to.
    pub person_id: String,
    /// Every person id whose events belong to the record (the survivor and what merged into it).
    pub ids: Vec<String>,
}

impl Access {
    /// Whether identifiers are shown unmasked (administrators only).
    pub fn unmasked(&self) -> bool {
        self.caller.role == Role::Admin
    }
}

/// The surviving person id of `person_id` (itself when it was never merged).
///
/// # Errors
/// The database failed.
pub async fn survivor(pool: &PgPool, person_id: &str) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE up(id, depth) AS ( \
           SELECT $1::text, 0 \
           UNION SELECT a.survivor_id, up.depth + 1 FROM person_aliases a \
             JOIN up ON a.merged_id = up.id WHERE a.active AND up.depth < $2) \
         SELECT id FROM up ORDER BY depth DESC LIMIT 1",
    )
    .bind(person_id)
    .bind(MAX_CHAIN)
    .fetch_one(pool)
    .await
}

/// Every id that resolves to the survivor `root`, `root` first.
///
/// # Errors
/// The database failed.
pub async fn members(pool: &PgPool, root: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE down(id, depth) AS ( \
           SELECT $1::text, 0 \
           UNION SELECT a.merged_id, down.depth + 1 FROM person_aliases a \
             JOIN down ON a.survivor_id = down.id WHERE a.active AND down.depth < $2) \
         SELECT id FROM down GROUP BY id ORDER BY min(depth), id",
    )
    .bind(root)
    .bind(MAX_CHAIN)
    .fetch_all(pool)
    .await
}

/// Whether any event of `ids` exists, at `facility` when given (a referral counts for both its
/// sending and its receiving facility).
///
/// # Errors
/// The database failed.
pub async fn has_records(
    pool: &PgPool,
    ids: &[String],
    facility: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let parts: Vec<String> = PERSON_TABLES
        .iter()
        .map(|t| {
            format!(
                "EXISTS (SELECT 1 FROM {t} WHERE person_id = ANY($1) \
                 AND ($2::text IS NULL OR facility_code = $2))"
            )
        })
        .chain(std::iter::once(
            "EXISTS (SELECT 1 FROM referrals WHERE person_id = ANY($1) \
             AND (to_facility_code = $2 OR from_facility_code = $2))"
                .to_owned(),
        ))
        .collect();
    // Built from the table constants above only.
    let sql = format!("SELECT {}", parts.join(" OR "));
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(ids)
        .bind(facility)
        .fetch_one(pool)
        .await
}

/// Authenticates, checks the role, requires a purpose, resolves merges, checks the clinician's
/// facility and writes the audit row, in that order. A refused clinician is audited too.
///
/// # Errors
/// 401, 403, 400 (no purpose), 404 (no record at all), or 503.
pub async fn person_read(
    state: &AppState,
    headers: &HeaderMap,
    person_id: &str,
    endpoint: &'static str,
) -> Result<Access, ApiError> {
    let caller = state.tokens.authenticate(headers)?;
    if !matches!(caller.role, Role::Clinician | Role::Admin) {
        return Err(ApiError::Forbidden(
            "this role may not read a person's record",
        ));
    }
    let purpose = purpose(headers)?;
    let root = survivor(&state.pool, person_id).await?;
    let ids = members(&state.pool, &root).await?;
    if caller.role == Role::Clinician {
        let allowed = has_records(&state.pool, &ids, caller.facility.as_deref()).await?;
        if !allowed {
            audit(state, &caller, Some(&root), endpoint, purpose, "denied").await?;
            return Err(ApiError::Forbidden(
                "the person has no record at, or referral to, your facility",
            ));
        }
    } else if !has_records(&state.pool, &ids, None).await? {
        return Err(ApiError::NotFound);
    }
    audit(state, &caller, Some(&root), endpoint, purpose, "allowed").await?;
    Ok(Access {
        caller,
        person_id: root,
        ids,
    })
}

/// Appends one audit row. Reads are refused when it cannot be written.
///
/// # Errors
/// The database failed.
pub async fn audit(
    state: &AppState,
    caller: &Caller,
    person_id: Option<&str>,
    endpoint: &'static str,
    purpose: &str,
    outcome: &'static str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (actor, role, actor_facility, person_id, endpoint, purpose, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&caller.actor)
    .bind(caller.role.as_str())
    .bind(&caller.facility)
    .bind(person_id)
    .bind(endpoint)
    .bind(purpose)
    .bind(outcome)
    .execute(&state.pool)
    .await?;
    state.metrics.audit_rows.inc();
    Ok(())
}
