//! ORU^R01 from a laboratory: one LabResult per OBX.
//!
//! Per OBX: the order of its group (ORC-2 / OBR-2 placer, OBR-3 filler), OBX-3 test, OBX-5
//! value (`value_numeric` when the value is a plain decimal number of type NM, SN or ST),
//! OBX-6 unit, OBX-7 range, OBX-8 flag, OBX-11 status (else OBR-25). Specimen: SPM-2 number
//! and SPM-4 type (v2.5), else OBR-15 source (v2.3). Times: ordered OBR-6 / ORC-9 / ORC-15,
//! collected OBR-7 / SPM-17, reported OBR-22; the event time is OBX-14 (observation time),
//! else reported, collected, MSH-7, receipt. Facilities: ORC-21 ordering, OBX-23 performing.
//! `event_id` uses the OBX's 0-based position in the message; `observation_seq` is OBX-1, or
//! the 1-based position when OBX-1 is not a number.

use hub_mapping::{MapError, Mapped};
use hub_schemas::{AnyEvent, CodedValue, LabResult, LabResultStatus};

use crate::message::Segment;
use crate::order::{self, OrderGroup};
use crate::{Ctx, coded, codes, org_code, patient, ts};

/// Maps a laboratory ORU^R01.
pub(crate) fn map(ctx: &Ctx<'_, '_, '_>) -> Result<Mapped, MapError> {
    let pid = ctx.pid()?;
    let patient = patient::patient_ref(ctx, &pid);
    let encounter_id = ctx.visit_number();
    let mut events = Vec::new();
    let mut index = 0;
    for group in order::groups(ctx.msg) {
        if group.obx.is_empty() {
            continue;
        }
        let common = common(ctx, &group, encounter_id.clone());
        for obx in &group.obx {
            events.push(AnyEvent::LabResult(lab_result(
                ctx, &group, &common, obx, index,
            )));
            index += 1;
        }
    }
    Ok(Mapped {
        patient: Some(patient),
        merged_patient: None,
        events,
    })
}

/// The fields every observation of one order group shares (computed once per group).
fn common(
    ctx: &Ctx<'_, '_, '_>,
    group: &OrderGroup<'_, '_>,
    encounter_id: Option<String>,
) -> LabResult {
    let specimen_type = match group.spm {
        Some(spm) => coded(spm.field(4).first()),
        None => None,
    }
    .or_else(|| group.obr.and_then(|obr| specimen_source(&obr)));
    LabResult {
        facility_code: ctx.raw.facility.clone(),
        provenance: ctx.provenance(),
        order_id: group.order_id(),
        filler_order_id: group.filler_id(),
        encounter_id,
        specimen_id: group
            .spm
            .and_then(|spm| spm.text(2, 1).or_else(|| spm.text(2, 2))),
        specimen_type,
        ordered_at: group.first_ts(&[("OBR", 6), ("ORC", 9), ("ORC", 15)]),
        collected_at: group.first_ts(&[("OBR", 7), ("SPM", 17)]),
        reported_at: group.first_ts(&[("OBR", 22)]),
        ordering_facility_code: group.orc.and_then(|orc| org_code(orc.field(21).first())),
        ..Default::default()
    }
}

fn lab_result(
    ctx: &Ctx<'_, '_, '_>,
    group: &OrderGroup<'_, '_>,
    common: &LabResult,
    obx: &Segment<'_, '_>,
    index: usize,
) -> LabResult {
    let (value_text, value_numeric) = value(obx);
    let status = match codes::lab_status(obx.get(11, 1).raw()) {
        LabResultStatus::Unknown => codes::lab_status(group.obr.map_or("", |o| o.get(25, 1).raw())),
        s => s,
    };
    let event_time = ts(obx, 14)
        .or(common.reported_at)
        .or(common.collected_at)
        .unwrap_or_else(|| ctx.fallback_time());
    let seq = obx.get(1, 1).raw().parse::<i32>().ok().filter(|n| *n > 0);
    LabResult {
        event_id: ctx.event_id::<LabResult>(index),
        event_time,
        observation_seq: seq.unwrap_or_else(|| i32::try_from(index + 1).unwrap_or(i32::MAX)),
        test: coded(obx.field(3).first()).unwrap_or_default(),
        value_text,
        value_numeric,
        unit: obx.text(6, 1).or_else(|| obx.text(6, 2)),
        reference_range: obx.field(7).text_joined(" "),
        abnormal_flag: codes::abnormal_flag(obx.get(8, 1).raw()),
        result_status: status,
        performing_facility_code: org_code(obx.field(23).first()).or_else(|| obx.text(15, 1)),
        ..common.clone()
    }
}

/// OBR-15 specimen source (SPS): its first component is a CE in sub-components.
fn specimen_source(obr: &Segment<'_, '_>) -> Option<CodedValue> {
    let sps = obr.get(15, 1);
    let code = sps.sub(1).text();
    let display = sps.sub(2).text();
    if code.is_none() && display.is_none() {
        return None;
    }
    Some(CodedValue {
        code: code.unwrap_or_default(),
        system: sps.sub(3).text().unwrap_or_default(),
        display,
    })
}

/// OBX-5 by OBX-2 value type: (text as sent, numeric value).
///
/// - NM: the number. SN (`comparator^num1^separator^num2`): the parts run together
///   (`<^0.5` is `<0.5`), numeric only for a plain `num1`. ST: numeric when a plain number.
/// - CE/CWE/CNE: the text component, else the code.
/// - TX/FT and others: repetitions joined by line breaks.
pub(crate) fn value(obx: &Segment<'_, '_>) -> (String, Option<f64>) {
    let field = obx.field(5);
    let first = field.first();
    match obx.get(2, 1).raw() {
        "SN" => {
            let parts: Vec<String> = (1..=4).filter_map(|c| first.comp(c).text()).collect();
            let text = parts.concat();
            let comparator = first.comp(1).raw();
            let plain = first.comp(3).is_empty() && matches!(comparator, "" | "=");
            let numeric = if plain {
                number(first.comp(2).raw())
            } else {
                None
            };
            (text, numeric)
        }
        "CE" | "CWE" | "CNE" | "CF" => {
            let text = first.comp(2).text().or_else(|| first.comp(1).text());
            (text.unwrap_or_default(), None)
        }
        kind => {
            let text = field.text_joined("\n").unwrap_or_default();
            let numeric = matches!(kind, "NM" | "ST" | "")
                .then(|| number(&text))
                .flatten();
            (text, numeric)
        }
    }
}

/// A plain decimal number (`5.6`, `-0.25`, `+12`); not `1e5`, `inf`, `<0.5` or `5.6.1`.
fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut dots = 0;
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| {
            dots += usize::from(b == b'.');
            b.is_ascii_digit() || b == b'.'
        })
        && dots <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if ok {
        s.parse::<f64>().ok().filter(|v| v.is_finite())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn only_plain_numbers_are_numeric() {
        assert_eq!(number("5.6"), Some(5.6));
        assert_eq!(number(" -0.25 "), Some(-0.25));
        assert_eq!(number("+12"), Some(12.0));
        assert_eq!(number(".5"), Some(0.5));
        for text in [
            "", ".", "1e5", "inf", "NaN", "<0.5", "5.6.1", "阳性", "1,000",
        ] {
            assert_eq!(number(text), None, "{text}");
        }
    }
}
