//! Canonical events reduced to the compact facts the indicators need (pure, no I/O).
//!
//! A fact keeps codes, amounts and times only: no names, ID numbers or phones. Every fact is keyed
//! by the event id, so a redelivery or a correction of the same event replaces its row.

use hub_schemas::{
    AnyEvent, Encounter, IdentityLink, ImagingReport, ImagingReportStatus, ImagingStudy,
    ImagingStudyStatus, LabResult, LabResultStatus, Referral, ReferralDirection, Settlement,
    SettlementKind,
};
use hub_terminology::Terminology;

/// One settlement, with amounts signed so that sums net reversals out.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementFact {
    /// Event id.
    pub event_id: String,
    /// Settlement id.
    pub setl_id: String,
    /// `SETTLEMENT`, `REVERSAL`, `CANCELLATION` or `UNKNOWN`.
    pub kind: String,
    /// For reversals: the settlement undone.
    pub reverses_setl_id: Option<String>,
    /// Designated institution.
    pub fixmedins_code: String,
    /// Insurance visit id.
    pub mdtrt_id: String,
    /// Insured place: decides residence.
    pub insuplc_admdvs: String,
    /// Place of treatment as sent by the insurance bureau.
    pub mdtrtarea_admvs: Option<String>,
    /// Medical treatment type.
    pub med_type: String,
    /// Inpatient settlement.
    pub inpatient: bool,
    /// Settlement (or undoing) time, epoch ms.
    pub setl_time: i64,
    /// +1 settles a visit, -1 undoes one, 0 for an unknown kind (counted nowhere).
    pub sign: i16,
    /// Total cost in fen, negative when undoing.
    pub medfee_sumamt: i64,
    /// Fund payment in fen, negative when undoing.
    pub fund_pay_sumamt: i64,
    /// Principal diagnosis (the first of `diagnoses`): code and code system; none if not sent.
    pub dx: Option<(String, String)>,
    /// Its bucket: ICD-10 chapter, `TCM`, `other` or `none` ([`crate::chapter`]).
    pub dx_chapter: &'static str,
    /// Event time, epoch ms (picks the latest of duplicates).
    pub event_time: i64,
    /// When the hub received the source message (`provenance.received_at`), epoch ms.
    pub received_at: i64,
}

/// One encounter event.
#[derive(Debug, Clone, PartialEq)]
pub struct EncounterFact {
    /// Event id.
    pub event_id: String,
    /// Facility.
    pub facility_code: String,
    /// Visit number within the facility.
    pub encounter_id: String,
    /// Avro symbol of the class.
    pub encounter_class: String,
    /// Avro symbol of the action.
    pub action: String,
    /// Epoch ms.
    pub event_time: i64,
    /// Received by the hub, epoch ms.
    pub received_at: i64,
}

/// One referral event.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralFact {
    /// Event id.
    pub event_id: String,
    /// Referral id (unique within the referring facility).
    pub referral_id: String,
    /// `UP`, `DOWN`, `LATERAL` or `UNKNOWN` (filled from the registry tiers when unknown).
    pub direction: String,
    /// Avro symbol of the status.
    pub status: String,
    /// Referring facility.
    pub from_facility_code: String,
    /// Receiving facility.
    pub to_facility_code: String,
    /// Epoch ms.
    pub referred_at: i64,
    /// Epoch ms.
    pub event_time: i64,
    /// Received by the hub, epoch ms.
    pub received_at: i64,
}

/// An order or report of a shared diagnostic centre (lab or imaging).
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosticFact {
    /// Event id.
    pub event_id: String,
    /// `lab` or `imaging`.
    pub service: &'static str,
    /// Placer order id.
    pub order_id: String,
    /// The performing facility (the reporting one when not sent).
    pub centre_code: String,
    /// Order time, epoch ms.
    pub ordered_at: Option<i64>,
    /// Report time, epoch ms (none for an order or a study without a report).
    pub reported_at: Option<i64>,
    /// The result or report was cancelled.
    pub cancelled: bool,
    /// The reporting facility (`facility_code`: the sender whose code dictionary is used).
    pub facility_code: String,
    /// Lab results: the test code stayed as sent because the terminology has no mapping for it
    /// ([`lab_code_unmapped`]); none for imaging.
    pub code_unmapped: Option<bool>,
    /// Epoch ms.
    pub event_time: i64,
    /// Received by the hub, epoch ms.
    pub received_at: i64,
}

/// An EMPI decision (`canonical.identity-link.v1`), without the person.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityFact {
    /// Event id.
    pub event_id: String,
    /// Facility whose message was resolved.
    pub facility_code: String,
    /// Avro symbol of the action: `LINK`, `NEW_PERSON`, `REVIEW_QUEUED`, …
    pub action: String,
    /// Avro symbol of the match method.
    pub match_method: String,
    /// Review task id (queued and resolved reviews).
    pub review_id: Option<String>,
    /// The raw record resolved: `topic/partition/offset` of the provenance.
    pub source: String,
    /// Epoch ms.
    pub event_time: i64,
    /// Received by the hub, epoch ms.
    pub received_at: i64,
}

/// A dead letter of another stage (`dlq.<stage>`), from its headers only.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterFact {
    /// The dead letter's own position, `topic/partition/offset`.
    pub position: String,
    /// The stage that rejected the input (`hub-error-stage`, else the topic's suffix).
    pub stage: String,
    /// The sending facility (`hub-facility`), when the input carried one.
    pub facility_code: Option<String>,
    /// `hub-error-code` (bounded snake_case), `unknown` when missing.
    pub error_code: String,
    /// When the dead letter was written (record timestamp), epoch ms.
    pub written_at: i64,
}

/// The fact of one event, if the monitor keeps anything of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// From a settlement.
    Settlement(SettlementFact),
    /// From an encounter.
    Encounter(EncounterFact),
    /// From a referral.
    Referral(ReferralFact),
    /// From a lab result or an imaging study or report.
    Diagnostic(DiagnosticFact),
    /// From an identity link.
    Identity(IdentityFact),
    /// From a dead letter.
    DeadLetter(DeadLetterFact),
}

/// The Avro symbol of a generated enum (its serde name), e.g. `OUTPATIENT`.
pub fn symbol<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "UNKNOWN".to_owned(),
    }
}

/// Reduces `event` to its fact; `None` for entities the indicators do not use.
pub fn fact(event: &AnyEvent, terminology: &Terminology) -> Option<Fact> {
    Some(match event {
        AnyEvent::Settlement(s) => Fact::Settlement(settlement(s)),
        AnyEvent::Encounter(e) => Fact::Encounter(encounter(e)),
        AnyEvent::Referral(r) => Fact::Referral(referral(r, terminology)),
        AnyEvent::LabResult(l) => Fact::Diagnostic(lab(l)),
        AnyEvent::ImagingStudy(s) => Fact::Diagnostic(study(s)),
        AnyEvent::ImagingReport(r) => Fact::Diagnostic(report(r)),
        AnyEvent::IdentityLink(l) => Fact::Identity(identity(l)),
        _ => return None,
    })
}

/// The settlement fact. Amounts of undoing kinds are forced negative (the schema says they are;
/// a sender that forgot the sign must not double the fund instead of netting it).
pub fn settlement(s: &Settlement) -> SettlementFact {
    let sign: i16 = match s.kind {
        SettlementKind::Settlement => 1,
        SettlementKind::Reversal | SettlementKind::Cancellation => -1,
        SettlementKind::Unknown => 0,
    };
    let signed = |amount: i64| match sign {
        1 => amount,
        -1 => -amount.abs(),
        _ => 0,
    };
    SettlementFact {
        event_id: s.event_id.clone(),
        setl_id: s.setl_id.clone(),
        kind: symbol(&s.kind),
        reverses_setl_id: s.reverses_setl_id.clone(),
        fixmedins_code: s.fixmedins_code.clone(),
        mdtrt_id: s.mdtrt_id.clone(),
        insuplc_admdvs: s.insuplc_admdvs.clone(),
        mdtrtarea_admvs: s.mdtrtarea_admvs.clone(),
        med_type: s.med_type.clone(),
        inpatient: s.inpatient,
        setl_time: s.setl_time,
        sign,
        medfee_sumamt: signed(s.medfee_sumamt),
        fund_pay_sumamt: signed(s.fund_pay_sumamt),
        dx: s
            .diagnoses
            .first()
            .map(|d| (d.code.clone(), d.system.clone())),
        dx_chapter: s.diagnoses.first().map_or(crate::chapter::NONE, |d| {
            crate::chapter::of(&d.code, &d.system)
        }),
        event_time: s.event_time,
        received_at: s.provenance.received_at,
    }
}

/// Code systems the lab map translates to: a result already in one needed no mapping.
pub const LAB_TARGET_SYSTEMS: &[&str] = &["LOINC", "COUNTY-LAB-DICT"];

/// True when the normaliser looked the lab test code up and found nothing: the code is not in
/// a target system, was not moved to `test_original`, and is not empty (the rule of
/// `hub_terminology::Terminology::apply`).
pub fn lab_code_unmapped(l: &LabResult) -> bool {
    l.test_original.is_none()
        && !l.test.code.is_empty()
        && !LAB_TARGET_SYSTEMS.contains(&l.test.system.as_str())
}

fn identity(l: &IdentityLink) -> IdentityFact {
    let p = &l.provenance;
    IdentityFact {
        event_id: l.event_id.clone(),
        facility_code: l.facility_code.clone(),
        action: symbol(&l.action),
        match_method: symbol(&l.match_method),
        review_id: l.review_id.clone(),
        source: format!(
            "{}/{}/{}",
            p.source_topic, p.source_partition, p.source_offset
        ),
        event_time: l.event_time,
        received_at: p.received_at,
    }
}

/// The fact of a dead letter read at `topic`/`partition`/`offset` (its `stage` from the topic
/// when the header is missing), `header` giving its header values by name.
pub fn dead_letter(
    (topic, partition, offset): (&str, i32, i64),
    stage: &str,
    header: impl Fn(&str) -> Option<String>,
    written_at: i64,
) -> DeadLetterFact {
    use hub_kafka::headers::{ERROR_CODE, ERROR_STAGE, FACILITY};
    let bounded = |v: String| {
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        ok.then_some(v)
    };
    DeadLetterFact {
        position: format!("{topic}/{partition}/{offset}"),
        stage: header(ERROR_STAGE)
            .and_then(bounded)
            .unwrap_or_else(|| stage.to_owned()),
        facility_code: header(FACILITY).and_then(bounded),
        error_code: header(ERROR_CODE)
            .and_then(bounded)
            .unwrap_or_else(|| "unknown".to_owned()),
        written_at,
    }
}

fn encounter(e: &Encounter) -> EncounterFact {
    EncounterFact {
        event_id: e.event_id.clone(),
        facility_code: e.facility_code.clone(),
        encounter_id: e.encounter_id.clone(),
        encounter_class: symbol(&e.encounter_class),
        action: symbol(&e.action),
        event_time: e.event_time,
        received_at: e.provenance.received_at,
    }
}

fn referral(r: &Referral, terminology: &Terminology) -> ReferralFact {
    let direction = match r.direction {
        ReferralDirection::Unknown => {
            terminology.referral_direction(&r.from_facility_code, &r.to_facility_code)
        }
        known => known,
    };
    ReferralFact {
        event_id: r.event_id.clone(),
        referral_id: r.referral_id.clone(),
        direction: symbol(&direction),
        status: symbol(&r.status),
        from_facility_code: r.from_facility_code.clone(),
        to_facility_code: r.to_facility_code.clone(),
        referred_at: r.referred_at,
        event_time: r.event_time,
        received_at: r.provenance.received_at,
    }
}

fn lab(l: &LabResult) -> DiagnosticFact {
    let cancelled = l.result_status == LabResultStatus::Cancelled;
    DiagnosticFact {
        event_id: l.event_id.clone(),
        service: "lab",
        order_id: l.order_id.clone(),
        centre_code: l
            .performing_facility_code
            .clone()
            .unwrap_or_else(|| l.facility_code.clone()),
        ordered_at: l.ordered_at,
        reported_at: Some(l.reported_at.unwrap_or(l.event_time)),
        cancelled,
        facility_code: l.facility_code.clone(),
        code_unmapped: Some(lab_code_unmapped(l)),
        event_time: l.event_time,
        received_at: l.provenance.received_at,
    }
}

fn study(s: &ImagingStudy) -> DiagnosticFact {
    DiagnosticFact {
        event_id: s.event_id.clone(),
        service: "imaging",
        order_id: s.order_id.clone(),
        centre_code: s
            .performing_facility_code
            .clone()
            .unwrap_or_else(|| s.facility_code.clone()),
        ordered_at: s.ordered_at.or(match s.status {
            ImagingStudyStatus::Ordered => Some(s.event_time),
            _ => None,
        }),
        reported_at: None,
        cancelled: s.status == ImagingStudyStatus::Cancelled,
        facility_code: s.facility_code.clone(),
        code_unmapped: None,
        event_time: s.event_time,
        received_at: s.provenance.received_at,
    }
}

fn report(r: &ImagingReport) -> DiagnosticFact {
    DiagnosticFact {
        event_id: r.event_id.clone(),
        service: "imaging",
        order_id: r.order_id.clone(),
        centre_code: r
            .performing_facility_code
            .clone()
            .unwrap_or_else(|| r.facility_code.clone()),
        ordered_at: r.ordered_at,
        reported_at: Some(r.reported_at.unwrap_or(r.event_time)),
        cancelled: r.report_status == ImagingReportStatus::Cancelled,
        facility_code: r.facility_code.clone(),
        code_unmapped: None,
        event_time: r.event_time,
        received_at: r.provenance.received_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoing_settlements_are_negative_even_when_sent_positive() {
        let s = Settlement {
            kind: SettlementKind::Reversal,
            medfee_sumamt: 1000,
            fund_pay_sumamt: -600,
            ..Settlement::default()
        };
        let f = settlement(&s);
        assert_eq!(
            (f.sign, f.medfee_sumamt, f.fund_pay_sumamt),
            (-1, -1000, -600)
        );
        let unknown = settlement(&Settlement {
            kind: SettlementKind::Unknown,
            medfee_sumamt: 1000,
            ..Settlement::default()
        });
        assert_eq!((unknown.sign, unknown.medfee_sumamt), (0, 0));
    }

    #[test]
    fn the_principal_diagnosis_gives_the_chapter() {
        let coded = |code: &str, system: &str| hub_schemas::CodedValue {
            code: code.into(),
            system: system.into(),
            display: None,
        };
        let s = Settlement {
            kind: SettlementKind::Settlement,
            diagnoses: vec![
                coded("I63.900", "ICD-10-NHSA-2.0"),
                coded("E11.900", "ICD-10-NHSA-2.0"),
            ],
            ..Settlement::default()
        };
        let f = settlement(&s);
        assert_eq!(f.dx_chapter, "IX");
        assert_eq!(f.dx.unwrap().0, "I63.900");
        assert_eq!(settlement(&Settlement::default()).dx_chapter, "none");
    }

    #[test]
    fn unmapped_lab_codes_and_dead_letter_headers() {
        let mut l = LabResult {
            test: hub_schemas::CodedValue {
                code: "JY9999".into(),
                system: "LOCAL-LIS".into(),
                display: None,
            },
            ..LabResult::default()
        };
        assert!(lab_code_unmapped(&l), "a local code left as sent");
        l.test_original = Some(l.test.clone());
        l.test.system = "COUNTY-LAB-DICT".into();
        assert!(!lab_code_unmapped(&l), "mapped");
        l.test_original = None;
        assert!(!lab_code_unmapped(&l), "sent in a target system");

        let headers = |name: &str| match name {
            "hub-facility" => Some("H21028100011".to_owned()),
            "hub-error-code" => Some("hl7_parse_error".to_owned()),
            "hub-error-stage" => Some("normaliser".to_owned()),
            _ => None,
        };
        let d = dead_letter(("dlq.normaliser", 0, 7), "normaliser", headers, 5);
        assert_eq!(d.position, "dlq.normaliser/0/7");
        assert_eq!(d.facility_code.as_deref(), Some("H21028100011"));
        assert_eq!(d.error_code, "hl7_parse_error");
        let bare = dead_letter(("dlq.x", 0, 1), "x", |_| Some("两个 字".to_owned()), 5);
        assert_eq!((bare.stage.as_str(), bare.facility_code), ("x", None));
        assert_eq!(
            bare.error_code, "unknown",
            "unbounded header text is not kept"
        );
    }

    #[test]
    fn symbols_are_the_avro_names() {
        assert_eq!(symbol(&SettlementKind::Cancellation), "CANCELLATION");
        assert_eq!(
            symbol(&hub_schemas::EncounterAction::CancelRegister),
            "CANCEL_REGISTER"
        );
    }
}
