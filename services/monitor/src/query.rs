//! The indicators' inputs, read from the facts with SQL aggregates: every instance, and every
//! restart, computes the same numbers from the same rows.
//!
//! Every query takes the period boundaries as an array (`$2`, epoch ms, ascending) and groups by
//! `width_bucket`: one span for a report, twelve or twenty-four months for a trend, in one scan.
//! Facility attributes (level, division, primary care, shared centre) come from
//! `monitor_facility`, joined at query time, so a registry correction applies to history.

use sqlx::PgPool;

use crate::indicators::{Inputs, Turnaround};

/// Settled visits of the county's insured persons: one visit per (institution, `mdtrt_id`) whose
/// settlements minus reversals leave at least one; a reversal counts in the month of the
/// settlement it undoes; pharmacies (registry level, or med_type 41) excluded. The place of an
/// unregistered institution is the bureau's `mdtrtarea_admvs`. The chapter of a visit is that of
/// the principal diagnosis of its latest settlement (the discharge settlement of a stay).
macro_rules! visits {
    () => {
        r"
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
           max(mdtrtarea_admvs) AS area, bool_or(med_type = '41') AS pharmacy_purchase,
           (array_agg(dx_chapter ORDER BY setl_time DESC, event_id DESC)
                FILTER (WHERE sign > 0 AND dx_chapter IS NOT NULL))[1] AS chapter
    FROM attributed GROUP BY fixmedins_code, mdtrt_id
), v AS (
    SELECT visit.*, width_bucket(visit.t, $2::BIGINT[]) AS bucket,
           COALESCE(f.admdvs, visit.area) = $1 AS in_county,
           COALESCE(f.primary_care, false) AS primary_care
    FROM visit LEFT JOIN monitor_facility f ON f.code = visit.fixmedins_code
    WHERE visit.n > 0 AND visit.t >= ($2::BIGINT[])[1]
      AND visit.t < ($2::BIGINT[])[cardinality($2::BIGINT[])]
      AND COALESCE(f.level, '') <> 'pharmacy' AND NOT visit.pharmacy_purchase
)"
    };
}

/// Settlement totals per period.
const SETTLEMENTS: &str = concat!(
    visits!(),
    r"
SELECT bucket,
       count(*),
       count(*) FILTER (WHERE in_county),
       count(*) FILTER (WHERE inpatient),
       count(*) FILTER (WHERE inpatient AND in_county),
       COALESCE(sum(fund), 0)::BIGINT,
       COALESCE(sum(fund) FILTER (WHERE in_county), 0)::BIGINT,
       COALESCE(sum(fund) FILTER (WHERE in_county AND primary_care), 0)::BIGINT,
       COALESCE(sum(medfee) FILTER (WHERE inpatient AND in_county), 0)::BIGINT
FROM v GROUP BY bucket"
);

/// Settled visits and stays by chapter, and how many of them were out of the county.
const OUTFLOW: &str = concat!(
    visits!(),
    r"
SELECT bucket, COALESCE(chapter, 'none'),
       count(*), count(*) FILTER (WHERE NOT in_county),
       count(*) FILTER (WHERE inpatient), count(*) FILTER (WHERE inpatient AND NOT in_county)
FROM v GROUP BY 1, 2"
);

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
SELECT width_bucket(e.t, $2::BIGINT[]), count(*), count(*) FILTER (WHERE f.primary_care)
FROM e JOIN monitor_facility f ON f.code = e.facility_code AND f.admdvs = $1
WHERE e.t >= ($2::BIGINT[])[1] AND e.t < ($2::BIGINT[])[cardinality($2::BIGINT[])]
  AND e.cls IN ('OUTPATIENT', 'EMERGENCY')
  AND (e.cancelled IS NULL OR (e.opened IS NOT NULL AND e.opened > e.cancelled))
GROUP BY 1";

/// Referrals touching the county (either end in it), latest status per referral, cancelled and
/// rejected ones excluded, by direction and facility levels.
const REFERRALS: &str = r"
WITH r AS (
    SELECT DISTINCT ON (from_facility_code, referral_id) *
    FROM monitor_referral
    ORDER BY from_facility_code, referral_id, event_time DESC, event_id DESC
)
SELECT width_bucket(r.referred_at, $2::BIGINT[]), r.direction,
       COALESCE(ff.level, 'unknown'), COALESCE(tf.level, 'unknown'), count(*)
FROM r
LEFT JOIN monitor_facility ff ON ff.code = r.from_facility_code
LEFT JOIN monitor_facility tf ON tf.code = r.to_facility_code
WHERE r.status NOT IN ('CANCELLED', 'REJECTED')
  AND r.referred_at >= ($2::BIGINT[])[1]
  AND r.referred_at < ($2::BIGINT[])[cardinality($2::BIGINT[])]
  AND (ff.admdvs = $1 OR tf.admdvs = $1)
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4";

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
SELECT width_bucket(o.reported, $2::BIGINT[]), o.service, o.centre, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (o.reported - o.ordered) / 1000.0::float8),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY (o.reported - o.ordered) / 1000.0::float8)
FROM o JOIN monitor_facility f ON f.code = o.centre AND f.admdvs = $1
                              AND f.shared_centre = o.service
WHERE o.ordered IS NOT NULL AND o.reported IS NOT NULL AND o.reported >= o.ordered
  AND o.reported >= ($2::BIGINT[])[1]
  AND o.reported < ($2::BIGINT[])[cardinality($2::BIGINT[])]
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

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

/// Settled visits of one diagnosis chapter (unsuppressed counts, see [`crate::outflow`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChapterCounts {
    /// Chapter id.
    pub chapter: String,
    /// Settled visits of county-insured persons (pharmacies excluded).
    pub visits: i64,
    /// Of those, at facilities outside the county.
    pub visits_out: i64,
    /// Inpatient stays.
    pub stays: i64,
    /// Of those, outside the county.
    pub stays_out: i64,
}

/// Everything read for one period (bucket) of a county.
#[derive(Debug, Clone, Default)]
pub struct Period {
    /// Indicator inputs (without the prior year: see [`inputs`]).
    pub inputs: Inputs,
    /// Referral flows (unsuppressed counts).
    pub flows: Vec<Flow>,
    /// Settled visits by chapter.
    pub chapters: Vec<ChapterCounts>,
}

/// `bucket` (1-based, as `width_bucket` numbers them) to a vector index, if within `n`.
fn slot(bucket: i32, n: usize) -> Option<usize> {
    usize::try_from(bucket - 1).ok().filter(|i| *i < n)
}

/// Settlement totals per period: (visits, in county, stays, stays in county, fund, fund in
/// county, fund primary, in-county inpatient cost).
type SettlementRow = (i32, i64, i64, i64, i64, i64, i64, i64, i64);

/// Reads `county` for the periods between consecutive `bounds` (epoch ms, ascending, at least
/// two): one [`Period`] per span. The prior-year fields of the inputs are left at zero.
///
/// # Errors
/// The database fails.
pub async fn periods(
    pool: &PgPool,
    county: &str,
    bounds: &[i64],
) -> Result<Vec<Period>, sqlx::Error> {
    let n = bounds.len().saturating_sub(1);
    let mut out = vec![Period::default(); n];
    if n == 0 {
        return Ok(out);
    }
    let rows: Vec<SettlementRow> = sqlx::query_as(SETTLEMENTS)
        .bind(county)
        .bind(bounds)
        .fetch_all(pool)
        .await?;
    for r in rows {
        let Some(i) = slot(r.0, n) else { continue };
        let p = &mut out[i].inputs;
        p.insured_visits = r.1;
        p.insured_visits_in_county = r.2;
        p.insured_stays = r.3;
        p.insured_stays_in_county = r.4;
        p.fund_all = r.5;
        p.fund_in_county = r.6;
        p.fund_primary = r.7;
        p.inpatient_cost_in_county = r.8;
    }
    let rows: Vec<(i32, String, i64, i64, i64, i64)> = sqlx::query_as(OUTFLOW)
        .bind(county)
        .bind(bounds)
        .fetch_all(pool)
        .await?;
    for (bucket, chapter, visits, visits_out, stays, stays_out) in rows {
        let Some(i) = slot(bucket, n) else { continue };
        out[i].chapters.push(ChapterCounts {
            chapter,
            visits,
            visits_out,
            stays,
            stays_out,
        });
    }
    let rows: Vec<(i32, i64, i64)> = sqlx::query_as(ENCOUNTERS)
        .bind(county)
        .bind(bounds)
        .fetch_all(pool)
        .await?;
    for (bucket, all, primary) in rows {
        let Some(i) = slot(bucket, n) else { continue };
        out[i].inputs.visits_in_county = all;
        out[i].inputs.visits_primary = primary;
    }
    let rows: Vec<(i32, String, String, String, i64)> = sqlx::query_as(REFERRALS)
        .bind(county)
        .bind(bounds)
        .fetch_all(pool)
        .await?;
    for (bucket, direction, from_level, to_level, count) in rows {
        let Some(i) = slot(bucket, n) else { continue };
        match direction.as_str() {
            "UP" => out[i].inputs.referrals_up += count,
            "DOWN" => out[i].inputs.referrals_down += count,
            _ => {}
        }
        out[i].flows.push(Flow {
            direction,
            from_level,
            to_level,
            count: Some(count),
            suppressed: false,
        });
    }
    let rows: Vec<(i32, String, String, i64, f64, f64)> = sqlx::query_as(TURNAROUND)
        .bind(county)
        .bind(bounds)
        .fetch_all(pool)
        .await?;
    for (bucket, service, centre, orders, p50_secs, p90_secs) in rows {
        let Some(i) = slot(bucket, n) else { continue };
        out[i].inputs.turnaround.push(Turnaround {
            service,
            centre,
            orders,
            p50_secs,
            p90_secs,
        });
    }
    Ok(out)
}

/// Reads `county` for `[start, end)` (epoch ms), with the in-county stays and their cost of the
/// same span a year before (`prior`, for the growth).
///
/// # Errors
/// The database fails.
pub async fn inputs(
    pool: &PgPool,
    county: &str,
    (start, end): (i64, i64),
    prior: (i64, i64),
) -> Result<Period, sqlx::Error> {
    let mut period = periods(pool, county, &[start, end])
        .await?
        .pop()
        .unwrap_or_default();
    let before = prior_settlements(pool, county, &[prior.0, prior.1]).await?;
    if let Some(b) = before.first() {
        period.inputs.prior_stays_in_county = b.0;
        period.inputs.prior_inpatient_cost_in_county = b.1;
    }
    Ok(period)
}

/// In-county stays of county-insured persons and their cost, per period between `bounds`.
///
/// # Errors
/// The database fails.
pub async fn prior_settlements(
    pool: &PgPool,
    county: &str,
    bounds: &[i64],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let n = bounds.len().saturating_sub(1);
    let mut out = vec![(0, 0); n];
    let rows: Vec<SettlementRow> = sqlx::query_as(SETTLEMENTS)
        .bind(county)
        .bind(bounds)
        .fetch_all(pool)
        .await?;
    for r in rows {
        if let Some(i) = slot(r.0, n) {
            out[i] = (r.4, r.8);
        }
    }
    Ok(out)
}

/// Events whose facility the registry does not know.
///
/// # Errors
/// The database fails.
pub async fn unknown_facility_events(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(UNKNOWN_FACILITIES).fetch_one(pool).await
}
