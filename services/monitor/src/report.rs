//! A report: the indicators of one county and period as published (JSON, dashboard, gauges).

use serde::Serialize;
use sqlx::PgPool;

use crate::indicators::{Indicator, compute};
use crate::outflow::{self, OutflowRow};
use crate::period::{Month, Scope};
use crate::quality::{self, FacilityQuality, StageDeadLetters};
use crate::query::{self, Flow};
use crate::rules::Targets;

/// What the report needs besides the database.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// Targets per province and year.
    pub targets: Targets,
    /// Smallest published cell.
    pub min_cell: i64,
    /// Local time offset for month boundaries.
    pub utc_offset_hours: i32,
    /// A facility without a message for this long is silent (pipeline health).
    pub silent_after_secs: i64,
}

/// The published indicators of one county and period.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Six-digit county code.
    pub county: String,
    /// `YYYY-MM`: the month, or the last month of the year to date.
    pub period: String,
    /// `month` or `ytd`.
    pub scope: &'static str,
    /// Start of the period, epoch ms (inclusive).
    pub from_ms: i64,
    /// End of the period, epoch ms (exclusive).
    pub to_ms: i64,
    /// Smallest published cell.
    pub min_cell: i64,
    /// The indicators.
    pub indicators: Vec<Indicator>,
    /// Referrals by direction and facility level (small cells suppressed).
    pub referral_flows: Vec<Flow>,
    /// Patient outflow by principal-diagnosis chapter (small cells suppressed).
    pub outflow: Vec<OutflowRow>,
    /// Data quality.
    pub data_quality: DataQuality,
}

/// Data-quality counts (about messages and codes, not persons, so not suppressed).
#[derive(Debug, Clone, Serialize)]
pub struct DataQuality {
    /// Facts from facility codes the registry does not know (all counties, all time).
    pub unknown_facility_events: i64,
    /// Per facility of the county, received in the period.
    pub facilities: Vec<FacilityQuality>,
    /// Dead letters written in the period, per stage (all counties).
    pub dead_letters: Vec<StageDeadLetters>,
}

/// Computes the report of `county` for `month` and `scope` from the database.
///
/// # Errors
/// The database fails.
pub async fn build(
    pool: &PgPool,
    config: &ReportConfig,
    county: &str,
    month: Month,
    scope: Scope,
) -> Result<Report, sqlx::Error> {
    let span = month.bounds(scope, config.utc_offset_hours);
    let prior = month.year_before().bounds(scope, config.utc_offset_hours);
    let period = query::inputs(pool, county, span, prior).await?;
    let targets = config.targets.for_county(county, month.year);
    let indicators = compute(&period.inputs, targets, config.min_cell);
    let referral_flows = period
        .flows
        .into_iter()
        .map(|mut f| {
            if f.count.is_some_and(|n| n > 0 && n < config.min_cell) {
                f.count = None;
                f.suppressed = true;
            }
            f
        })
        .collect();
    Ok(Report {
        county: county.to_owned(),
        period: month.to_string(),
        scope: scope.as_str(),
        from_ms: span.0,
        to_ms: span.1,
        min_cell: config.min_cell,
        indicators,
        referral_flows,
        outflow: outflow::rows(&period.chapters, config.min_cell),
        data_quality: DataQuality {
            unknown_facility_events: query::unknown_facility_events(pool).await?,
            facilities: quality::facilities(pool, county, span).await?,
            dead_letters: quality::dead_letters(pool, span).await?,
        },
    })
}

/// True for a six-digit county code.
pub fn valid_county(county: &str) -> bool {
    county.len() == 6 && county.bytes().all(|b| b.is_ascii_digit())
}
