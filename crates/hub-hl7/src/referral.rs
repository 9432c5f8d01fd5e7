//! REF^I12 (referral), I13 (modification), I14 (cancellation) to a Referral event.
//!
//! - `referral_id`: RF1-6 originating referral id, else RF1-11 external id, else MSH-10.
//! - `status`: I14 is CANCELLED; else RF1-1 (table 0283: A accepted, P pending = issued,
//!   R rejected, E expired = cancelled); an I12 without a status is ISSUED.
//! - facilities: the PRD with role RP (referring provider) gives `from`, RT (referred-to) gives
//!   `to`: the provider's facility PRD-4.4 (PL facility), else PRD-10 (organisation, v2.6+),
//!   else PRD-7.1 (provider id). Without an RP, `from` is the sender; without an RT, `to` is
//!   empty.
//! - `direction`: UNKNOWN unless RF1-10, RF1-3 or the vendor segment ZRF-1 carries a direction
//!   word (UP/DOWN/LATERAL, 上转/下转/平转); the terminology step derives it later from the
//!   facility levels.
//! - `reason_diagnosis`: the first DG1-3 (RF1-10 is a referral reason code such as "second
//!   opinion", not a diagnosis).
//! - times: `referred_at` RF1-7 effective date, else RF1-9 process date, else MSH-7; the event
//!   time is RF1-9, else MSH-7, else receipt.

use hub_mapping::{MapError, Mapped};
use hub_schemas::{AnyEvent, Referral, ReferralDirection};

use crate::message::Segment;
use crate::{Ctx, coded, codes, org_code, patient, ts};

/// Maps a REF^I12/I13/I14.
pub(crate) fn map(ctx: &Ctx<'_, '_, '_>) -> Result<Mapped, MapError> {
    let pid = ctx.pid()?;
    let patient = patient::patient_ref(ctx, &pid);
    let rf1 = ctx.msg.segment("RF1");
    let rf1_text = |f: usize| rf1.and_then(|s| s.text(f, 1));
    let facility = |role: &str| {
        ctx.msg
            .segments()
            .filter(|s| s.id() == "PRD")
            .find(|s| {
                s.field(1)
                    .reps()
                    .any(|r| r.comp(1).raw().eq_ignore_ascii_case(role))
            })
            .and_then(|prd| provider_facility(&prd))
    };
    let direction = [
        rf1_text(10),
        rf1_text(3),
        ctx.msg.segment("ZRF").and_then(|z| z.text(1, 1)),
    ]
    .into_iter()
    .flatten()
    .map(|w| codes::referral_direction(&w))
    .find(|d| *d != ReferralDirection::Unknown)
    .unwrap_or(ReferralDirection::Unknown);
    let process = rf1.and_then(|s| ts(&s, 9));
    let referred_at = rf1
        .and_then(|s| ts(&s, 7))
        .or(process)
        .unwrap_or_else(|| ctx.fallback_time());
    let reason = ctx
        .msg
        .segment("DG1")
        .and_then(|dg1| coded(dg1.field(3).first()))
        .map(|mut c| {
            c.system =
                codes::diagnosis_system_name(codes::diagnosis_code_system(&c.system), &c.system);
            c
        });
    let referral = Referral {
        event_id: ctx.event_id::<Referral>(0),
        person_id: String::new(),
        facility_code: ctx.raw.facility.clone(),
        event_time: process.unwrap_or_else(|| ctx.fallback_time()),
        provenance: ctx.provenance(),
        referral_id: rf1_text(6)
            .or_else(|| rf1_text(11))
            .unwrap_or_else(|| ctx.raw.message_id.clone()),
        direction,
        status: codes::referral_status(ctx.trigger, rf1.map_or("", |s| s.get(1, 1).raw())),
        from_facility_code: facility("RP").unwrap_or_else(|| ctx.raw.facility.clone()),
        to_facility_code: facility("RT").unwrap_or_default(),
        reason_diagnosis: reason,
        referred_at,
        encounter_id: ctx.visit_number(),
        receiving_encounter_id: None,
        ..Default::default()
    };
    Ok(Mapped {
        patient: Some(patient),
        merged_patient: None,
        events: vec![AnyEvent::Referral(referral)],
    })
}

fn provider_facility(prd: &Segment<'_, '_>) -> Option<String> {
    prd.get(4, 4)
        .sub(1)
        .text()
        .or_else(|| org_code(prd.field(10).first()))
        .or_else(|| prd.text(7, 1))
}
