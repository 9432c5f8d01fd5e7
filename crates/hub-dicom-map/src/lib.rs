//! The hub's DICOM JSON (`raw.imaging.dicom`: one instance's study, series and instance
//! metadata as PS3.18 F.2 JSON, written by `connector-imaging`) to the canonical `ImagingStudy`
//! event: a pure mapping, one event per raw message.
//!
//! Decisions:
//! - **One study, one event id.** Every instance of a study yields the study's event, with the
//!   id `<facility>:<Study Instance UID>:imaging-study:dicom` rather than one per instance (the
//!   raw message id is the SOP Instance UID): the record then holds one study that each
//!   instance refreshes, and a replay converges. Provenance still names the instance.
//! - **Status** `COMPLETED`: an instance exists, so the study was performed.
//! - **Times** (China time, UTC+8): `performed_at` and `event_time` from Study Date + Study Time
//!   (0008,0020/0030), else Series, then Acquisition, then Content date and time; `event_time`
//!   falls back to the receive time.
//! - **Order id**: Placer Order Number (0040,2016), Filler Order Number (0040,2017), Accession
//!   Number (0008,0050), else the Study Instance UID (the field is required).
//! - **Counts** from Number of Study Related Series / Instances (0020,1206/1208) when sent (QIDO
//!   study attributes); otherwise unknown, since one instance does not know its siblings.
//! - **Patient**: Patient ID (0010,0020) is the sender's patient id (MRN); the resident ID number
//!   is the first value shaped like one among Other Patient IDs Sequence (0010,1002), Other
//!   Patient IDs (0010,1000) and Patient ID (the EMPI validates it). Name: the ideographic group
//!   when sent, else the alphabetic one; Chinese family and given names run together (`张` +
//!   `三`), Latin ones joined by a space. Sex M/F/O to GB/T 2261.1 (1/2/9), birth date (0010,0030).
//! - `facility_code` and `performing_facility_code` are the sender (the modality's or PACS's
//!   facility, from its credentials).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use hub_identity::PatientRef;
use hub_mapping::{MapError, Mapped, provenance};
use hub_schemas::raw::RawEnvelope;
use hub_schemas::{AnyEvent, CodedValue, ImagingStudy, ImagingStudyStatus};
use serde_json::{Map, Value};

/// The entity name in event ids.
const ENTITY: &str = "imaging-study";

/// Code system of codes whose Coding Scheme Designator is missing.
pub const LOCAL_PROCEDURE_SYSTEM: &str = "DICOM-LOCAL";

type DataSet = Map<String, Value>;

/// Maps one raw DICOM JSON instance to its study event and patient.
///
/// # Errors
/// `dicom_json_invalid` when the payload is not a UTF-8 JSON object; `dicom_missing_uid` without
/// a Study Instance UID; `dicom_missing_patient` without any patient identifier.
pub fn map_dicom(raw: &RawEnvelope) -> Result<Mapped, MapError> {
    let ds: DataSet = serde_json::from_slice(&raw.payload).map_err(|_| {
        MapError::new(
            "dicom_json_invalid",
            "payload is not a DICOM JSON object (PS3.18 F.2)",
        )
    })?;
    let study_uid = text(&ds, "0020000D")
        .ok_or_else(|| MapError::new("dicom_missing_uid", "no Study Instance UID (0020,000D)"))?;
    let patient = patient(raw, &ds).ok_or_else(|| {
        MapError::new(
            "dicom_missing_patient",
            "no Patient ID (0010,0020) and no other patient identifier",
        )
    })?;
    let performed_at = [
        ("00080020", "00080030"),
        ("00080021", "00080031"),
        ("00080022", "00080032"),
        ("00080023", "00080033"),
    ]
    .iter()
    .find_map(|(d, t)| china_time_ms(text(&ds, d)?, text(&ds, t)));
    let order_id = ["00402016", "00402017", "00080050"]
        .iter()
        .find_map(|t| text(&ds, t))
        .unwrap_or(study_uid);
    let modality = text(&ds, "00080060").or_else(|| text(&ds, "00080061"));
    let study = ImagingStudy {
        event_id: format!("{}:{study_uid}:{ENTITY}:dicom", raw.facility),
        person_id: String::new(),
        facility_code: raw.facility.clone(),
        event_time: performed_at.unwrap_or(raw.received_at_ms),
        provenance: provenance(raw),
        order_id: order_id.to_owned(),
        accession_number: text(&ds, "00080050").map(str::to_owned),
        study_instance_uid: Some(study_uid.to_owned()),
        encounter_id: text(&ds, "00380010").map(str::to_owned),
        status: ImagingStudyStatus::Completed,
        modality: modality.map(str::to_owned),
        body_part: text(&ds, "00180015").map(str::to_owned),
        procedure: procedure(&ds),
        ordered_at: None,
        scheduled_at: None,
        performed_at,
        series_count: int(&ds, "00201206"),
        instance_count: int(&ds, "00201208"),
        ordering_facility_code: None,
        performing_facility_code: Some(raw.facility.clone()),
    };
    Ok(Mapped {
        patient: Some(patient),
        merged_patient: None,
        events: vec![AnyEvent::ImagingStudy(study)],
    })
}

/// The values of element `tag`.
fn values<'a>(ds: &'a DataSet, tag: &str) -> &'a [Value] {
    ds.get(tag)
        .and_then(|e| e.get("Value"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The first value of `tag` as trimmed, non-empty text.
fn text<'a>(ds: &'a DataSet, tag: &str) -> Option<&'a str> {
    values(ds, tag)
        .first()?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn int(ds: &DataSet, tag: &str) -> Option<i32> {
    match values(ds, tag).first()? {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A DA (`YYYYMMDD`) and optional TM (`HHMMSS.FFFFFF`, any prefix) as China time, epoch ms.
fn china_time_ms(date: &str, time: Option<&str>) -> Option<i64> {
    let date = NaiveDate::parse_from_str(date.get(..8)?, "%Y%m%d").ok()?;
    let time = time
        .map(|t| t.replace(':', ""))
        .and_then(|t| {
            let (hms, frac) = t.split_once('.').unwrap_or((&t, ""));
            let part = |i: usize| hms.get(i..i + 2).map_or(Some(0), |p| p.parse::<u32>().ok());
            let micros = format!("{frac:0<6}").get(..6)?.parse::<u32>().ok()?;
            NaiveTime::from_hms_micro_opt(part(0)?, part(2)?, part(4)?, micros)
        })
        .unwrap_or(NaiveTime::MIN);
    let china = chrono::FixedOffset::east_opt(8 * 3600)?;
    china
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
        .map(|t| t.timestamp_millis())
}

/// Procedure Code Sequence (0008,1032), first item.
fn procedure(ds: &DataSet) -> Option<CodedValue> {
    let item = values(ds, "00081032").first()?.as_object()?;
    Some(CodedValue {
        code: text(item, "00080100")?.to_owned(),
        system: text(item, "00080102")
            .unwrap_or(LOCAL_PROCEDURE_SYSTEM)
            .to_owned(),
        display: text(item, "00080104").map(str::to_owned),
    })
}

/// 18 characters (17 digits and a digit or X) or 15 digits.
fn looks_like_resident_id(v: &str) -> bool {
    let b = v.as_bytes();
    match b.len() {
        18 => {
            b[..17].iter().all(u8::is_ascii_digit)
                && (b[17].is_ascii_digit() || b[17].eq_ignore_ascii_case(&b'X'))
        }
        15 => b.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

fn patient(raw: &RawEnvelope, ds: &DataSet) -> Option<PatientRef> {
    let mrn = text(ds, "00100020").map(str::to_owned);
    let mut candidates: Vec<&str> = values(ds, "00101002")
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|item| text(item, "00100020"))
        .collect();
    candidates.extend(
        values(ds, "00101000")
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim),
    );
    candidates.extend(mrn.as_deref());
    let id_number = candidates
        .into_iter()
        .find(|v| looks_like_resident_id(v))
        .map(str::to_owned);
    if mrn.is_none() && id_number.is_none() {
        return None;
    }
    Some(PatientRef {
        facility_code: raw.facility.clone(),
        mrn,
        id_number,
        name: name(ds),
        birth_date: text(ds, "00100030")
            .and_then(|d| NaiveDate::parse_from_str(d.get(..8)?, "%Y%m%d").ok()),
        sex_code: text(ds, "00100040").and_then(|s| match s.to_ascii_uppercase().as_str() {
            "M" => Some("1".to_owned()),
            "F" => Some("2".to_owned()),
            "O" => Some("9".to_owned()),
            _ => None,
        }),
        ..PatientRef::default()
    })
}

/// Patient's Name (0010,0010): the ideographic group when sent, else the alphabetic one.
fn name(ds: &DataSet) -> Option<String> {
    let pn = values(ds, "00100010").first()?.as_object()?;
    let group = ["Ideographic", "Alphabetic"]
        .iter()
        .find_map(|g| pn.get(*g)?.as_str().filter(|s| !s.trim().is_empty()))?;
    let mut parts = group.split('^').map(str::trim);
    let family = parts.next().filter(|s| !s.is_empty());
    let given = parts.next().filter(|s| !s.is_empty());
    match (family, given) {
        (Some(f), Some(g)) if f.is_ascii() && g.is_ascii() => Some(format!("{f} {g}")),
        (Some(f), Some(g)) => Some(format!("{f}{g}")),
        (f, g) => f.or(g).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests;
