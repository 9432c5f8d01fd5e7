//! ADT: Person, Encounter and Diagnosis events.
//!
//! | trigger | events |
//! |---|---|
//! | A01, A04, A05 | Person (REGISTERED), Encounter (ADMIT / REGISTER / PRE_ADMIT), Diagnosis per DG1 |
//! | A08 | Person (UPDATED), Encounter (UPDATE), Diagnosis per DG1 (UPDATED) |
//! | A02, A03, A11, A12, A13, A38 | Encounter (TRANSFER / DISCHARGE / CANCEL_*), Diagnosis per DG1 |
//! | A28, A31 | Person (REGISTERED / UPDATED) only |
//! | A40 | none: `patient` and `merged_patient` (MRG); the normaliser emits the IdentityLink |
//!
//! Only the triggers whose purpose is demographics (registration, admission, update) carry a
//! Person event; the others still give `patient` for identity resolution. A11 on an outpatient
//! or emergency visit is CANCEL_REGISTER (退号), on any other visit CANCEL_ADMIT.
//!
//! Event time: EVN-6 (event occurred), else EVN-2 (recorded), else MSH-7, else receipt time.
//! Encounter id: PV1-19 visit number, else MSH-10 (the message control id). PV1-3.1 is the
//! department (point of care), PV1-3.9 its name; PV1-6.1 the prior department (TRANSFER only);
//! PV1-7.1 the attending doctor's code (never the name); PV2-3 (admit reason) the chief
//! complaint.

use hub_mapping::{MapError, Mapped};
use hub_schemas::{
    AnyEvent, Diagnosis, DiagnosisAction, Encounter, EncounterAction, EncounterClass, PersonAction,
};

use crate::message::Segment;
use crate::{Ctx, coded, codes, error_code, patient, ts};

/// The ADT triggers this mapping handles.
const SUPPORTED: &[&str] = &[
    "A01", "A02", "A03", "A04", "A05", "A08", "A11", "A12", "A13", "A28", "A31", "A38", "A40",
];

/// Maps an ADT message.
pub(crate) fn map(ctx: &Ctx<'_, '_, '_>) -> Result<Mapped, MapError> {
    let trigger = ctx.trigger;
    if !SUPPORTED.contains(&trigger) {
        return Err(crate::unsupported("ADT", trigger));
    }
    let pid = ctx.pid()?;
    let patient = patient::patient_ref(ctx, &pid);
    let evn = ctx.msg.segment("EVN");
    let event_time = evn
        .and_then(|e| ts(&e, 6).or_else(|| ts(&e, 2)))
        .unwrap_or_else(|| ctx.fallback_time());

    if trigger == "A40" {
        let mrg = ctx.msg.segment("MRG").ok_or_else(|| {
            MapError::new(error_code::MISSING_MRG, "ADT^A40 without an MRG segment")
        })?;
        let merged = patient::merged_ref(ctx, &mrg);
        return Ok(Mapped {
            patient: Some(patient),
            merged_patient: Some(merged),
            events: vec![],
        });
    }

    let person_action = match trigger {
        "A01" | "A04" | "A05" | "A28" => Some(PersonAction::Registered),
        "A08" | "A31" => Some(PersonAction::Updated),
        _ => None,
    };
    let pv1 = ctx.msg.segment("PV1");
    let class = pv1.map_or(EncounterClass::Unknown, |p| {
        codes::encounter_class(p.get(2, 1).raw())
    });
    let action = match (trigger, class) {
        ("A01", _) => Some(EncounterAction::Admit),
        ("A02", _) => Some(EncounterAction::Transfer),
        ("A03", _) => Some(EncounterAction::Discharge),
        ("A04", _) => Some(EncounterAction::Register),
        ("A05", _) => Some(EncounterAction::PreAdmit),
        ("A08", _) => Some(EncounterAction::Update),
        ("A11", EncounterClass::Outpatient | EncounterClass::Emergency) => {
            Some(EncounterAction::CancelRegister)
        }
        ("A11", _) => Some(EncounterAction::CancelAdmit),
        ("A12", _) => Some(EncounterAction::CancelTransfer),
        ("A13", _) => Some(EncounterAction::CancelDischarge),
        ("A38", _) => Some(EncounterAction::CancelPreAdmit),
        ("A28" | "A31", _) => None,
        _ => return Err(crate::unsupported("ADT", trigger)),
    };

    let mut events = Vec::new();
    if let Some(person_action) = person_action {
        events.push(AnyEvent::Person(patient::person(
            ctx,
            &pid,
            person_action,
            event_time,
        )));
    }
    if let Some(action) = action {
        let encounter = encounter(ctx, pv1, class, action, event_time);
        let diagnosis_action = match trigger {
            "A08" => DiagnosisAction::Updated,
            _ => DiagnosisAction::Recorded,
        };
        let dg1s = ctx.msg.segments().filter(|s| s.id() == "DG1");
        for (i, dg1) in dg1s.enumerate() {
            let d = diagnosis(ctx, &dg1, i, &encounter, diagnosis_action);
            events.push(AnyEvent::Diagnosis(d));
        }
        events.insert(
            usize::from(person_action.is_some()),
            AnyEvent::Encounter(encounter),
        );
    }
    Ok(Mapped {
        patient: Some(patient),
        merged_patient: None,
        events,
    })
}

fn encounter(
    ctx: &Ctx<'_, '_, '_>,
    pv1: Option<Segment<'_, '_>>,
    class: EncounterClass,
    action: EncounterAction,
    event_time: i64,
) -> Encounter {
    let get = |f: usize, c: usize| pv1.and_then(|p| p.text(f, c));
    let pv2 = ctx.msg.segment("PV2");
    Encounter {
        event_id: ctx.event_id::<Encounter>(0),
        person_id: String::new(),
        facility_code: ctx.raw.facility.clone(),
        event_time,
        provenance: ctx.provenance(),
        encounter_id: ctx
            .visit_number()
            .unwrap_or_else(|| ctx.raw.message_id.clone()),
        encounter_class: class,
        action,
        hl7_event_code: Some(ctx.trigger.to_owned()),
        department_code: get(3, 1),
        department_name: get(3, 9),
        prior_department_code: (action == EncounterAction::Transfer)
            .then(|| get(6, 1))
            .flatten(),
        attending_doctor_code: get(7, 1),
        admit_time: pv1.and_then(|p| ts(&p, 44)),
        discharge_time: pv1.and_then(|p| ts(&p, 45)),
        chief_complaint: pv2.and_then(|p| p.text(3, 2).or_else(|| p.text(3, 1))),
        cancels_event_id: None,
        ..Default::default()
    }
}

/// One DG1: DG1-3 code (DG1-4 text when DG1-3 has none), DG1-3.3 system (else DG1-2), DG1-5
/// time, DG1-6 type, DG1-15 priority (0 means unranked), DG1-21 action (A/U/D) when sent.
fn diagnosis(
    ctx: &Ctx<'_, '_, '_>,
    dg1: &Segment<'_, '_>,
    index: usize,
    encounter: &Encounter,
    default_action: DiagnosisAction,
) -> Diagnosis {
    let mut value = coded(dg1.field(3).first()).unwrap_or_default();
    if value.display.is_none() {
        value.display = dg1.text(4, 1);
    }
    if value.system.is_empty() {
        value.system = dg1.text(2, 1).unwrap_or_default();
    }
    let family = codes::diagnosis_code_system(&value.system);
    value.system = codes::diagnosis_system_name(family, &value.system);
    let rank = dg1.get(15, 1).raw().parse::<i32>().ok().filter(|r| *r > 0);
    let diagnosed_at = ts(dg1, 5);
    let action = match dg1.get(21, 1).raw() {
        "A" => DiagnosisAction::Recorded,
        "U" => DiagnosisAction::Updated,
        "D" => DiagnosisAction::Removed,
        _ => default_action,
    };
    Diagnosis {
        event_id: ctx.event_id::<Diagnosis>(index),
        person_id: String::new(),
        facility_code: ctx.raw.facility.clone(),
        event_time: diagnosed_at.unwrap_or(encounter.event_time),
        provenance: ctx.provenance(),
        encounter_id: encounter.encounter_id.clone(),
        action,
        diagnosis: value,
        code_system: family,
        diagnosis_type: codes::diagnosis_type(dg1.get(6, 1).raw(), rank, encounter.encounter_class),
        rank,
        diagnosed_at,
        ..Default::default()
    }
}
