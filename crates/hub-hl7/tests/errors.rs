//! Bad input becomes a bounded error code, never a panic, and error details carry no content.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use hub_hl7::{error_code, map_hl7};
use hub_schemas::raw::RawEnvelope;

const PID: &str = "PID|1||P001^^^H1^PI~11010519491231002X^^^^ID||张^三||19491231|F";

fn raw(payload: &[u8], charset: &str, source: &str) -> RawEnvelope {
    RawEnvelope {
        facility: "H1".into(),
        source: source.into(),
        charset: charset.into(),
        message_id: "M1".into(),
        payload: payload.to_vec(),
        ..RawEnvelope::default()
    }
}

fn code(payload: &str) -> &'static str {
    map_hl7(&raw(payload.as_bytes(), "UTF-8", "his"))
        .unwrap_err()
        .code
}

#[test]
fn garbage_is_unparseable() {
    for garbage in [
        "",
        "hello",
        "\r\n\r\n",
        "MSH",
        "MSH|",
        "PID|1||x",
        "MSH|^~\\&|A\rpid|lower",
        "MSH||||",
    ] {
        assert_eq!(code(garbage), error_code::UNPARSEABLE, "{garbage:?}");
    }
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    assert_eq!(
        map_hl7(&raw(&binary, "ISO-8859-1", "his"))
            .unwrap_err()
            .code,
        error_code::UNPARSEABLE
    );
}

#[test]
fn unsupported_types_and_triggers() {
    for kind in ["SIU^S12", "ADT^A99", "ORU^R30", "MDM^T02", "REF^I15", ""] {
        let msg = format!("MSH|^~\\&|A|B|C|D|20240101||{kind}|1|P|2.4\r{PID}");
        assert_eq!(code(&msg), error_code::UNSUPPORTED_MESSAGE_TYPE, "{kind}");
    }
}

#[test]
fn messages_about_a_patient_need_a_pid() {
    for kind in ["ADT^A01", "ORU^R01", "ORM^O01", "REF^I12", "ADT^A40"] {
        let msg = format!("MSH|^~\\&|A|B|C|D|20240101||{kind}|1|P|2.4\rEVN|A01\rPV1|1|I");
        assert_eq!(code(&msg), error_code::MISSING_PID, "{kind}");
    }
    let merge = format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A40|1|P|2.4\r{PID}");
    assert_eq!(code(&merge), error_code::MISSING_MRG);
}

#[test]
fn charsets_are_checked() {
    let msg = format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A28|1|P|2.4\r{PID}");
    let (gb, _, _) = encoding_rs::GB18030.encode(&msg);
    assert!(map_hl7(&raw(&gb, "GB18030", "his")).is_ok());
    assert!(map_hl7(&raw(&gb, "GBK", "his")).is_ok());
    let err = map_hl7(&raw(&gb, "UTF-8", "his")).unwrap_err();
    assert_eq!(err.code, error_code::BAD_CHARSET);
    assert_eq!(
        map_hl7(&raw(msg.as_bytes(), "EBCDIC", "his"))
            .unwrap_err()
            .code,
        error_code::BAD_CHARSET
    );
    assert_eq!(
        map_hl7(&raw(msg.as_bytes(), "ASCII", "his"))
            .unwrap_err()
            .code,
        error_code::BAD_CHARSET
    );
}

#[test]
fn error_details_carry_no_message_content() {
    let msg = format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A99|1|P|2.4\r{PID}");
    for bad in [
        msg.replace("MSH|", "MSX|"),
        msg.clone(),
        msg.replace("\rPID", "\rpid"),
    ] {
        let err = map_hl7(&raw(bad.as_bytes(), "UTF-8", "his")).unwrap_err();
        for secret in ["张", "11010519491231002X", "P001", "19491231"] {
            assert!(!err.detail.contains(secret), "{}", err.detail);
        }
    }
}

#[test]
fn vendor_and_unknown_segments_are_ignored() {
    let msg = format!(
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A28|1|P|2.4\rZXX|anything^at~all\r{PID}\rZ01|1\rAL1|1\r"
    );
    let mapped = map_hl7(&raw(msg.as_bytes(), "UTF-8", "his")).unwrap();
    assert_eq!(mapped.events.len(), 1);
}

#[test]
fn facility_is_the_sender_not_msh4() {
    let msg = format!("MSH|^~\\&|A|SPOOFED|C|D|20240101||ADT^A28|1|P|2.4\r{PID}");
    let mapped = map_hl7(&raw(msg.as_bytes(), "UTF-8", "his")).unwrap();
    assert_eq!(mapped.patient.unwrap().facility_code, "H1");
    assert_eq!(mapped.events[0].event_id(), "H1:M1:person:0");
}
