//! NHSA-shaped settlement records (the insurance bureau's feed) as JSON objects: outpatient 2207,
//! inpatient 2304, their cancellations 2208/2305 and 2601 reversals. Shapes follow
//! `crates/hub-settlement/tests/golden`. Each record carries `"synthetic": true` (an extra field
//! the mapping ignores; the connector's sender setting marks the raw message).

use chrono::DateTime;
use serde_json::{Value, json};

use crate::hl7::china;
use crate::people::Resident;

/// `yyyy-MM-dd HH:mm:ss` China time.
pub fn setl_time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&china())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Yuan with two decimals from fen, as NHSA sends amounts.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

/// One settled visit as the bureau reports it.
#[derive(Debug, Clone)]
pub struct Settled<'a> {
    /// The insured resident.
    pub resident: &'a Resident,
    /// `setl_id`.
    pub setl_id: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// Institution code.
    pub fixmedins_code: String,
    /// Place of treatment (就医地).
    pub mdtrtarea_admvs: String,
    /// Medical treatment type (11, 13, 21, 41).
    pub med_type: &'static str,
    /// Settlement time, epoch ms.
    pub at: i64,
    /// Admission and discharge for stays (epoch ms).
    pub stay: Option<(i64, i64)>,
    /// Total cost, fen.
    pub medfee: i64,
    /// Fund payment, fen.
    pub fund: i64,
    /// Insurance diagnosis (code, name).
    pub diagnosis: Option<(&'a str, &'a str)>,
}

impl Settled<'_> {
    fn infno(&self) -> &'static str {
        if self.stay.is_some() { "2304" } else { "2207" }
    }
}

fn base(s: &Settled<'_>, sign: i64) -> Value {
    let cash = s.medfee - s.fund;
    json!({
        "mdtrt_id": s.mdtrt_id,
        "psn_no": s.resident.psn_no,
        "fixmedins_code": s.fixmedins_code,
        "insuplc_admdvs": s.resident.insured_place,
        "mdtrtarea_admvs": s.mdtrtarea_admvs,
        "insutype": s.resident.insutype,
        "med_type": s.med_type,
        "medfee_sumamt": yuan(sign * s.medfee),
        "fund_pay_sumamt": yuan(sign * s.fund),
        "hifp_pay": yuan(sign * s.fund),
        "psn_cash_pay": yuan(sign * cash),
        "synthetic": true,
    })
}

/// The settlement (2207 outpatient, 2304 inpatient) with the person and diagnoses.
pub fn settlement(s: &Settled<'_>) -> Value {
    let mut v = base(s, 1);
    let r = s.resident;
    v["infno"] = json!(s.infno());
    v["setl_id"] = json!(s.setl_id);
    v["setl_time"] = json!(setl_time(s.at));
    v["psn_name"] = json!(r.name);
    v["psn_cert_type"] = json!("01");
    v["certno"] = json!(r.id_number);
    v["gend"] = json!(r.sex);
    v["brdy"] = json!(r.birth_date.format("%Y-%m-%d").to_string());
    if let Some((begin, end)) = s.stay {
        v["begndate"] = json!(setl_time(begin));
        v["enddate"] = json!(setl_time(end));
    }
    if let Some((code, name)) = s.diagnosis {
        v["diseinfo"] = json!([{
            "diag_type": "1", "diag_srt_no": 1, "diag_code": code, "diag_name": name,
            "maindiag_flag": "1"
        }]);
    }
    v
}

/// A 2601 reversal (冲正) of `s`, sent at `at` with its own `setl_id`.
pub fn reversal(s: &Settled<'_>, setl_id: &str, msgid: &str, at: i64) -> Value {
    let mut v = base(s, -1);
    v["infno"] = json!("2601");
    v["setl_id"] = json!(setl_id);
    v["init_setl_id"] = json!(s.setl_id);
    v["omsgid"] = json!(msgid);
    v["oinfno"] = json!(s.infno());
    v["setl_time"] = json!(setl_time(at));
    v
}

/// A 2208/2305 cancellation of `s` (the `setl_id` is the settlement undone, as NHSA sends it).
pub fn cancellation(s: &Settled<'_>, at: i64) -> Value {
    let mut v = base(s, -1);
    v["infno"] = json!(if s.stay.is_some() { "2305" } else { "2208" });
    v["setl_id"] = json!(s.setl_id);
    v["setl_time"] = json!(setl_time(at));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_from_fen() {
        assert_eq!(yuan(12_345), "123.45");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(100), "1.00");
    }
}
