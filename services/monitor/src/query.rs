//! The indicators' inputs, read from the facts with SQL aggregates: every instance, and every
//! restart, computes the same numbers from the same rows.
//!
//! Facility attributes (level, division, primary care, shared centre) come from
//! `monitor_facility`, joined at query time, so a registry correction applies to history.

use sqlx::PgPool;

use crate::indicators::{Inputs, Turnaround};

/// Settled visits of the county's insured persons: one visit per (institution, `mdtrt_id`) whose
/// settlements minus reversals leave at least one; a reversal counts in the month of the
/// settlement it undoes; pharmacies (registry level, or med_type 41) excluded. The place of an
/// unregistered institution is the bureau's `mdtrtarea_admvs`.
const SETTLEMENTS: &str = r"
WITH latest AS (
    SELECT DISTINCT ON (kind = 'SETTLEMENT', CASE WHEN kind = 'SETTLEMENT' THEN setl_id
                        ELSE COALESCE(reverses_setl_id, setl_id) END) *
    FROM monitor_settlement
    WHERE insuplc_admdvs = $1 AND sign <> 0
    ORDER BY kind = 'SETTLEMENT', CASE WHEN kind = 'SETTLEMENT' THEN setl_id
             ELSE COALESCE(reverses_setl_id, setl_id) END, event_time DESC, event_id DESC
), attributed AS (
    SELECT l.*, COALESCE(o.setl_time, l.setl_time) AS t
    FROM latest l
    LEFT JOIN LATERAL (SELECT min(s.setl_time) AS setl_time FROM latest s
                       WHERE l.sign < 0 AND s.sign > 0 AND s.setl_id = l.reverses_setl_id) o ON true
), visit AS (
    SELECT fixmedins_code, mdtrt_id, bool_or(inpatient) AS inpatient, min(t) AS t,
           sum(sign) AS n, sum(medfee_sumamt) AS medfee, sum(fund_pay_sumamt) AS fund,
           max(mdtrtarea_admvs) AS area, bool_or(med_type = '41') AS pharmacy_purchase
    FROM attributed GROUP BY fixmedins_code, mdtrt_id
), v AS (
    SELECT visit.*, COALESCE(f.admdvs, visit.area) = $1 AS in_county,
           COALESCE(f.primary_care, false) AS primary_care
    FROM visit LEFT JOIN monitor_facility f ON f.code = visit.fixmedins_code
    WHERE visit.n > 0 AND visit.t >= $2 AND visit.t < $3
      AND COALESCE(f.level, '') <> 'pharmacy' AND NOT visit.pharmacy_purchase
)
SELECT count(*),
       count(*) FILTER (WHERE in_county),
       count(*) FILTER (WHERE inpatient),
       count(*) FILTER (WHERE inpatient AND in_county),
       COALESCE(sum(fund), 0)::BIGINT,
       COALESCE(sum(fund) FILTER (WHERE in_county), 0)::BIGINT,
       COALESCE(sum(fund) FILTER (WHERE in_county AND primary_care), 0)::BIGINT,
       COALESCE(sum(medfee) FILTER (WHERE inpatient AND in_county), 0)::BIGINT
FROM v";

/// Outpatient and emergency visits at the county's facilities: one per (facility,
/// encounter id) seen with a non-cancelling action, unless its last register/admit is followed
/// by a cancellation; the month of its first event.
const ENCOUNTERS: &str = r"
WITH e AS (
    SELECT facility_code, encounter_id,
           min(event_time) FILTER (WHERE action NOT LIKE 'CANCEL%') AS t,
           max(encounter_class) FILTER (WHERE action NOT LIKE 'CANCEL%'
                                        AND encounter_class <> 'UNKNOWN') AS cls,
           max(event_time) FILTER (WHERE action IN ('REGISTER', 'ADMIT')) AS opened,
           max(event_time) FILTER (WHERE action IN ('CANCEL_REGISTER', 'CANCEL_ADMIT')) AS cancelled
    FROM monitor_encounter GROUP BY facility_code, encounter_id
)
SELECT count(*), count(*) FILTER (WHERE f.primary_care)
FROM e JOIN monitor_facility f ON f.code = e.facility_code AND f.admdvs = $1
WHERE e.t >= $2 AND e.t < $3 AND e.cls IN ('OUTPATIENT', 'EMERGENCY')
  AND (e.cancelled IS NULL OR (e.opened IS NOT NULL AND e.opened > e.cancelled))";

/// Referrals touching the county (either end in it), latest status per referral, cancelled and
/// rejected ones excluded, by direction and facility levels.
const REFERRALS: &str = r"
WITH r AS (
    SELECT DISTINCT ON (from_facility_code, referral_id) *
    FROM monitor_referral
    ORDER BY from_facility_code, referral_id, event_time DESC, event_id DESC
)
SELECT r.direction, COALESCE(ff.level, 'unknown'), COALESCE(tf.level, 'unknown'), count(*)
FROM r
LEFT JOIN monitor_facility ff ON ff.code = r.from_facility_code
LEFT JOIN monitor_facility tf ON tf.code = r.to_facility_code
WHERE r.status NOT IN ('CANCELLED', 'REJECTED') AND r.referred_at >= $2 AND r.referred_at < $3
  AND (ff.admdvs = $1 OR tf.admdvs = $1)
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

/// Order-to-report time per order at the county's shared centres: the earliest order time to
/// the first report, in the period of the report.
const TURNAROUND: &str = r"
WITH o AS (
    SELECT service, order_id,
           max(centre_code) FILTER (WHERE reported_at IS NOT NULL) AS centre,
           min(ordered_at) AS ordered,
           min(reported_at) FILTER (WHERE NOT cancelled) AS reported
    FROM monitor_diagnostic GROUP BY service, order_id
)
SELECT o.service, o.centre, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (o.reported - o.ordered) / 1000.0::float8),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY (o.reported - o.ordered) / 1000.0::float8)
FROM o JOIN monitor_facility f ON f.code = o.centre AND f.admdvs = $1
                              AND f.shared_centre = o.service
WHERE o.ordered IS NOT NULL AND o.reported IS NOT NULL AND o.reported >= o.ordered
  AND o.reported >= $2 AND o.reported < $3
GROUP BY o.service, o.centre ORDER BY o.service, o.centre";

/// Events from facilities the registry does not know (data quality).
const UNKNOWN_FACILITIES: &str = r"
SELECT count(*) FROM (
    SELECT fixmedins_code AS code FROM monitor_settlement
    UNION ALL SELECT facility_code FROM monitor_encounter
    UNION ALL SELECT from_facility_code FROM monitor_referral
    UNION ALL SELECT centre_code FROM monitor_diagnostic
) c WHERE NOT EXISTS (SELECT 1 FROM monitor_facility f WHERE f.code = c.code)";

/// Referrals between two facility levels.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Flow {
    /// `UP`, `DOWN`, `LATERAL` or `UNKNOWN`.
    pub direction: String,
    /// Level of the referring facility.
    pub from_level: String,
    /// Level of the receiving facility.
    pub to_level: String,
    /// Referrals; null when suppressed.
    pub count: Option<i64>,
    /// Fewer than `min_cell` referrals.
    pub suppressed: bool,
}

/// Reads the inputs of `county` for `[start, end)` (epoch ms) and the same span a year before
/// (`prior`), plus the referral flows (unsuppressed counts).
///
/// # Errors
/// The database fails.
pub async fn inputs(
    pool: &PgPool,
    county: &str,
    (start, end): (i64, i64),
    prior: (i64, i64),
) -> Result<(Inputs, Vec<Flow>), sqlx::Error> {
    let s: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(SETTLEMENTS)
        .bind(county)
        .bind(start)
        .bind(end)
        .fetch_one(pool)
        .await?;
    let p: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(SETTLEMENTS)
        .bind(county)
        .bind(prior.0)
        .bind(prior.1)
        .fetch_one(pool)
        .await?;
    let (visits_in_county, visits_primary): (i64, i64) = sqlx::query_as(ENCOUNTERS)
        .bind(county)
        .bind(start)
        .bind(end)
        .fetch_one(pool)
        .await?;
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(REFERRALS)
        .bind(county)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
    let by = |d: &str| rows.iter().filter(|r| r.0 == d).map(|r| r.3).sum::<i64>();
    let turnaround: Vec<(String, String, i64, f64, f64)> = sqlx::query_as(TURNAROUND)
        .bind(county)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
    let inputs = Inputs {
        insured_visits: s.0,
        insured_visits_in_county: s.1,
        insured_stays: s.2,
        insured_stays_in_county: s.3,
        fund_all: s.4,
        fund_in_county: s.5,
        fund_primary: s.6,
        inpatient_cost_in_county: s.7,
        prior_stays_in_county: p.3,
        prior_inpatient_cost_in_county: p.7,
        visits_in_county,
        visits_primary,
        referrals_up: by("UP"),
        referrals_down: by("DOWN"),
        turnaround: turnaround
            .into_iter()
            .map(|(service, centre, orders, p50_secs, p90_secs)| Turnaround {
                service,
                centre,
                orders,
                p50_secs,
                p90_secs,
            })
            .collect(),
    };
    let flows = rows
        .into_iter()
        .map(|(direction, from_level, to_level, n)| Flow {
            direction,
            from_level,
            to_level,
            count: Some(n),
            suppressed: false,
        })
        .collect();
    Ok((inputs, flows))
}

/// Events whose facility the registry does not know.
///
/// # Errors
/// The database fails.
pub async fn unknown_facility_events(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(UNKNOWN_FACILITIES).fetch_one(pool).await
}
