//! The pipeline's health as the monitor sees it, from its own tables (restart-safe): events
//! received in the last hour per entity, dead letters in the last hour per stage, and the last
//! message of each facility of the county (silent facilities).

use serde::Serialize;
use sqlx::PgPool;

/// Facts received since `$1` (by `provenance.received_at`), per entity.
const EVENTS: &str = r"
SELECT 'settlement', count(*) FROM monitor_settlement WHERE received_at >= $1
UNION ALL SELECT 'encounter', count(*) FROM monitor_encounter WHERE received_at >= $1
UNION ALL SELECT 'referral', count(*) FROM monitor_referral WHERE received_at >= $1
UNION ALL SELECT 'lab-result', count(*) FROM monitor_diagnostic
          WHERE service = 'lab' AND received_at >= $1
UNION ALL SELECT 'imaging', count(*) FROM monitor_diagnostic
          WHERE service = 'imaging' AND received_at >= $1
UNION ALL SELECT 'identity-link', count(*) FROM monitor_identity WHERE received_at >= $1";

const DEAD_LETTERS: &str = r"
SELECT stage, count(*) FROM monitor_dead_letter WHERE written_at >= $1
GROUP BY stage ORDER BY stage";

/// The last message of each county facility (pharmacies excluded) since `$2`: what the facility
/// itself sent (encounters, referrals, lab and imaging, and every message whose patient the EMPI
/// resolved), not the bureau's settlements about it.
const LAST_SEEN: &str = r"
WITH seen AS (
    SELECT facility_code AS code, max(received_at) AS at FROM monitor_identity
    WHERE received_at >= $2 GROUP BY 1
    UNION ALL SELECT facility_code, max(received_at) FROM monitor_encounter
    WHERE received_at >= $2 GROUP BY 1
    UNION ALL SELECT from_facility_code, max(received_at) FROM monitor_referral
    WHERE received_at >= $2 GROUP BY 1
    UNION ALL SELECT facility_code, max(received_at) FROM monitor_diagnostic
    WHERE received_at >= $2 GROUP BY 1
)
SELECT f.code, f.level, max(seen.at)
FROM monitor_facility f LEFT JOIN seen ON seen.code = f.code
WHERE f.admdvs = $1 AND f.level <> 'pharmacy'
GROUP BY f.code, f.level ORDER BY f.code";

/// How far back the last message of a facility is looked for.
pub const LOOKBACK_MS: i64 = 7 * 24 * 3_600_000;

/// Events of one entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityEvents {
    /// Canonical entity (`imaging` covers studies and reports).
    pub entity: String,
    /// Received in the last hour.
    pub events: i64,
}

/// Dead letters of one stage in the last hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageEvents {
    /// Stage.
    pub stage: String,
    /// Dead letters written in the last hour.
    pub dead_letters: i64,
}

/// When a facility was last heard from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilitySeen {
    /// Facility code.
    pub facility: String,
    /// Registry level.
    pub level: String,
    /// Receive time of its last message, epoch ms; null if none in the last 7 days.
    pub last_event_ms: Option<i64>,
    /// Seconds since then; null if none in the last 7 days.
    pub silent_secs: Option<i64>,
    /// No message for `silent_after_secs` (or none in 7 days).
    pub silent: bool,
}

/// The pipeline's health for one county.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineHealth {
    /// County code.
    pub county: String,
    /// When computed, epoch ms.
    pub now_ms: i64,
    /// A facility is silent after this many seconds without a message.
    pub silent_after_secs: i64,
    /// Events received in the last hour, per entity.
    pub events_last_hour: Vec<EntityEvents>,
    /// Dead letters in the last hour, per stage.
    pub dead_letters_last_hour: Vec<StageEvents>,
    /// The county's facilities, when last heard from.
    pub facilities: Vec<FacilitySeen>,
}

/// Reads the health of `county` at `now_ms`.
///
/// # Errors
/// The database fails.
pub async fn read(
    pool: &PgPool,
    county: &str,
    now_ms: i64,
    silent_after_secs: i64,
) -> Result<PipelineHealth, sqlx::Error> {
    let hour_ago = now_ms - 3_600_000;
    let events: Vec<(String, i64)> = sqlx::query_as(EVENTS)
        .bind(hour_ago)
        .fetch_all(pool)
        .await?;
    let dead: Vec<(String, i64)> = sqlx::query_as(DEAD_LETTERS)
        .bind(hour_ago)
        .fetch_all(pool)
        .await?;
    let seen: Vec<(String, String, Option<i64>)> = sqlx::query_as(LAST_SEEN)
        .bind(county)
        .bind(now_ms - LOOKBACK_MS)
        .fetch_all(pool)
        .await?;
    Ok(PipelineHealth {
        county: county.to_owned(),
        now_ms,
        silent_after_secs,
        events_last_hour: events
            .into_iter()
            .map(|(entity, events)| EntityEvents { entity, events })
            .collect(),
        dead_letters_last_hour: dead
            .into_iter()
            .map(|(stage, dead_letters)| StageEvents {
                stage,
                dead_letters,
            })
            .collect(),
        facilities: seen
            .into_iter()
            .map(|(facility, level, last)| {
                let silent_secs = last.map(|t| (now_ms - t).max(0) / 1000);
                FacilitySeen {
                    facility,
                    level,
                    last_event_ms: last,
                    silent_secs,
                    silent: silent_secs.is_none_or(|s| s >= silent_after_secs),
                }
            })
            .collect(),
    })
}
