//! The indicator formulas (pure): counts and sums from the database in, published values out,
//! with targets and small-cell suppression. Definitions and sources: `INDICATORS.md`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts and sums of one county and period, as read from the database ([`crate::query`]).
/// Money is in fen (0.01 CNY).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// Settled visits of county-insured persons anywhere (pharmacies excluded).
    pub insured_visits: i64,
    /// Of those, at in-county facilities.
    pub insured_visits_in_county: i64,
    /// Settled inpatient stays of county-insured persons anywhere.
    pub insured_stays: i64,
    /// Of those, at in-county facilities.
    pub insured_stays_in_county: i64,
    /// Fund paid for county-insured persons anywhere (pharmacies excluded).
    pub fund_all: i64,
    /// Of that, at in-county facilities.
    pub fund_in_county: i64,
    /// Of that, at in-county primary-care facilities.
    pub fund_primary: i64,
    /// Total cost of the in-county inpatient stays of county-insured persons.
    pub inpatient_cost_in_county: i64,
    /// The same period a year earlier: in-county stays and their cost (growth).
    pub prior_stays_in_county: i64,
    /// Cost of those prior stays.
    pub prior_inpatient_cost_in_county: i64,
    /// Outpatient and emergency visits at in-county facilities (all payers, from encounters).
    pub visits_in_county: i64,
    /// Of those, at primary-care facilities.
    pub visits_primary: i64,
    /// Upward referrals touching the county.
    pub referrals_up: i64,
    /// Downward referrals touching the county.
    pub referrals_down: i64,
    /// Order-to-report turnaround of the shared centres.
    pub turnaround: Vec<Turnaround>,
}

/// Turnaround of one shared centre.
#[derive(Debug, Clone, PartialEq)]
pub struct Turnaround {
    /// `lab` or `imaging`.
    pub service: String,
    /// The centre's facility code.
    pub centre: String,
    /// Orders reported.
    pub orders: i64,
    /// Median, seconds.
    pub p50_secs: f64,
    /// 90th percentile, seconds.
    pub p90_secs: f64,
}

/// One published indicator value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// Stable id, e.g. `in_county_visit_rate` (metric label).
    pub id: String,
    /// Name as in the national indicator system.
    pub name: &'static str,
    /// `ratio` (0..1), `count`, `yuan` or `minutes`.
    pub unit: &'static str,
    /// The facility, for per-facility indicators (shared centres).
    pub facility: Option<String>,
    /// The value; null when suppressed or undefined.
    pub value: Option<f64>,
    /// Numerator (count, or yuan for fund shares); null when suppressed.
    pub numerator: Option<f64>,
    /// Denominator; null when suppressed.
    pub denominator: Option<f64>,
    /// Cases behind the value (visits, stays, referrals, orders): decides suppression.
    pub cases: Option<i64>,
    /// True when fewer than `min_cell` cases: nothing but the fact is published.
    pub suppressed: bool,
    /// Target for the province and year, if configured.
    pub target: Option<f64>,
    /// Whether the value meets the target (at least the target).
    pub meets_target: Option<bool>,
}

impl Indicator {
    fn new(id: &str, name: &'static str, unit: &'static str) -> Self {
        Self {
            id: id.to_owned(),
            name,
            unit,
            facility: None,
            value: None,
            numerator: None,
            denominator: None,
            cases: None,
            suppressed: false,
            target: None,
            meets_target: None,
        }
    }

    /// A share `numerator / denominator` decided by `cases` (the denominator's count).
    fn ratio(mut self, numerator: f64, denominator: f64, cases: i64, min_cell: i64) -> Self {
        if cases < min_cell || denominator == 0.0 {
            self.suppressed = cases < min_cell;
            if !self.suppressed {
                self.cases = Some(cases);
            }
            return self;
        }
        self.value = Some(numerator / denominator);
        self.numerator = Some(numerator);
        self.denominator = Some(denominator);
        self.cases = Some(cases);
        self
    }

    /// A count: 1 to `min_cell - 1` is suppressed, 0 is published.
    fn count(mut self, n: i64, min_cell: i64) -> Self {
        if n > 0 && n < min_cell {
            self.suppressed = true;
            return self;
        }
        self.value = Some(n as f64);
        self.cases = Some(n);
        self
    }
}

/// Yuan from fen.
fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

/// Computes every indicator from `inputs`, applying `targets` (indicator id to value) and
/// suppressing cells below `min_cell`.
pub fn compute(
    inputs: &Inputs,
    targets: Option<&BTreeMap<String, f64>>,
    min_cell: i64,
) -> Vec<Indicator> {
    let i = inputs;
    let mut out = vec![
        Indicator::new("in_county_visit_rate", "县域内就诊率", "ratio").ratio(
            i.insured_visits_in_county as f64,
            i.insured_visits as f64,
            i.insured_visits,
            min_cell,
        ),
        Indicator::new(
            "insured_inpatient_in_county_share",
            "参保人县域内住院人次占比",
            "ratio",
        )
        .ratio(
            i.insured_stays_in_county as f64,
            i.insured_stays as f64,
            i.insured_stays,
            min_cell,
        ),
        Indicator::new(
            "primary_care_visit_share",
            "县域内基层医疗卫生机构诊疗人次数占比",
            "ratio",
        )
        .ratio(
            i.visits_primary as f64,
            i.visits_in_county as f64,
            i.visits_in_county,
            min_cell,
        ),
        Indicator::new(
            "fund_in_county_share",
            "医保基金县域内支出占比(不含药店)",
            "ratio",
        )
        .ratio(
            yuan(i.fund_in_county),
            yuan(i.fund_all),
            i.insured_visits,
            min_cell,
        ),
        Indicator::new(
            "fund_primary_care_share",
            "县域内基层医疗卫生机构医保基金支出占比",
            "ratio",
        )
        .ratio(
            yuan(i.fund_primary),
            yuan(i.fund_in_county),
            i.insured_visits_in_county,
            min_cell,
        ),
        Indicator::new(
            "mean_inpatient_cost_in_county",
            "参保人县域内住院人均费用",
            "yuan",
        )
        .ratio(
            yuan(i.inpatient_cost_in_county),
            i.insured_stays_in_county as f64,
            i.insured_stays_in_county,
            min_cell,
        ),
        growth(i, min_cell),
        Indicator::new("referrals_up", "上转人次", "count").count(i.referrals_up, min_cell),
        Indicator::new("referrals_down", "下转人次", "count").count(i.referrals_down, min_cell),
        Indicator::new("downward_referral_share", "下转占比", "ratio").ratio(
            i.referrals_down as f64,
            (i.referrals_up + i.referrals_down) as f64,
            i.referrals_up + i.referrals_down,
            min_cell,
        ),
    ];
    for t in &i.turnaround {
        for (pct, secs) in [("p50", t.p50_secs), ("p90", t.p90_secs)] {
            let mut ind = Indicator::new(
                &format!("{}_turnaround_{pct}_minutes", t.service),
                "共享中心检查检验报告时长",
                "minutes",
            );
            ind.facility = Some(t.centre.clone());
            if t.orders < min_cell {
                ind.suppressed = true;
            } else {
                ind.value = Some(secs / 60.0);
                ind.cases = Some(t.orders);
            }
            out.push(ind);
        }
    }
    if let Some(targets) = targets {
        for ind in &mut out {
            ind.target = targets.get(&ind.id).copied();
            ind.meets_target = ind.target.zip(ind.value).map(|(t, v)| v >= t);
        }
    }
    out
}

/// Year-on-year growth of the mean in-county inpatient cost; both years need `min_cell` stays.
fn growth(i: &Inputs, min_cell: i64) -> Indicator {
    let mut ind = Indicator::new(
        "mean_inpatient_cost_growth",
        "参保人县域内住院人均费用增长率",
        "ratio",
    );
    let cases = i.insured_stays_in_county.min(i.prior_stays_in_county);
    if cases < min_cell {
        ind.suppressed = true;
        return ind;
    }
    let now = yuan(i.inpatient_cost_in_county) / i.insured_stays_in_county as f64;
    let before = yuan(i.prior_inpatient_cost_in_county) / i.prior_stays_in_county as f64;
    if before != 0.0 {
        ind.value = Some(now / before - 1.0);
        ind.numerator = Some(now);
        ind.denominator = Some(before);
        ind.cases = Some(cases);
    }
    ind
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(all: &'a [Indicator], id: &str) -> &'a Indicator {
        all.iter().find(|i| i.id == id).unwrap()
    }

    #[test]
    fn ratios_targets_and_suppression() {
        let inputs = Inputs {
            insured_visits: 10,
            insured_visits_in_county: 8,
            insured_stays: 4,
            insured_stays_in_county: 3,
            fund_all: 100_000,
            fund_in_county: 60_000,
            fund_primary: 15_000,
            inpatient_cost_in_county: 900_000,
            visits_in_county: 20,
            visits_primary: 13,
            referrals_up: 3,
            referrals_down: 2,
            turnaround: vec![Turnaround {
                service: "lab".into(),
                centre: "C".into(),
                orders: 5,
                p50_secs: 3600.0,
                p90_secs: 7200.0,
            }],
            ..Inputs::default()
        };
        let targets: BTreeMap<String, f64> = [("in_county_visit_rate".to_owned(), 0.9)].into();
        let all = compute(&inputs, Some(&targets), 5);
        let rate = find(&all, "in_county_visit_rate");
        assert_eq!(rate.value, Some(0.8));
        assert_eq!((rate.numerator, rate.denominator), (Some(8.0), Some(10.0)));
        assert_eq!((rate.target, rate.meets_target), (Some(0.9), Some(false)));
        let stays = find(&all, "insured_inpatient_in_county_share");
        assert!(stays.suppressed && stays.value.is_none() && stays.numerator.is_none());
        assert_eq!(find(&all, "primary_care_visit_share").value, Some(0.65));
        assert_eq!(find(&all, "fund_in_county_share").value, Some(0.6));
        assert_eq!(find(&all, "fund_primary_care_share").value, Some(0.25));
        assert!(
            find(&all, "mean_inpatient_cost_in_county").suppressed,
            "3 stays"
        );
        assert!(find(&all, "mean_inpatient_cost_growth").suppressed);
        assert!(
            find(&all, "referrals_up").suppressed,
            "3 referrals is a small cell"
        );
        assert_eq!(find(&all, "downward_referral_share").value, Some(0.4));
        assert_eq!(find(&all, "lab_turnaround_p90_minutes").value, Some(120.0));
        assert_eq!(
            find(&all, "lab_turnaround_p50_minutes").facility.as_deref(),
            Some("C")
        );
    }

    #[test]
    fn zero_is_published_and_growth_compares_means() {
        let inputs = Inputs {
            insured_stays_in_county: 5,
            inpatient_cost_in_county: 5 * 1_100_000,
            prior_stays_in_county: 10,
            prior_inpatient_cost_in_county: 10 * 1_000_000,
            ..Inputs::default()
        };
        let all = compute(&inputs, None, 5);
        assert_eq!(find(&all, "referrals_up").value, Some(0.0));
        assert!(find(&all, "in_county_visit_rate").suppressed, "0 < 5");
        assert_eq!(
            find(&all, "mean_inpatient_cost_in_county").value,
            Some(11_000.0)
        );
        let g = find(&all, "mean_inpatient_cost_growth").value.unwrap();
        assert!((g - 0.1).abs() < 1e-9);
    }
}
