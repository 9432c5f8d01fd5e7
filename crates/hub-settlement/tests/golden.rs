//! Golden tests: each `golden/<case>.json` record is mapped as the normaliser would map a raw
//! message, and the result (patient, event, or the error with its field errors) must equal
//! `golden/<case>.expected.json`. Run with `UPDATE_GOLDEN=1` to rewrite the expectations after
//! an intended change, then review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::path::PathBuf;

use hub_schemas::raw::RawEnvelope;
use hub_schemas::{AnyEvent, CanonicalEvent, Settlement, SettlementKind};
use hub_settlement::{FieldReason, map_settlement, validate};
use serde_json::{Value, json};

const CASES: &[&str] = &[
    "outpatient-2207",
    "inpatient-2304",
    "out-of-county-2304",
    "chronic-outpatient-14",
    "cancellation-2305",
    "reversal-2601",
    "bad-amounts",
    "missing-fields",
    "bad-reversal",
    "truncated",
];

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn raw(case: &str, offset: i64) -> RawEnvelope {
    let payload = std::fs::read(golden(&format!("{case}.json"))).unwrap();
    RawEnvelope {
        topic: "raw.insurance.settlement".into(),
        partition: 0,
        offset,
        key: format!("YB210281:{case}").into_bytes(),
        facility: "YB210281".into(),
        source: "insurance".into(),
        content_type: "application/json".into(),
        charset: "UTF-8".into(),
        received_at_ms: 1_794_000_000_000,
        message_id: case.into(),
        synthetic: true,
        payload,
    }
}

/// What a case produces, as reviewable JSON.
fn outcome(case: &str, offset: i64) -> Value {
    let raw = raw(case, offset);
    match map_settlement(&raw) {
        Ok(mapped) => {
            let p = mapped.patient.unwrap();
            let events: Vec<Value> = mapped
                .events
                .iter()
                .map(|e| match e {
                    AnyEvent::Settlement(s) => serde_json::to_value(s).unwrap(),
                    other => panic!("unexpected event {other:?}"),
                })
                .collect();
            json!({
                "patient": {
                    "facility_code": p.facility_code,
                    "insurance_number": p.insurance_number,
                    "id_number": p.id_number,
                    "name": p.name,
                    "birth_date": p.birth_date.map(|d| d.to_string()),
                    "sex_code": p.sex_code,
                    "mrn": p.mrn,
                },
                "events": events,
            })
        }
        Err(e) => {
            let json = std::str::from_utf8(&raw.payload).unwrap();
            let fields = validate(json).unwrap_err();
            json!({ "error_code": e.code, "detail": e.detail, "field_errors": fields })
        }
    }
}

#[test]
fn golden_cases() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (offset, case) in CASES.iter().enumerate() {
        let got = outcome(case, offset as i64);
        let path = golden(&format!("{case}.expected.json"));
        if update {
            let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        if got != expected {
            failures.push(format!(
                "{case}:\n{}",
                serde_json::to_string_pretty(&got).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (UPDATE_GOLDEN=1 rewrites):\n{}",
        failures.join("\n")
    );
}

fn settlement(case: &str) -> Settlement {
    let mapped = map_settlement(&raw(case, 0)).unwrap();
    match mapped.events.into_iter().next() {
        Some(AnyEvent::Settlement(s)) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn mapped_settlements_encode_under_the_committed_schema() {
    let schema: serde_avro_fast::Schema = Settlement::CONTRACT.schema.parse().unwrap();
    for case in CASES.iter().filter(|c| map_settlement(&raw(c, 0)).is_ok()) {
        let event = settlement(case);
        let config = &mut serde_avro_fast::ser::SerializerConfig::new(&schema);
        let bytes = serde_avro_fast::to_datum_vec(&event, config).unwrap();
        let back: Settlement = serde_avro_fast::from_datum_slice(&bytes, &schema).unwrap();
        assert_eq!(back, event, "{case}");
    }
}

#[test]
fn a_settlement_and_its_reversal_net_to_zero() {
    let settled = settlement("outpatient-2207");
    let reversed = settlement("reversal-2601");
    assert_eq!(reversed.kind, SettlementKind::Reversal);
    assert_eq!(
        reversed.reverses_setl_id.as_deref(),
        Some(settled.setl_id.as_str())
    );
    assert_eq!(settled.medfee_sumamt + reversed.medfee_sumamt, 0);
    assert_eq!(settled.fund_pay_sumamt + reversed.fund_pay_sumamt, 0);
    assert_eq!(settled.psn_cash_pay + reversed.psn_cash_pay, 0);
    assert_eq!(settled.hifp_pay.unwrap() + reversed.hifp_pay.unwrap(), 0);

    let inpatient = settlement("inpatient-2304");
    let cancelled = settlement("cancellation-2305");
    assert_eq!(cancelled.kind, SettlementKind::Cancellation);
    assert_eq!(inpatient.medfee_sumamt + cancelled.medfee_sumamt, 0);
    assert_eq!(inpatient.maf_pay.unwrap() + cancelled.maf_pay.unwrap(), 0);
}

#[test]
fn out_of_county_treatment_keeps_the_insured_place() {
    let s = settlement("out-of-county-2304");
    assert_eq!(s.insuplc_admdvs, "210281");
    assert_eq!(s.mdtrtarea_admvs.as_deref(), Some("210202"));
    assert!(s.inpatient);
    assert_eq!(s.medfee_sumamt, 5_821_007);
    assert_eq!(
        s.medfee_sumamt,
        s.fund_pay_sumamt + s.psn_cash_pay + s.acct_pay.unwrap()
    );
}

#[test]
fn errors_name_fields_but_never_carry_values() {
    for case in ["bad-amounts", "missing-fields", "bad-reversal"] {
        let raw = raw(case, 0);
        let err = map_settlement(&raw).unwrap_err();
        assert_eq!(err.code, "settlement_invalid_field", "{case}");
        let record: Value = serde_json::from_slice(&raw.payload).unwrap();
        for (field, value) in record.as_object().unwrap() {
            let Some(text) = value.as_str().filter(|t| t.len() > 3) else {
                continue;
            };
            assert!(
                !err.detail.contains(text),
                "{case}: value of {field} leaked: {}",
                err.detail
            );
        }
    }
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let json = std::fs::read_to_string(golden("bad-amounts.json")).unwrap();
    let reasons: Vec<(String, FieldReason)> = validate(&json)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.field, e.reason))
        .collect();
    assert!(reasons.contains(&("medfee_sumamt".into(), FieldReason::TooManyDecimals)));
    assert!(reasons.contains(&("fund_pay_sumamt".into(), FieldReason::NotAnAmount)));
    assert!(reasons.contains(&("psn_cash_pay".into(), FieldReason::NotAnAmount)));
    assert!(reasons.contains(&("acct_pay".into(), FieldReason::NegativeOnSettlement)));
    assert_eq!(reasons.len(), 6, "{reasons:?}");
}

#[test]
fn not_json_and_kinds_without_infno() {
    let mut raw = raw("truncated", 0);
    assert_eq!(
        map_settlement(&raw).unwrap_err().code,
        "settlement_not_json"
    );
    raw.payload = b"[{}]".to_vec();
    assert_eq!(
        map_settlement(&raw).unwrap_err().code,
        "settlement_not_json"
    );
    raw.payload = vec![0xff, 0xfe];
    assert_eq!(
        map_settlement(&raw).unwrap_err().code,
        "settlement_not_json"
    );

    // Without infno: omsgid means a reversal, init_setl_id a cancellation.
    let base = std::fs::read_to_string(golden("reversal-2601.json")).unwrap();
    let mut record: Value = serde_json::from_str(&base).unwrap();
    record.as_object_mut().unwrap().remove("infno");
    let reversal = validate(&record.to_string()).unwrap();
    assert_eq!(
        (reversal.kind, reversal.infno),
        (SettlementKind::Reversal, None)
    );
    for field in ["omsgid", "oinfno"] {
        record.as_object_mut().unwrap().remove(field);
    }
    let cancellation = validate(&record.to_string()).unwrap();
    assert_eq!(cancellation.kind, SettlementKind::Cancellation);
    assert_eq!(cancellation.setl_id, "210281G00000001901");
    assert_eq!(
        cancellation.reverses_setl_id.as_deref(),
        Some("210281G00000001001")
    );
    assert!(cancellation.amounts.medfee_sumamt < 0);
}
