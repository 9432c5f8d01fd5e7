//! PID (and MRG, IN1) to the [`PatientRef`] used for identity resolution and to the [`Person`]
//! event of ADT messages.
//!
//! Identifiers are read liberally, because Chinese HIS vendors disagree on where they go:
//! - PID-3 repetitions (and PID-2, PID-4) by their CX-5 type code: `ID IDCARD IDNO SFZ SFZH
//!   NNCHN NI CIN 01` resident ID number; `MR MRN BAH` medical record number (病案号); `PI PT`
//!   or no type code: the facility's patient id; `HC JKK EHC` health card; `SS INS YB YBH PSN
//!   MC MA SI` insurance. Other types (visit, account, passport numbers) are skipped.
//! - An insurance-typed value shaped like a resident ID number is one: the social security
//!   number of a Chinese resident is the resident ID number.
//! - PID-19 (SSN): a resident ID number when shaped like one, else an insurance number.
//! - IN1-36 (policy number): the insurance number when PID did not carry one.
//!
//! `PatientRef.id_number` is the resident ID number exactly as sent (the EMPI validates it);
//! `Person.id_number` is the validated, upgraded number, or null with `id_number_invalid` set.

use hub_identity::{PatientRef, ResidentId};
use hub_schemas::{Identifier, Person, PersonAction};

use crate::message::{Segment, Value};
use crate::{Ctx, codes, oid, time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ResidentId,
    MedicalRecord,
    PatientId,
    HealthCard,
    Insurance,
}

/// The identifiers of one patient, in the order sent.
#[derive(Debug, Default)]
struct Ids {
    list: Vec<(Kind, String)>,
}

impl Ids {
    fn push_cx(&mut self, cx: Value<'_>) {
        let Some(value) = cx.comp(1).text() else {
            return;
        };
        let kind = match cx.comp(5).raw().to_ascii_uppercase().as_str() {
            "ID" | "IDCARD" | "IDNO" | "SFZ" | "SFZH" | "NNCHN" | "NI" | "CIN" | "01" => {
                Kind::ResidentId
            }
            "MR" | "MRN" | "BAH" => Kind::MedicalRecord,
            "PI" | "PT" | "" => Kind::PatientId,
            "HC" | "JKK" | "EHC" => Kind::HealthCard,
            "SS" | "INS" | "YB" | "YBH" | "PSN" | "MC" | "MA" | "SI" => insurance_or_id(&value),
            _ => return,
        };
        self.push(kind, value);
    }

    fn push(&mut self, kind: Kind, value: String) {
        if !self.list.iter().any(|(k, v)| *k == kind && *v == value) {
            self.list.push((kind, value));
        }
    }

    fn first(&self, kind: Kind) -> Option<String> {
        self.list
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
    }

    fn has(&self, kind: Kind) -> bool {
        self.list.iter().any(|(k, _)| *k == kind)
    }
}

/// 18 characters (17 digits and a digit or X) or 15 digits: shaped like a resident ID number,
/// whether or not its check character is right.
fn looks_like_resident_id(v: &str) -> bool {
    let b = v.as_bytes();
    match b.len() {
        18 => {
            b[..17].iter().all(u8::is_ascii_digit)
                && (b[17].is_ascii_digit() || matches!(b[17], b'X' | b'x'))
        }
        15 => b.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

fn insurance_or_id(value: &str) -> Kind {
    if looks_like_resident_id(value) {
        Kind::ResidentId
    } else {
        Kind::Insurance
    }
}

fn pid_ids(pid: &Segment<'_, '_>, in1: Option<Segment<'_, '_>>) -> Ids {
    let mut ids = Ids::default();
    for f in [3, 2, 4] {
        for cx in pid.field(f).reps() {
            ids.push_cx(cx);
        }
    }
    if let Some(ssn) = pid.text(19, 1) {
        let kind = insurance_or_id(&ssn);
        ids.push(kind, ssn);
    }
    if !ids.has(Kind::Insurance)
        && let Some(policy) = in1.and_then(|s| s.text(36, 1))
    {
        ids.push(Kind::Insurance, policy);
    }
    ids
}

/// PID-5: the legal name repetition if typed, else the first. Chinese names are family name
/// and given name run together (`张` + `三`); Latin ones are joined with a space.
fn name(pid: &Segment<'_, '_>) -> Option<String> {
    let field = pid.field(5);
    let xpn = field
        .reps()
        .find(|r| r.comp(7).raw() == "L")
        .unwrap_or_else(|| field.first());
    let family = xpn.comp(1).sub(1).text();
    let given = xpn.comp(2).text();
    match (family, given) {
        (Some(f), Some(g)) if f.is_ascii() && g.is_ascii() => Some(format!("{f} {g}")),
        (Some(f), Some(g)) => Some(f + &g),
        (f, g) => f.or(g),
    }
}

/// PID-13 (then PID-14): the first number with digits; digits only, without `+86`.
fn phone(pid: &Segment<'_, '_>) -> Option<String> {
    let reps = pid.field(13).reps().chain(pid.field(14).reps());
    reps.filter_map(|xtn| {
        let candidates = [xtn.comp(1).raw(), xtn.comp(12).raw()];
        let text = candidates
            .into_iter()
            .find(|s| s.bytes().any(|b| b.is_ascii_digit()));
        let text = text.map(str::to_owned).or_else(|| {
            let local = xtn.comp(7).raw();
            (!local.is_empty()).then(|| format!("{}{local}", xtn.comp(6).raw()))
        })?;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let digits = match digits.strip_prefix("86") {
            Some(rest) if digits.len() == 13 => rest.to_owned(),
            _ => digits,
        };
        (!digits.is_empty()).then_some(digits)
    })
    .next()
}

/// PID-11: (division code, text). The division code is XAD-9 (county/parish code) when it is
/// a GB/T 2260 code: 6 digits, or the first 6 of a 9- or 12-digit statistical code. The text
/// is written in Chinese order: province, city, street, other designation.
fn address(pid: &Segment<'_, '_>) -> (Option<String>, Option<String>) {
    let field = pid.field(11);
    let xad = field
        .reps()
        .find(|r| matches!(r.comp(7).raw(), "H" | "C"))
        .unwrap_or_else(|| field.first());
    let county = xad.comp(9).raw();
    let division = (matches!(county.len(), 6 | 9 | 12)
        && county.bytes().all(|b| b.is_ascii_digit()))
    .then(|| county[..6].to_owned());
    let parts: Vec<String> = [4, 3, 1, 2]
        .iter()
        .filter_map(|&c| xad.comp(c).text())
        .collect();
    let sep = if parts.iter().all(|p| p.is_ascii()) {
        " "
    } else {
        ""
    };
    let text = (!parts.is_empty()).then(|| parts.join(sep));
    (division, text)
}

/// The patient a message is about, from its PID (and IN1).
pub(crate) fn patient_ref(ctx: &Ctx<'_, '_, '_>, pid: &Segment<'_, '_>) -> PatientRef {
    let ids = pid_ids(pid, ctx.msg.segment("IN1"));
    PatientRef {
        facility_code: ctx.raw.facility.clone(),
        mrn: ids
            .first(Kind::PatientId)
            .or_else(|| ids.first(Kind::MedicalRecord)),
        id_number: ids.first(Kind::ResidentId),
        insurance_number: ids.first(Kind::Insurance),
        health_card: ids.first(Kind::HealthCard),
        name: name(pid),
        birth_date: time::parse_date(pid.get(7, 1).raw()),
        sex_code: codes::sex_code(pid.get(8, 1).raw()).map(str::to_owned),
        phone: phone(pid),
    }
}

/// The patient record merged away by an A40, from MRG-1 (prior identifiers), MRG-4 (prior
/// patient id, v2.3) and MRG-7 (prior name).
pub(crate) fn merged_ref(ctx: &Ctx<'_, '_, '_>, mrg: &Segment<'_, '_>) -> PatientRef {
    let mut ids = Ids::default();
    for f in [1, 4, 2] {
        for cx in mrg.field(f).reps() {
            ids.push_cx(cx);
        }
    }
    let xpn = mrg.field(7).first();
    PatientRef {
        facility_code: ctx.raw.facility.clone(),
        mrn: ids
            .first(Kind::PatientId)
            .or_else(|| ids.first(Kind::MedicalRecord)),
        id_number: ids.first(Kind::ResidentId),
        insurance_number: ids.first(Kind::Insurance),
        health_card: ids.first(Kind::HealthCard),
        name: match (xpn.comp(1).sub(1).text(), xpn.comp(2).text()) {
            (Some(f), Some(g)) => Some(f + &g),
            (f, g) => f.or(g),
        },
        ..PatientRef::default()
    }
}

/// The Person event of an ADT message.
pub(crate) fn person(
    ctx: &Ctx<'_, '_, '_>,
    pid: &Segment<'_, '_>,
    action: PersonAction,
    event_time: i64,
) -> Person {
    let ids = pid_ids(pid, ctx.msg.segment("IN1"));
    let sent_id = ids.first(Kind::ResidentId);
    let valid_id = sent_id.as_deref().and_then(|v| ResidentId::parse(v).ok());
    let facility = Some(ctx.raw.facility.clone());
    let identifiers = ids
        .list
        .iter()
        .filter_map(|(kind, value)| {
            let (system_oid, assigner, value) = match kind {
                Kind::ResidentId => (
                    oid::RESIDENT_ID,
                    None,
                    valid_id.as_ref()?.as_str().to_owned(),
                ),
                Kind::MedicalRecord => {
                    (oid::MEDICAL_RECORD_NUMBER, facility.clone(), value.clone())
                }
                Kind::PatientId => (oid::FACILITY_PATIENT_ID, facility.clone(), value.clone()),
                Kind::HealthCard => (oid::HEALTH_CARD, None, value.clone()),
                Kind::Insurance => (oid::INSURANCE_PSN_NO, None, value.clone()),
            };
            Some(Identifier {
                system_oid: system_oid.to_owned(),
                assigner_facility_code: assigner,
                value,
            })
        })
        .collect();
    let (address_division_code, address_text) = address(pid);
    let id_type = (pid.field(3).reps())
        .any(|cx| cx.comp(5).raw() == "01" && cx.comp(1).text() == sent_id)
        .then(|| "01".to_owned());
    let ethnicity = pid.get(22, 1).raw();
    Person {
        event_id: ctx.event_id::<Person>(0),
        person_id: String::new(),
        facility_code: ctx.raw.facility.clone(),
        event_time,
        provenance: ctx.provenance(),
        action,
        identifiers,
        id_number: valid_id.as_ref().map(|id| id.as_str().to_owned()),
        id_number_invalid: sent_id.is_some() && valid_id.is_none(),
        id_type_code: id_type,
        name: name(pid).unwrap_or_default(),
        sex_code: codes::sex_code(pid.get(8, 1).raw())
            .unwrap_or("0")
            .to_owned(),
        birth_date: time::parse_date(pid.get(7, 1).raw()).map(time::epoch_days),
        phone: phone(pid),
        address_division_code,
        address_text,
        insured_admdvs: None,
        ethnicity_code: (ethnicity.len() == 2 && ethnicity.bytes().all(|b| b.is_ascii_digit()))
            .then(|| ethnicity.to_owned()),
        ..Default::default()
    }
}
