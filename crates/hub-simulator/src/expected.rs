//! What the simulated data must give: the simulator's own ground truth (every visit, settled
//! visit, referral and order as it was simulated, not as messages) reduced with the rules of
//! `services/monitor/INDICATORS.md`, per county and calendar month (UTC+8), to the numerators,
//! denominators and case counts the monitor publishes, small cells suppressed the same way.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike};
use serde::Serialize;

use crate::hl7::china;

/// A simulated outpatient, emergency or inpatient visit at an in-county facility (HL7 ADT).
#[derive(Debug, Clone, Serialize)]
pub struct VisitTruth {
    /// Facility code.
    pub facility: String,
    /// The facility is a primary-care one.
    pub primary_care: bool,
    /// `O`, `E` or `I`.
    pub class: &'static str,
    /// Registration / admission time, epoch ms.
    pub at: i64,
    /// The registration was cancelled (退号).
    pub cancelled: bool,
}

/// A settled visit (institution + `mdtrt_id`) with the net of its settlements.
#[derive(Debug, Clone, Serialize)]
pub struct SettledTruth {
    /// Institution code.
    pub facility: String,
    /// Where it is: in the county (registry, else the bureau's place of treatment).
    pub in_county: bool,
    /// A primary-care institution.
    pub primary_care: bool,
    /// A pharmacy purchase (excluded everywhere).
    pub pharmacy: bool,
    /// Insured place of the person.
    pub insured_place: String,
    /// An inpatient stay.
    pub inpatient: bool,
    /// First settlement time, epoch ms.
    pub at: i64,
    /// Settlements minus reversals and cancellations.
    pub net: i64,
    /// Net total cost, fen.
    pub medfee: i64,
    /// Net fund payment, fen.
    pub fund: i64,
}

/// A referral.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralTruth {
    /// `UP`, `DOWN` or `LATERAL` (by registry tiers).
    pub direction: &'static str,
    /// Referral time, epoch ms.
    pub at: i64,
    /// Cancelled afterwards (I14).
    pub cancelled: bool,
    /// Either end is in the county.
    pub touches_county: bool,
}

/// An order reported by a shared centre.
#[derive(Debug, Clone, Serialize)]
pub struct OrderTruth {
    /// `lab` or `imaging`.
    pub service: &'static str,
    /// The centre's facility code.
    pub centre: String,
    /// Order time, epoch ms.
    pub ordered: i64,
    /// Report time, epoch ms.
    pub reported: i64,
}

/// Everything the indicators are computed from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Truth {
    /// HL7 visits at in-county facilities.
    pub visits: Vec<VisitTruth>,
    /// Settled visits, any insured place.
    pub settled: Vec<SettledTruth>,
    /// Referrals.
    pub referrals: Vec<ReferralTruth>,
    /// Orders of the shared centres.
    pub orders: Vec<OrderTruth>,
}

/// One expected indicator, as the monitor's JSON shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectedIndicator {
    /// Indicator id.
    pub id: String,
    /// Facility of per-centre indicators.
    pub facility: Option<String>,
    /// Value; none when suppressed or undefined.
    pub value: Option<f64>,
    /// Numerator; none when suppressed.
    pub numerator: Option<f64>,
    /// Denominator; none when suppressed.
    pub denominator: Option<f64>,
    /// Cases behind the value.
    pub cases: Option<i64>,
    /// Fewer than `min_cell` cases.
    pub suppressed: bool,
}

/// The indicators of one month.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectedMonth {
    /// `YYYY-MM`.
    pub period: String,
    /// The indicators.
    pub indicators: Vec<ExpectedIndicator>,
}

/// The expected indicators of a county, month by month.
#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    /// County code.
    pub county: String,
    /// Smallest published cell.
    pub min_cell: i64,
    /// Every month with data, in order.
    pub months: Vec<ExpectedMonth>,
}

/// `YYYY-MM` of epoch ms in China time.
pub fn month_of(ms: i64) -> String {
    let t = DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&china());
    format!("{:04}-{:02}", t.year(), t.month())
}

/// The monitor's `percentile_cont`: linear interpolation at `p * (n - 1)` of sorted values.
pub fn percentile_cont(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

fn indicator(id: &str) -> ExpectedIndicator {
    ExpectedIndicator {
        id: id.to_owned(),
        facility: None,
        value: None,
        numerator: None,
        denominator: None,
        cases: None,
        suppressed: false,
    }
}

fn ratio(
    id: &str,
    numerator: f64,
    denominator: f64,
    cases: i64,
    min_cell: i64,
) -> ExpectedIndicator {
    let mut i = indicator(id);
    if cases < min_cell || denominator == 0.0 {
        i.suppressed = cases < min_cell;
        if !i.suppressed {
            i.cases = Some(cases);
        }
        return i;
    }
    i.value = Some(numerator / denominator);
    i.numerator = Some(numerator);
    i.denominator = Some(denominator);
    i.cases = Some(cases);
    i
}

fn count(id: &str, n: i64, min_cell: i64) -> ExpectedIndicator {
    let mut i = indicator(id);
    if n > 0 && n < min_cell {
        i.suppressed = true;
    } else {
        i.value = Some(n as f64);
        i.cases = Some(n);
    }
    i
}

fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

impl Truth {
    /// Reduces the truth to the indicators of `county`, month by month.
    pub fn expected(&self, county: &str, min_cell: i64) -> Expected {
        let mut months: Vec<String> = self
            .visits
            .iter()
            .map(|v| month_of(v.at))
            .chain(self.settled.iter().map(|s| month_of(s.at)))
            .chain(self.referrals.iter().map(|r| month_of(r.at)))
            .chain(self.orders.iter().map(|o| month_of(o.reported)))
            .collect();
        months.sort();
        months.dedup();
        Expected {
            county: county.to_owned(),
            min_cell,
            months: months
                .into_iter()
                .map(|m| ExpectedMonth {
                    indicators: self.month(county, &m, min_cell),
                    period: m,
                })
                .collect(),
        }
    }

    fn month(&self, county: &str, month: &str, min_cell: i64) -> Vec<ExpectedIndicator> {
        let settled: Vec<&SettledTruth> = self
            .settled
            .iter()
            .filter(|s| s.insured_place == county && !s.pharmacy && s.net > 0)
            .filter(|s| month_of(s.at) == month)
            .collect();
        let n = |f: &dyn Fn(&SettledTruth) -> bool| settled.iter().filter(|s| f(s)).count() as i64;
        let sum = |f: &dyn Fn(&SettledTruth) -> bool| {
            settled.iter().filter(|s| f(s)).map(|s| s.fund).sum::<i64>()
        };
        let visits = n(&|_| true);
        let visits_in = n(&|s| s.in_county);
        let stays = n(&|s| s.inpatient);
        let stays_in = n(&|s| s.inpatient && s.in_county);
        let fund_all = sum(&|_| true);
        let fund_in = sum(&|s| s.in_county);
        let fund_primary = sum(&|s| s.in_county && s.primary_care);
        let cost_in: i64 = settled
            .iter()
            .filter(|s| s.inpatient && s.in_county)
            .map(|s| s.medfee)
            .sum();
        let encounters: Vec<&VisitTruth> = self
            .visits
            .iter()
            .filter(|v| matches!(v.class, "O" | "E") && !v.cancelled && month_of(v.at) == month)
            .collect();
        let enc_all = encounters.len() as i64;
        let enc_primary = encounters.iter().filter(|v| v.primary_care).count() as i64;
        let referrals = |d: &str| {
            self.referrals
                .iter()
                .filter(|r| r.direction == d && !r.cancelled && r.touches_county)
                .filter(|r| month_of(r.at) == month)
                .count() as i64
        };
        let (up, down) = (referrals("UP"), referrals("DOWN"));
        let mut out = vec![
            ratio(
                "in_county_visit_rate",
                visits_in as f64,
                visits as f64,
                visits,
                min_cell,
            ),
            ratio(
                "insured_inpatient_in_county_share",
                stays_in as f64,
                stays as f64,
                stays,
                min_cell,
            ),
            ratio(
                "primary_care_visit_share",
                enc_primary as f64,
                enc_all as f64,
                enc_all,
                min_cell,
            ),
            ratio(
                "fund_in_county_share",
                yuan(fund_in),
                yuan(fund_all),
                visits,
                min_cell,
            ),
            ratio(
                "fund_primary_care_share",
                yuan(fund_primary),
                yuan(fund_in),
                visits_in,
                min_cell,
            ),
            ratio(
                "mean_inpatient_cost_in_county",
                yuan(cost_in),
                stays_in as f64,
                stays_in,
                min_cell,
            ),
            ExpectedIndicator {
                // No prior year is simulated: the growth always lacks its base.
                suppressed: true,
                ..indicator("mean_inpatient_cost_growth")
            },
            count("referrals_up", up, min_cell),
            count("referrals_down", down, min_cell),
            ratio(
                "downward_referral_share",
                down as f64,
                (up + down) as f64,
                up + down,
                min_cell,
            ),
        ];
        let mut centres: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
        for o in self.orders.iter().filter(|o| month_of(o.reported) == month) {
            centres
                .entry((o.service, o.centre.as_str()))
                .or_default()
                .push((o.reported - o.ordered) as f64 / 1000.0);
        }
        for ((service, centre), mut secs) in centres {
            secs.sort_by(f64::total_cmp);
            for (name, p) in [("p50", 0.5), ("p90", 0.9)] {
                let mut i = indicator(&format!("{service}_turnaround_{name}_minutes"));
                i.facility = Some(centre.to_owned());
                if (secs.len() as i64) < min_cell {
                    i.suppressed = true;
                } else {
                    i.value = Some(percentile_cont(&secs, p) / 60.0);
                    i.cases = Some(secs.len() as i64);
                }
                out.push(i);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_postgres() {
        let v = [30.0, 60.0, 90.0, 120.0, 150.0];
        assert_eq!(percentile_cont(&v, 0.5), 90.0);
        assert!((percentile_cont(&v, 0.9) - 138.0).abs() < 1e-9);
        assert_eq!(percentile_cont(&[7.0], 0.9), 7.0);
    }

    #[test]
    fn months_are_china_time() {
        // 2026-10-31T16:00Z is 2026-11-01 00:00 in China.
        assert_eq!(month_of(1_793_462_400_000), "2026-11");
        assert_eq!(month_of(1_793_462_399_999), "2026-10");
    }
}
