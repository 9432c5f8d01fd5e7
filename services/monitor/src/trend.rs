//! Trends: every indicator of the last twelve months to a given month, against its target, read
//! with one query per source over twenty-four months (the growth needs the year before).

use serde::Serialize;
use sqlx::PgPool;

use crate::indicators::compute;
use crate::period::{Month, Scope};
use crate::query;
use crate::report::ReportConfig;

/// Months shown.
pub const MONTHS: usize = 12;

/// One indicator (per facility for the shared centres) month by month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Indicator id.
    pub id: String,
    /// Name.
    pub name: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// Facility of per-centre indicators.
    pub facility: Option<String>,
    /// Value per month (null when suppressed or undefined), oldest first.
    pub values: Vec<Option<f64>>,
    /// Target per month (targets are per year).
    pub targets: Vec<Option<f64>>,
}

/// The trends of one county.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// County code.
    pub county: String,
    /// The months, `YYYY-MM`, oldest first; the last is the requested month.
    pub months: Vec<String>,
    /// Smallest published cell.
    pub min_cell: i64,
    /// One series per indicator.
    pub series: Vec<Series>,
}

/// Reads the twelve months to `last` of `county`.
///
/// # Errors
/// The database fails.
pub async fn build(
    pool: &PgPool,
    config: &ReportConfig,
    county: &str,
    last: Month,
) -> Result<Trend, sqlx::Error> {
    let span = 2 * MONTHS;
    let first = last.offset(1 - span as i32);
    let mut bounds: Vec<i64> = (0..span as i32)
        .map(|i| {
            first
                .offset(i)
                .bounds(Scope::Month, config.utc_offset_hours)
                .0
        })
        .collect();
    bounds.push(last.bounds(Scope::Month, config.utc_offset_hours).1);
    let periods = query::periods(pool, county, &bounds).await?;
    let mut months = Vec::with_capacity(MONTHS);
    let mut series: Vec<Series> = Vec::new();
    for k in MONTHS..span {
        let month = first.offset(k as i32);
        let column = k - MONTHS;
        months.push(month.to_string());
        let mut inputs = periods[k].inputs.clone();
        inputs.prior_stays_in_county = periods[k - MONTHS].inputs.insured_stays_in_county;
        inputs.prior_inpatient_cost_in_county = periods[k - MONTHS].inputs.inpatient_cost_in_county;
        let targets = config.targets.for_county(county, month.year);
        for ind in compute(&inputs, targets, config.min_cell) {
            let position = series
                .iter()
                .position(|s| s.id == ind.id && s.facility == ind.facility);
            let s = match position {
                Some(i) => &mut series[i],
                None => {
                    series.push(Series {
                        id: ind.id.clone(),
                        name: ind.name,
                        unit: ind.unit,
                        facility: ind.facility.clone(),
                        values: vec![None; MONTHS],
                        targets: vec![None; MONTHS],
                    });
                    series.last_mut().expect("just pushed")
                }
            };
            s.values[column] = ind.value;
            s.targets[column] = ind.target;
        }
    }
    Ok(Trend {
        county: county.to_owned(),
        months,
        min_cell: config.min_cell,
        series,
    })
}
