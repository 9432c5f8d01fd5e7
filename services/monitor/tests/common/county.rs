//! A small synthetic county (Wafangdian, 210281, facilities from deploy/terminology) in the
//! current local month, with the hand-computed values its indicators must have.

use hub_schemas::{
    AbnormalFlag, AnyEvent, CodedValue, Encounter, EncounterAction, EncounterClass, IdentityLink,
    IdentityLinkAction, ImagingReport, ImagingReportStatus, ImagingStudy, ImagingStudyStatus,
    LabResult, LabResultStatus, MatchMethod, Provenance, Referral, ReferralDirection,
    ReferralStatus, Settlement, SettlementKind,
};
use monitor::period::{Month, Scope};

pub const COUNTY: &str = "210281";
pub const CH: &str = "H21028100001"; // county hospital
pub const TWN: &str = "H21028100011"; // township centre (primary care)
pub const VIL: &str = "H21028100101"; // village clinic (primary care)
pub const LAB: &str = "H21028100003"; // shared lab centre
pub const IMG: &str = "H21028100004"; // shared imaging centre
pub const OUT: &str = "H21020200001"; // hospital in Dalian city, out of county
pub const PHARMACY: &str = "P21028100001";
pub const HOUR: i64 = 3_600_000;
pub const MINUTE: i64 = 60_000;
/// The critical potassium result (delivered twice).
pub const CRITICAL_LAB: &str = "lab-k-1";

/// The month the data is in: the current local month (so the year-to-date gauges include it).
pub fn month() -> Month {
    Month::containing(chrono::Utc::now().timestamp_millis(), 8).unwrap()
}

/// Local day `d` of the month at 10:00 plus `extra` ms.
pub fn at(d: i64, extra: i64) -> i64 {
    month().bounds(Scope::Month, 8).0 + (d - 1) * 24 * HOUR + 10 * HOUR + extra
}

fn prov(t: i64) -> Provenance {
    Provenance {
        source_topic: "raw.test".into(),
        source_message_id: "m".into(),
        received_at: t,
        synthetic: true,
        ..Provenance::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn setl(
    id: &str,
    at_code: &str,
    insuplc: &str,
    inpatient: bool,
    medfee: i64,
    fund: i64,
    t: i64,
) -> AnyEvent {
    AnyEvent::Settlement(Settlement {
        event_id: format!("setl-{id}"),
        person_id: format!("P-{id}"),
        facility_code: at_code.into(),
        event_time: t,
        provenance: prov(t),
        setl_id: format!("S-{id}"),
        kind: SettlementKind::Settlement,
        psn_no: "PSN".into(),
        mdtrt_id: format!("M-{id}"),
        fixmedins_code: at_code.into(),
        insuplc_admdvs: insuplc.into(),
        insutype: "390".into(),
        med_type: if inpatient { "21" } else { "11" }.into(),
        inpatient,
        setl_time: t,
        medfee_sumamt: medfee,
        fund_pay_sumamt: fund,
        ..Settlement::default()
    })
}

fn enc(
    id: &str,
    at_code: &str,
    class: EncounterClass,
    action: EncounterAction,
    t: i64,
) -> AnyEvent {
    AnyEvent::Encounter(Encounter {
        event_id: format!("enc-{id}-{action:?}"),
        person_id: format!("P-{id}"),
        facility_code: at_code.into(),
        event_time: t,
        provenance: prov(t),
        encounter_id: format!("V-{id}"),
        encounter_class: class,
        action,
        ..Encounter::default()
    })
}

fn refer(
    id: &str,
    from: &str,
    to: &str,
    dir: ReferralDirection,
    status: ReferralStatus,
    t: i64,
) -> AnyEvent {
    AnyEvent::Referral(Referral {
        event_id: format!("ref-{id}-{status:?}"),
        person_id: format!("P-{id}"),
        facility_code: from.into(),
        event_time: t,
        provenance: prov(t),
        referral_id: format!("R-{id}"),
        direction: dir,
        status,
        from_facility_code: from.into(),
        to_facility_code: to.into(),
        referred_at: t,
        ..Referral::default()
    })
}

/// A lab result of the shared lab, ordered by the township, `tat` ms after the order.
pub fn lab(id: &str, code: &str, value: f64, ordered: i64, tat: i64) -> LabResult {
    LabResult {
        event_id: id.into(),
        person_id: format!("P-{id}"),
        facility_code: LAB.into(),
        event_time: ordered + tat,
        provenance: prov(ordered + tat),
        order_id: format!("O-{id}"),
        observation_seq: 1,
        test: CodedValue {
            code: code.into(),
            system: "LOINC".into(),
            display: None,
        },
        value_text: value.to_string(),
        value_numeric: Some(value),
        unit: Some("mmol/L".into()),
        abnormal_flag: AbnormalFlag::Normal,
        result_status: LabResultStatus::Final,
        ordered_at: Some(ordered),
        reported_at: Some(ordered + tat),
        ordering_facility_code: Some(TWN.into()),
        performing_facility_code: Some(LAB.into()),
        ..LabResult::default()
    }
}

/// Every event of the county, in delivery order (with a duplicate and a correction).
pub fn events() -> Vec<AnyEvent> {
    use EncounterAction::{Admit, CancelRegister, Register};
    use EncounterClass::{Emergency, Inpatient, Outpatient};
    use ReferralDirection::{Down, Unknown, Up};
    use ReferralStatus::{Cancelled, Issued};
    let mut e = vec![
        // Settlements of county-insured persons (fen).
        setl("1", CH, COUNTY, false, 10_000, 6_000, at(1, 0)),
        setl("2", CH, COUNTY, true, 800_000, 560_000, at(2, 0)),
        setl("3", CH, COUNTY, true, 600_000, 420_000, at(3, 0)),
        setl("4", TWN, COUNTY, false, 4_000, 3_000, at(4, 0)), // corrected below
        setl("5", VIL, COUNTY, false, 2_000, 1_600, at(5, 0)),
        setl("6", OUT, COUNTY, true, 1_500_000, 900_000, at(6, 0)),
        setl("7", OUT, COUNTY, false, 30_000, 15_000, at(7, 0)),
        setl("8", TWN, COUNTY, true, 300_000, 240_000, at(8, 0)),
        setl("9", CH, COUNTY, true, 700_000, 490_000, at(9, 0)), // reversed below
        setl("10", PHARMACY, COUNTY, false, 3_000, 2_000, at(10, 0)), // pharmacy: excluded
        setl("11", CH, "210202", true, 900_000, 600_000, at(11, 0)), // insured elsewhere
        setl("12", CH, COUNTY, true, 500_000, 350_000, at(12, 0)),
        setl("13", TWN, COUNTY, true, 400_000, 320_000, at(13, 0)),
    ];
    e.push(e[0].clone()); // settlement 1 delivered twice
    e.push(setl("4", TWN, COUNTY, false, 5_000, 4_000, at(4, 0))); // correction of 4
    // Reversal of 9 (冲正), a few hours later, amounts negative per the schema.
    if let AnyEvent::Settlement(mut s) =
        setl("9", CH, COUNTY, true, -700_000, -490_000, at(9, 3 * HOUR))
    {
        s.event_id = "setl-9-rev".into();
        s.setl_id = "S-9-rev".into();
        s.kind = SettlementKind::Reversal;
        s.reverses_setl_id = Some("S-9".into());
        e.push(AnyEvent::Settlement(s));
    }
    // Encounters: 3 at the county hospital, 3 at the township, 2 at the village (+1 cancelled),
    // an inpatient admission and an out-of-county visit (neither counts).
    for (id, code, class) in [
        ("e1", CH, Outpatient),
        ("e2", CH, Outpatient),
        ("e3", CH, Emergency),
        ("e4", TWN, Outpatient),
        ("e5", TWN, Outpatient),
        ("e6", TWN, Outpatient),
        ("e7", VIL, Outpatient),
        ("e8", VIL, Outpatient),
        ("e9", VIL, Outpatient),
        ("e10", CH, Inpatient),
        ("e11", OUT, Outpatient),
    ] {
        let action = if class == Inpatient { Admit } else { Register };
        e.push(enc(id, code, class, action, at(2, 0)));
    }
    e.push(enc("e4", TWN, Outpatient, Register, at(2, 0))); // duplicate delivery
    e.push(enc("e9", VIL, Outpatient, CancelRegister, at(2, HOUR)));
    // Referrals: 6 up, 3 down (one with its direction left to the registry), 1 cancelled.
    for (id, from, to, dir) in [
        ("u1", VIL, TWN, Up),
        ("u2", TWN, CH, Up),
        ("u3", CH, OUT, Up),
        ("u4", VIL, CH, Up),
        ("u5", TWN, CH, Up),
        ("u6", TWN, CH, Up),
        ("d1", CH, TWN, Down),
        ("d2", CH, VIL, Unknown),
        ("d3", OUT, CH, Down),
        ("x1", TWN, CH, Up),
    ] {
        e.push(refer(id, from, to, dir, Issued, at(3, 0)));
    }
    e.push(refer("x1", TWN, CH, Up, Cancelled, at(3, HOUR)));
    // Shared lab: five orders reported after 30, 60, 90, 120, 150 minutes; the first is a
    // critical potassium, delivered twice. A normal glucose raises nothing.
    for (i, minutes) in [30, 60, 90, 120, 150].into_iter().enumerate() {
        let id = if i == 0 {
            CRITICAL_LAB.to_owned()
        } else {
            format!("lab-g-{i}")
        };
        let (code, value) = if i == 0 {
            ("2823-3", 6.8)
        } else {
            ("14749-6", 5.5)
        };
        e.push(AnyEvent::LabResult(lab(
            &id,
            code,
            value,
            at(4, 0),
            minutes * MINUTE,
        )));
    }
    e.push(AnyEvent::LabResult(lab(
        CRITICAL_LAB,
        "2823-3",
        6.8,
        at(4, 0),
        30 * MINUTE,
    )));
    // Shared imaging: one order -> report pair (a small cell).
    e.push(AnyEvent::ImagingStudy(ImagingStudy {
        event_id: "img-o-1".into(),
        person_id: "P-img".into(),
        facility_code: TWN.into(),
        event_time: at(5, 0),
        provenance: prov(at(5, 0)),
        order_id: "IO-1".into(),
        status: ImagingStudyStatus::Ordered,
        ordered_at: Some(at(5, 0)),
        performing_facility_code: Some(IMG.into()),
        ..ImagingStudy::default()
    }));
    e.push(AnyEvent::ImagingReport(ImagingReport {
        event_id: "img-r-1".into(),
        person_id: "P-img".into(),
        facility_code: IMG.into(),
        event_time: at(5, 2 * HOUR),
        provenance: prov(at(5, 2 * HOUR)),
        order_id: "IO-1".into(),
        report_status: ImagingReportStatus::Final,
        reported_at: Some(at(5, 2 * HOUR)),
        ..ImagingReport::default()
    }));
    e
}

/// Local day `d` of the month `offset` months from the current one, at 10:00 plus `extra` ms.
pub fn at_month(offset: i32, d: i64, extra: i64) -> i64 {
    month().offset(offset).bounds(Scope::Month, 8).0 + (d - 1) * 24 * HOUR + 10 * HOUR + extra
}

fn coded(code: &str, system: &str) -> CodedValue {
    CodedValue {
        code: code.into(),
        system: system.into(),
        display: None,
    }
}

/// A settlement of a county-insured person with a principal diagnosis.
fn setl_dx(id: &str, at_code: &str, inpatient: bool, dx: (&str, &str), t: i64) -> AnyEvent {
    let mut event = setl(id, at_code, COUNTY, inpatient, 100_000, 70_000, t);
    if let AnyEvent::Settlement(s) = &mut event {
        s.diagnoses = vec![coded(dx.0, dx.1), coded("E11.900", "ICD-10-NHSA-2.0")];
    }
    event
}

/// The township facility's lab results, identity decisions and dead letters of the data-quality
/// test, the outflow settlements and a critical imaging report. With `now` the receive time of
/// the identity decisions (the pipeline's last hour).
pub fn extras(now: i64) -> Vec<AnyEvent> {
    const NHSA: &str = "ICD-10-NHSA-2.0";
    let mut e = Vec::new();
    // Outflow. Chapter II (neoplasms): 6 stays out of the county, 4 in it. Chapter X
    // (respiratory): 5 visits in the county, one still in the clinical version (unmapped).
    // Chapter IV: 2 visits (a small cell). TCM: 1.
    for i in 0..6 {
        e.push(setl_dx(
            &format!("c2o{i}"),
            OUT,
            true,
            ("C34.900", NHSA),
            at(6, i),
        ));
    }
    for i in 0..4 {
        e.push(setl_dx(
            &format!("c2i{i}"),
            CH,
            true,
            ("C16.900", NHSA),
            at(6, i),
        ));
    }
    for i in 0..4 {
        e.push(setl_dx(
            &format!("c10-{i}"),
            TWN,
            false,
            ("J18.900", NHSA),
            at(7, i),
        ));
    }
    e.push(setl_dx(
        "c10-x",
        TWN,
        false,
        ("J06.900", "ICD-10-GB-CLIN-2.0"),
        at(7, 9),
    ));
    e.push(setl_dx("c4-0", CH, false, ("E11.900", NHSA), at(7, 0)));
    e.push(setl_dx("c4-1", OUT, false, ("E11.900", NHSA), at(7, 0)));
    e.push(setl_dx("tcm", VIL, false, ("BNW010", "TCM-NHSA"), at(7, 0)));
    // Lab results reported by the township itself: two local codes the map lacks, one mapped,
    // one sent in LOINC.
    for (i, (code, system, mapped)) in [
        ("JY9001", "LOCAL-LIS", false),
        ("JY9002", "LOCAL-LIS", false),
        ("1001", "COUNTY-LAB-DICT", true),
        ("2345-7", "LOINC", false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut l = lab(&format!("lab-twn-{i}"), code, 5.0, at(8, 0), 20 * MINUTE);
        l.facility_code = TWN.into();
        l.performing_facility_code = Some(TWN.into());
        l.test.system = system.into();
        if mapped {
            l.test_original = Some(coded("JY0101", "LOCAL-LIS"));
        }
        e.push(AnyEvent::LabResult(l));
    }
    // Identity decisions on eight messages of the township: six links, two new persons each
    // queued for review, one of the reviews resolved since.
    let link = |i: usize, action: IdentityLinkAction, review: Option<&str>| {
        AnyEvent::IdentityLink(IdentityLink {
            event_id: format!("idl-{i}-{action:?}"),
            person_id: format!("P-idl-{i}"),
            facility_code: TWN.into(),
            event_time: now,
            provenance: Provenance {
                source_topic: "raw.his.hl7v2".into(),
                source_offset: i as i64,
                source_message_id: format!("m-{i}"),
                received_at: now,
                ..Provenance::default()
            },
            action,
            match_method: MatchMethod::IdNumber,
            review_id: review.map(str::to_owned),
            ..IdentityLink::default()
        })
    };
    for i in 0..6 {
        e.push(link(i, IdentityLinkAction::Link, None));
    }
    for (i, review) in [(6, "rv-1"), (7, "rv-2")] {
        e.push(link(i, IdentityLinkAction::NewPerson, None));
        e.push(link(i, IdentityLinkAction::ReviewQueued, Some(review)));
    }
    e.push(link(100, IdentityLinkAction::ReviewResolved, Some("rv-1")));
    // A critical CT finding of the shared imaging centre, ordered by the township.
    e.push(AnyEvent::ImagingReport(ImagingReport {
        event_id: CRITICAL_IMAGING.into(),
        person_id: "P-img-2".into(),
        facility_code: IMG.into(),
        event_time: at(9, 0),
        provenance: prov(at(9, 0)),
        order_id: "IO-2".into(),
        report_status: ImagingReportStatus::Final,
        modality: Some("CT".into()),
        critical: true,
        reported_at: Some(at(9, 0)),
        ordering_facility_code: Some(TWN.into()),
        performing_facility_code: Some(IMG.into()),
        ..ImagingReport::default()
    }));
    e
}

/// The critical imaging report of [`extras`].
pub const CRITICAL_IMAGING: &str = "img-r-critical";

/// Three earlier months for the trends: a month ago 4 of 5 visits in the county, two months ago
/// 5 of 5, three months ago 3 visits (suppressed).
pub fn history() -> Vec<AnyEvent> {
    let mut e = Vec::new();
    for (offset, inside, outside) in [(-1, 4, 1), (-2, 5, 0), (-3, 3, 0)] {
        for i in 0..inside + outside {
            let code = if i < inside { CH } else { OUT };
            let id = format!("h{}-{i}", -offset);
            e.push(setl(
                &id,
                code,
                COUNTY,
                false,
                10_000,
                5_000,
                at_month(offset, 3, i64::from(i)),
            ));
        }
    }
    e
}
