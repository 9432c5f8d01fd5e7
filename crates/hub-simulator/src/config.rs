//! What to simulate: size, period and rates. Every rate has a realistic default for a Liaoning
//! county; tests raise some of them so that a small county still fills every indicator cell.

use chrono::NaiveDate;
use serde::Serialize;

/// The simulation's parameters. The same parameters and seed give the same messages, byte for
/// byte.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Seed of the random generator.
    pub seed: u64,
    /// The county (GB/T 2260), e.g. `210281`; its facilities come from the facility registry.
    pub county: String,
    /// Residents living in the county.
    pub residents: usize,
    /// First simulated day (local time, UTC+8).
    pub start: NaiveDate,
    /// Simulated days.
    pub days: u32,
    /// Outpatient visits per resident and year (China averages about 6).
    pub visits_per_year: f64,
    /// Share of the visits of county residents made inside the county (县域内就诊率).
    pub in_county_rate: f64,
    /// Share of in-county outpatient visits made at primary care (township, community, village).
    pub primary_care_share: f64,
    /// Share of in-county outpatient visits that are emergencies (county hospitals only).
    pub emergency_share: f64,
    /// Admissions per resident and year.
    pub admissions_per_year: f64,
    /// Share of admissions in county hospitals or township centres (the rest out of county).
    pub inpatient_in_county_share: f64,
    /// Share of in-county outpatient visits with a lab order to the shared lab centre.
    pub lab_order_rate: f64,
    /// Share of lab orders with a critical potassium value.
    pub critical_rate: f64,
    /// Share of in-county outpatient visits with an imaging order to the shared imaging centre.
    pub imaging_order_rate: f64,
    /// Share of primary-care visits referred up to a county hospital.
    pub referral_up_rate: f64,
    /// Share of county-hospital discharges referred down to primary care.
    pub referral_down_rate: f64,
    /// Share of referrals cancelled by the referring facility.
    pub referral_cancel_rate: f64,
    /// Share of outpatient registrations cancelled (退号) before the visit.
    pub cancel_rate: f64,
    /// Share of settlements reversed (冲正) by the bureau.
    pub reversal_rate: f64,
    /// Share of settlements cancelled and settled again with corrected amounts (退费重结).
    pub resettle_rate: f64,
    /// Share of visits paid out of pocket (no settlement).
    pub self_pay_rate: f64,
    /// Pharmacy purchases per resident and year (med_type 41, excluded from the indicators).
    pub pharmacy_per_year: f64,
    /// Share of residents insured in Dalian city rather than in the county.
    pub insured_elsewhere_share: f64,
    /// Duplicate registrations later merged by an ADT^A40 (at least one when there are residents).
    pub merges: usize,
    /// Facilities whose outpatient registrations go into a front-end-processor table instead of
    /// HL7 (their other messages stay HL7).
    pub table_facilities: Vec<String>,
}

impl Config {
    /// Defaults for `residents` residents over `days` days from `start`, seeded with `seed`.
    pub fn new(seed: u64, residents: usize, start: NaiveDate, days: u32) -> Self {
        Self {
            seed,
            county: "210281".to_owned(),
            residents,
            start,
            days,
            visits_per_year: 6.0,
            in_county_rate: 0.9,
            primary_care_share: 0.65,
            emergency_share: 0.08,
            admissions_per_year: 0.18,
            inpatient_in_county_share: 0.85,
            lab_order_rate: 0.3,
            critical_rate: 0.05,
            imaging_order_rate: 0.1,
            referral_up_rate: 0.05,
            referral_down_rate: 0.3,
            referral_cancel_rate: 0.05,
            cancel_rate: 0.02,
            reversal_rate: 0.02,
            resettle_rate: 0.02,
            self_pay_rate: 0.05,
            pharmacy_per_year: 2.0,
            insured_elsewhere_share: 0.03,
            merges: (residents / 500).max(1),
            table_facilities: Vec::new(),
        }
    }
}
