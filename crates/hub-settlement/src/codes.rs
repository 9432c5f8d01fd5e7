//! The NHSA code tables this mapping needs: which transaction (`infno`) is a settlement, a
//! cancellation or a reversal, and which medical treatment types (`med_type`, 医疗类别) are
//! inpatient.
//!
//! `med_type` (national dictionary; provinces add 4-digit sub-codes under the same first digits,
//! e.g. 1401 under 14, which follow their family):
//!
//! | code | meaning | inpatient |
//! |---|---|---|
//! | 11 | 普通门诊 general outpatient | no |
//! | 12 | 门诊挂号 outpatient registration | no |
//! | 13 | 急诊 emergency | no |
//! | 14 | 门诊慢特病 outpatient chronic or special disease | no |
//! | 1x | other outpatient types | no |
//! | 21 | 普通住院 general inpatient | yes |
//! | 22 | 外伤住院 trauma inpatient | yes |
//! | 23 | 转外诊治住院 inpatient after referral out | yes |
//! | 24 | 急诊转住院 emergency to inpatient | yes |
//! | 28 | 日间手术 day surgery (settled as inpatient) | yes |
//! | 2x | other inpatient types | yes |
//! | 41 | 定点药店购药 pharmacy purchase | no |
//! | 51 | 生育门诊 maternity outpatient | no |
//! | 52 | 生育住院 maternity inpatient | yes |
//! | 53 | 计划生育手术费 family-planning surgery | no |
//!
//! Any other code is rejected (`unknown_med_type`) rather than guessed: an inpatient stay
//! counted as outpatient would skew the in-county inpatient indicators silently, while a
//! rejected record waits in the dead-letter topic until this table learns the code.

use hub_schemas::SettlementKind;

/// Whether a `med_type` is inpatient, or `None` for a code not in the table.
pub(crate) fn inpatient(med_type: &str) -> Option<bool> {
    let family = |prefix: &str| {
        med_type.len() >= 2
            && med_type.len() <= 4
            && med_type.starts_with(prefix)
            && med_type.bytes().all(|b| b.is_ascii_digit())
    };
    if family("1") || family("41") || family("51") || family("53") {
        Some(false)
    } else if family("2") || family("52") {
        Some(true)
    } else {
        None
    }
}

/// The kind of settlement record an NHSA transaction number carries, or `None` when the
/// transaction does not produce a settlement record (e.g. 2206 pre-settlement).
pub(crate) fn kind_of_transaction(infno: &str) -> Option<SettlementKind> {
    match infno {
        // 2207 outpatient settlement, 2304 inpatient settlement, 4101/4101A settlement list.
        "2207" | "2304" | "4101" | "4101A" => Some(SettlementKind::Settlement),
        // 2208 cancel outpatient settlement, 2305 cancel inpatient settlement.
        "2208" | "2305" => Some(SettlementKind::Cancellation),
        // 2601 reversal (冲正).
        "2601" => Some(SettlementKind::Reversal),
        _ => None,
    }
}

/// Transactions a 2601 reversal may undo in a settlement record: the settlements themselves. A
/// reversal of a cancellation (2208/2305) re-instates a settlement and would need a positive
/// sign, which the canonical REVERSAL does not have: those are rejected.
pub(crate) fn reversible(oinfno: &str) -> bool {
    matches!(oinfno, "2207" | "2304")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn med_type_table() {
        for outpatient in ["11", "12", "13", "14", "1401", "41", "51", "53"] {
            assert_eq!(inpatient(outpatient), Some(false), "{outpatient}");
        }
        for stay in ["21", "22", "23", "24", "28", "2101", "52"] {
            assert_eq!(inpatient(stay), Some(true), "{stay}");
        }
        for unknown in ["", "1", "99", "9901", "31", "42", "21a", "211111"] {
            assert_eq!(inpatient(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn transaction_table() {
        assert_eq!(
            kind_of_transaction("2304"),
            Some(SettlementKind::Settlement)
        );
        assert_eq!(
            kind_of_transaction("4101A"),
            Some(SettlementKind::Settlement)
        );
        assert_eq!(
            kind_of_transaction("2305"),
            Some(SettlementKind::Cancellation)
        );
        assert_eq!(kind_of_transaction("2601"), Some(SettlementKind::Reversal));
        assert_eq!(kind_of_transaction("2206"), None);
        assert!(reversible("2207") && !reversible("2305"));
    }
}
