//! Writing facts: one transaction per batch, upserts by event id (a redelivery or correction
//! replaces the row), plus the facility registry and the record of alerts already produced.

use hub_terminology::{SharedCentre, Terminology};
use sqlx::{PgPool, Postgres, Transaction};

use crate::facts::{
    DeadLetterFact, DiagnosticFact, EncounterFact, Fact, IdentityFact, ReferralFact, SettlementFact,
};

/// Replaces `monitor_facility` with the registry, in one transaction.
///
/// # Errors
/// The database fails.
pub async fn sync_facilities(pool: &PgPool, terminology: &Terminology) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut codes = Vec::new();
    for f in terminology.facilities() {
        let centre = f.shared_centre.map(|c| match c {
            SharedCentre::Lab => "lab",
            SharedCentre::Imaging => "imaging",
        });
        sqlx::query(
            "INSERT INTO monitor_facility (code, level, admdvs, primary_care, shared_centre)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (code) DO UPDATE SET level = $2, admdvs = $3, primary_care = $4,
                 shared_centre = $5",
        )
        .bind(&f.code)
        .bind(f.level.as_str())
        .bind(&f.admdvs)
        .bind(f.primary_care)
        .bind(centre)
        .execute(&mut *tx)
        .await?;
        codes.push(f.code.clone());
    }
    sqlx::query("DELETE FROM monitor_facility WHERE NOT (code = ANY($1))")
        .bind(&codes)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Upserts `facts` in one transaction.
///
/// # Errors
/// The database fails or refuses a row.
pub async fn write(pool: &PgPool, facts: &[Fact]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for fact in facts {
        match fact {
            Fact::Settlement(s) => settlement(&mut tx, s).await?,
            Fact::Encounter(e) => encounter(&mut tx, e).await?,
            Fact::Referral(r) => referral(&mut tx, r).await?,
            Fact::Diagnostic(d) => diagnostic(&mut tx, d).await?,
            Fact::Identity(i) => identity(&mut tx, i).await?,
            Fact::DeadLetter(d) => dead_letter(&mut tx, d).await?,
        }
    }
    tx.commit().await
}

async fn settlement(tx: &mut Transaction<'_, Postgres>, s: &SettlementFact) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO monitor_settlement (event_id, setl_id, kind, reverses_setl_id,
             fixmedins_code, mdtrt_id, insuplc_admdvs, mdtrtarea_admvs, med_type, inpatient,
             setl_time, sign, medfee_sumamt, fund_pay_sumamt, event_time, dx_code, dx_system,
             dx_chapter, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19)
         ON CONFLICT (event_id) DO UPDATE SET setl_id = $2, kind = $3, reverses_setl_id = $4,
             fixmedins_code = $5, mdtrt_id = $6, insuplc_admdvs = $7, mdtrtarea_admvs = $8,
             med_type = $9, inpatient = $10, setl_time = $11, sign = $12, medfee_sumamt = $13,
             fund_pay_sumamt = $14, event_time = $15, dx_code = $16, dx_system = $17,
             dx_chapter = $18, received_at = $19",
    )
    .bind(&s.event_id)
    .bind(&s.setl_id)
    .bind(&s.kind)
    .bind(&s.reverses_setl_id)
    .bind(&s.fixmedins_code)
    .bind(&s.mdtrt_id)
    .bind(&s.insuplc_admdvs)
    .bind(&s.mdtrtarea_admvs)
    .bind(&s.med_type)
    .bind(s.inpatient)
    .bind(s.setl_time)
    .bind(s.sign)
    .bind(s.medfee_sumamt)
    .bind(s.fund_pay_sumamt)
    .bind(s.event_time)
    .bind(s.dx.as_ref().map(|d| &d.0))
    .bind(s.dx.as_ref().map(|d| &d.1))
    .bind(s.dx_chapter)
    .bind(s.received_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

async fn encounter(tx: &mut Transaction<'_, Postgres>, e: &EncounterFact) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO monitor_encounter (event_id, facility_code, encounter_id, encounter_class,
             action, event_time, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (event_id) DO UPDATE SET facility_code = $2, encounter_id = $3,
             encounter_class = $4, action = $5, event_time = $6, received_at = $7",
    )
    .bind(&e.event_id)
    .bind(&e.facility_code)
    .bind(&e.encounter_id)
    .bind(&e.encounter_class)
    .bind(&e.action)
    .bind(e.event_time)
    .bind(e.received_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

async fn referral(tx: &mut Transaction<'_, Postgres>, r: &ReferralFact) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO monitor_referral (event_id, referral_id, direction, status,
             from_facility_code, to_facility_code, referred_at, event_time, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (event_id) DO UPDATE SET referral_id = $2, direction = $3, status = $4,
             from_facility_code = $5, to_facility_code = $6, referred_at = $7, event_time = $8,
             received_at = $9",
    )
    .bind(&r.event_id)
    .bind(&r.referral_id)
    .bind(&r.direction)
    .bind(&r.status)
    .bind(&r.from_facility_code)
    .bind(&r.to_facility_code)
    .bind(r.referred_at)
    .bind(r.event_time)
    .bind(r.received_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

async fn diagnostic(tx: &mut Transaction<'_, Postgres>, d: &DiagnosticFact) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO monitor_diagnostic (event_id, service, order_id, centre_code, ordered_at,
             reported_at, cancelled, event_time, facility_code, code_unmapped, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (event_id) DO UPDATE SET service = $2, order_id = $3, centre_code = $4,
             ordered_at = $5, reported_at = $6, cancelled = $7, event_time = $8,
             facility_code = $9, code_unmapped = $10, received_at = $11",
    )
    .bind(&d.event_id)
    .bind(d.service)
    .bind(&d.order_id)
    .bind(&d.centre_code)
    .bind(d.ordered_at)
    .bind(d.reported_at)
    .bind(d.cancelled)
    .bind(d.event_time)
    .bind(&d.facility_code)
    .bind(d.code_unmapped)
    .bind(d.received_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

async fn identity(tx: &mut Transaction<'_, Postgres>, i: &IdentityFact) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO monitor_identity (event_id, facility_code, action, match_method, review_id,
             source, event_time, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (event_id) DO UPDATE SET facility_code = $2, action = $3, match_method = $4,
             review_id = $5, source = $6, event_time = $7, received_at = $8",
    )
    .bind(&i.event_id)
    .bind(&i.facility_code)
    .bind(&i.action)
    .bind(&i.match_method)
    .bind(&i.review_id)
    .bind(&i.source)
    .bind(i.event_time)
    .bind(i.received_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

async fn dead_letter(tx: &mut Transaction<'_, Postgres>, d: &DeadLetterFact) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO monitor_dead_letter (position, stage, facility_code, error_code, written_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (position) DO UPDATE SET stage = $2, facility_code = $3, error_code = $4,
             written_at = $5",
    )
    .bind(&d.position)
    .bind(&d.stage)
    .bind(&d.facility_code)
    .bind(&d.error_code)
    .bind(d.written_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// The ids among `alert_ids` already produced.
///
/// # Errors
/// The database fails.
pub async fn alerts_sent(pool: &PgPool, alert_ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT alert_id FROM monitor_alert_sent WHERE alert_id = ANY($1)")
        .bind(alert_ids)
        .fetch_all(pool)
        .await
}

/// Records that an alert was produced (after the broker acknowledged it).
///
/// # Errors
/// The database fails.
pub async fn mark_alert_sent(
    pool: &PgPool,
    alert_id: &str,
    source_event_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO monitor_alert_sent (alert_id, source_event_id, produced_at)
         VALUES ($1, $2, $3) ON CONFLICT (alert_id) DO NOTHING",
    )
    .bind(alert_id)
    .bind(source_event_id)
    .bind(now_ms)
    .execute(pool)
    .await
    .map(drop)
}
