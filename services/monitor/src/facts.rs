//! Canonical events reduced to the compact facts the indicators need (pure, no I/O).
//!
//! A fact keeps codes, amounts and times only: no names, ID numbers or phones. Every fact is keyed
//! by the event id, so a redelivery or a correction of the same event replaces its row.

use hub_schemas::{
    AnyEvent, Encounter, ImagingReport, ImagingReportStatus, ImagingStudy, ImagingStudyStatus,
    LabResult, LabResultStatus, Referral, ReferralDirection, Settlement, SettlementKind,
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
    /// Event time, epoch ms (picks the latest of duplicates).
    pub event_time: i64,
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
    /// Epoch ms.
    pub event_time: i64,
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
        event_time: s.event_time,
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
        event_time: l.event_time,
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
        event_time: s.event_time,
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
        event_time: r.event_time,
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
    fn symbols_are_the_avro_names() {
        assert_eq!(symbol(&SettlementKind::Cancellation), "CANCELLATION");
        assert_eq!(
            symbol(&hub_schemas::EncounterAction::CancelRegister),
            "CANCEL_REGISTER"
        );
    }
}
