//! Data quality per facility of a county, over a period (by the time the hub received the data):
//! unmapped codes, unmatched identities, dead letters. These count messages and codes, not
//! persons' health, so they are published unsuppressed. Definitions: `INDICATORS.md`.

use serde::Serialize;
use sqlx::PgPool;

/// Per facility of the county (registry, pharmacies excluded). `$1` county, `$2`/`$3` the span.
const PER_FACILITY: &str = r"
WITH f AS (
    SELECT code, level FROM monitor_facility WHERE admdvs = $1 AND level <> 'pharmacy'
), lab AS (
    SELECT facility_code AS code, count(*) AS results,
           count(*) FILTER (WHERE code_unmapped) AS unmapped
    FROM monitor_diagnostic
    WHERE code_unmapped IS NOT NULL
      AND COALESCE(received_at, event_time) >= $2 AND COALESCE(received_at, event_time) < $3
    GROUP BY 1
), dx AS (
    SELECT fixmedins_code AS code,
           count(*) FILTER (WHERE dx_system = 'ICD-10-GB-CLIN-2.0') AS unmapped
    FROM monitor_settlement
    WHERE COALESCE(received_at, event_time) >= $2 AND COALESCE(received_at, event_time) < $3
    GROUP BY 1
), idn AS (
    SELECT facility_code AS code,
           count(DISTINCT source) FILTER (WHERE action IN ('LINK', 'NEW_PERSON')) AS messages,
           count(*) FILTER (WHERE action IN ('LINK', 'NEW_PERSON')) AS resolutions,
           count(*) FILTER (WHERE action = 'REVIEW_QUEUED') AS provisional
    FROM monitor_identity WHERE received_at >= $2 AND received_at < $3
    GROUP BY 1
), open AS (
    SELECT q.facility_code AS code, count(DISTINCT q.review_id) AS reviews
    FROM monitor_identity q
    WHERE q.action = 'REVIEW_QUEUED' AND q.review_id IS NOT NULL AND q.received_at < $3
      AND NOT EXISTS (SELECT 1 FROM monitor_identity r
                      WHERE r.review_id = q.review_id AND r.action = 'REVIEW_RESOLVED'
                        AND r.received_at < $3)
    GROUP BY 1
), dlq AS (
    SELECT facility_code AS code, count(*) AS dead FROM monitor_dead_letter
    WHERE written_at >= $2 AND written_at < $3 GROUP BY 1
)
SELECT f.code, f.level, COALESCE(lab.results, 0), COALESCE(lab.unmapped, 0),
       COALESCE(dx.unmapped, 0), COALESCE(idn.messages, 0), COALESCE(idn.resolutions, 0),
       COALESCE(idn.provisional, 0), COALESCE(open.reviews, 0), COALESCE(dlq.dead, 0)
FROM f
LEFT JOIN lab ON lab.code = f.code
LEFT JOIN dx ON dx.code = f.code
LEFT JOIN idn ON idn.code = f.code
LEFT JOIN open ON open.code = f.code
LEFT JOIN dlq ON dlq.code = f.code
ORDER BY f.code";

/// Dead letters of the span by stage, and how many name no registered facility.
const DEAD_LETTERS: &str = r"
SELECT d.stage, count(*),
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM monitor_facility f
                                          WHERE f.code = d.facility_code))
FROM monitor_dead_letter d WHERE d.written_at >= $1 AND d.written_at < $2
GROUP BY d.stage ORDER BY d.stage";

/// Data quality of one facility.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityQuality {
    /// Facility code.
    pub facility: String,
    /// Registry level.
    pub level: String,
    /// Lab result events the facility reported.
    pub lab_results: i64,
    /// Of those, with a test code the terminology could not map (kept as sent).
    pub unmapped_lab_codes: i64,
    /// `unmapped_lab_codes / lab_results`; null without lab results.
    pub unmapped_code_share: Option<f64>,
    /// Settlements at the facility whose principal diagnosis stayed in the clinical version
    /// (国临版) because the ICD-10 map has no insurance code for it.
    pub unmapped_diagnoses: i64,
    /// Raw messages of the facility whose patient the EMPI resolved (distinct sources of its
    /// `LINK` and `NEW_PERSON` decisions).
    pub messages_resolved: i64,
    /// Identity resolutions (`LINK` or `NEW_PERSON`).
    pub identity_resolutions: i64,
    /// Of those, left with a provisional person and a review (`REVIEW_QUEUED`).
    pub provisional_identities: i64,
    /// `provisional_identities / identity_resolutions`; null without resolutions.
    pub unmatched_identity_share: Option<f64>,
    /// Reviews queued from the facility's messages and not resolved by the end of the period.
    pub open_identity_reviews: i64,
    /// Dead letters naming the facility (`hub-facility`), any stage.
    pub dead_letters: i64,
    /// `dead_letters / (dead_letters + messages_resolved)`; null when both are 0.
    pub dlq_rate: Option<f64>,
}

impl FacilityQuality {
    /// The values exported as per-facility gauges: (indicator id, value).
    pub fn gauges(&self) -> Vec<(&'static str, f64)> {
        let mut out = vec![
            ("dead_letters", self.dead_letters as f64),
            ("open_identity_reviews", self.open_identity_reviews as f64),
            ("unmapped_diagnoses", self.unmapped_diagnoses as f64),
        ];
        for (id, v) in [
            ("unmapped_code_share", self.unmapped_code_share),
            ("unmatched_identity_share", self.unmatched_identity_share),
            ("dlq_rate", self.dlq_rate),
        ] {
            if let Some(v) = v {
                out.push((id, v));
            }
        }
        out
    }
}

/// Dead letters of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageDeadLetters {
    /// Stage (`normaliser`, `connector-hl7`, …).
    pub stage: String,
    /// Dead letters in the period.
    pub dead_letters: i64,
    /// Of those, without a registered facility (no `hub-facility` header, or an unknown code).
    pub unattributed: i64,
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

type Row = (String, String, i64, i64, i64, i64, i64, i64, i64, i64);

/// The facilities of `county` for `[start, end)`, epoch ms.
///
/// # Errors
/// The database fails.
pub async fn facilities(
    pool: &PgPool,
    county: &str,
    (start, end): (i64, i64),
) -> Result<Vec<FacilityQuality>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(PER_FACILITY)
        .bind(county)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| FacilityQuality {
            facility: r.0,
            level: r.1,
            lab_results: r.2,
            unmapped_lab_codes: r.3,
            unmapped_code_share: share(r.3, r.2),
            unmapped_diagnoses: r.4,
            messages_resolved: r.5,
            identity_resolutions: r.6,
            provisional_identities: r.7,
            unmatched_identity_share: share(r.7, r.6),
            open_identity_reviews: r.8,
            dead_letters: r.9,
            dlq_rate: share(r.9, r.9 + r.5),
        })
        .collect())
}

/// Dead letters of `[start, end)` by stage (all counties: a dead letter may name no facility).
///
/// # Errors
/// The database fails.
pub async fn dead_letters(
    pool: &PgPool,
    (start, end): (i64, i64),
) -> Result<Vec<StageDeadLetters>, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(DEAD_LETTERS)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(stage, dead_letters, unattributed)| StageDeadLetters {
            stage,
            dead_letters,
            unattributed,
        })
        .collect())
}
