//! RIS messages: ORM^O01 / OMI^O23 orders to ImagingStudy, ORU^R01 reports to ImagingReport.
//!
//! Orders, one event per order group: status from ORC-1 order control and ORC-5 order status
//! (a cancelling control wins); accession number IPC-1, else OBR-18 (IHE scheduled workflow);
//! Study Instance UID IPC-3, else ZDS-1 (the one Z-segment read: IHE's study-UID carrier);
//! modality IPC-5, else OBR-24; body part OBR-15.4; procedure OBR-4; ordered ORC-9, else OBR-6;
//! scheduled TQ1-7, else OBR-27.4 (v2.3 TQ start), else OBR-36; performed OBR-7 once in
//! progress or completed. Event time: ORC-9, else MSH-7.
//!
//! Reports, one event per OBR: text OBX (TX, FT, ST, and CE/CWE text) are sorted into findings
//! and impression by OBX-3. The heuristic: a code ending in `&GDT` (DICOM general description),
//! `&ADT` or `&FIN`, the LOINC codes 18782-3 / 59776-5, the DICOM codes 121070 / 121071, or a
//! text containing FINDING / 所见 / 描述 / 表现 is findings; `&IMP`, 19005-8, 121073, or a text
//! containing IMPRESSION / CONCLUSION / 印象 / 诊断 / 结论 / 意见 / 提示 is impression. Text
//! OBX matching neither are findings. Several OBX of one kind are joined by line breaks. Status
//! OBR-25 (else the first OBX-11); critical when any OBX-8 is AA, HH or LL.

use hub_mapping::{MapError, Mapped};
use hub_schemas::{AnyEvent, ImagingReport, ImagingReportStatus, ImagingStudy, ImagingStudyStatus};

use crate::message::Segment;
use crate::order::{self, OrderGroup};
use crate::{Ctx, coded, codes, lab, org_code, patient};

/// Maps an ORM^O01 or OMI^O23.
pub(crate) fn map_order(ctx: &Ctx<'_, '_, '_>) -> Result<Mapped, MapError> {
    let pid = ctx.pid()?;
    let patient = patient::patient_ref(ctx, &pid);
    let zds_uid = ctx.msg.segment("ZDS").and_then(|z| z.text(1, 1));
    let encounter_id = ctx.visit_number();
    let events = order::groups(ctx.msg)
        .iter()
        .filter(|g| g.orc.is_some() || g.obr.is_some())
        .enumerate()
        .map(|(i, g)| {
            AnyEvent::ImagingStudy(study(ctx, g, i, zds_uid.clone(), encounter_id.clone()))
        })
        .collect();
    Ok(Mapped {
        patient: Some(patient),
        merged_patient: None,
        events,
    })
}

fn study(
    ctx: &Ctx<'_, '_, '_>,
    g: &OrderGroup<'_, '_>,
    index: usize,
    zds_uid: Option<String>,
    encounter_id: Option<String>,
) -> ImagingStudy {
    let ipc = |f: usize| g.ipc.and_then(|s| s.text(f, 1));
    let scheduled_at = g
        .first_ts(&[("TQ1", 7)])
        .or_else(|| {
            g.obr
                .and_then(|o| crate::time::parse_ts(o.get(27, 4).raw()))
        })
        .or_else(|| g.first_ts(&[("OBR", 36)]));
    let control = g.orc.map_or("", |o| o.get(1, 1).raw());
    let order_status = g.orc.map_or("", |o| o.get(5, 1).raw());
    let status = codes::study_status(control, order_status, scheduled_at.is_some());
    let ordered_at = g.first_ts(&[("ORC", 9), ("OBR", 6)]);
    let performed = matches!(
        status,
        ImagingStudyStatus::InProgress | ImagingStudyStatus::Completed
    );
    let modality = ipc(5)
        .and_then(|m| codes::modality(&m))
        .or_else(|| g.obr.and_then(|o| codes::modality(o.get(24, 1).raw())));
    ImagingStudy {
        event_id: ctx.event_id::<ImagingStudy>(index),
        person_id: String::new(),
        facility_code: ctx.raw.facility.clone(),
        event_time: g
            .first_ts(&[("ORC", 9)])
            .unwrap_or_else(|| ctx.fallback_time()),
        provenance: ctx.provenance(),
        order_id: g.order_id(),
        accession_number: ipc(1).or_else(|| g.obr_text(18, 1)),
        study_instance_uid: ipc(3).or(zds_uid),
        encounter_id,
        status,
        modality,
        body_part: g.obr.and_then(|o| {
            o.get(15, 4)
                .sub(2)
                .text()
                .or_else(|| o.get(15, 4).sub(1).text())
        }),
        procedure: g.obr.and_then(|o| coded(o.field(4).first())),
        ordered_at,
        scheduled_at,
        performed_at: if performed {
            g.first_ts(&[("OBR", 7)])
        } else {
            None
        },
        series_count: None,
        instance_count: None,
        ordering_facility_code: g.orc.and_then(|o| org_code(o.field(21).first())),
        performing_facility_code: None,
        ..Default::default()
    }
}

/// Maps an ORU^R01 from a RIS.
pub(crate) fn map_report(ctx: &Ctx<'_, '_, '_>) -> Result<Mapped, MapError> {
    let pid = ctx.pid()?;
    let patient = patient::patient_ref(ctx, &pid);
    let zds_uid = ctx.msg.segment("ZDS").and_then(|z| z.text(1, 1));
    let encounter_id = ctx.visit_number();
    let events = order::groups(ctx.msg)
        .iter()
        .filter(|g| g.obr.is_some())
        .enumerate()
        .map(|(i, g)| {
            AnyEvent::ImagingReport(report(ctx, g, i, zds_uid.clone(), encounter_id.clone()))
        })
        .collect();
    Ok(Mapped {
        patient: Some(patient),
        merged_patient: None,
        events,
    })
}

#[derive(PartialEq)]
enum Section {
    Findings,
    Impression,
    StudyUid,
}

fn section(obx: &Segment<'_, '_>) -> Section {
    let id = obx.field(3).first();
    let code = id.comp(1).raw().to_ascii_uppercase();
    let text = format!("{} {}", id.comp(2).text().unwrap_or_default(), code).to_uppercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["STUDY INSTANCE UID", "STUDYUID", "113014"]) {
        Section::StudyUid
    } else if ["&GDT", "&ADT", "&FIN"].iter().any(|s| code.ends_with(s))
        || matches!(code.as_str(), "18782-3" | "59776-5" | "121070" | "121071")
        || has(&["FINDING", "所见", "描述", "表现"])
    {
        Section::Findings
    } else if code.ends_with("&IMP")
        || matches!(code.as_str(), "19005-8" | "121073")
        || has(&[
            "IMPRESSION",
            "CONCLUSION",
            "印象",
            "诊断",
            "结论",
            "意见",
            "提示",
        ])
    {
        Section::Impression
    } else {
        Section::Findings
    }
}

fn report(
    ctx: &Ctx<'_, '_, '_>,
    g: &OrderGroup<'_, '_>,
    index: usize,
    zds_uid: Option<String>,
    encounter_id: Option<String>,
) -> ImagingReport {
    let (mut findings, mut impression, mut uid) = (Vec::new(), Vec::new(), None);
    let mut critical = false;
    for obx in &g.obx {
        critical |= codes::is_critical(codes::abnormal_flag(obx.get(8, 1).raw()));
        let (text, _) = lab::value(obx);
        if text.is_empty() {
            continue;
        }
        match section(obx) {
            Section::StudyUid => uid = uid.or(Some(text)),
            Section::Impression => impression.push(text),
            Section::Findings => findings.push(text),
        }
    }
    let obr = g.obr;
    let status = match codes::report_status(obr.map_or("", |o| o.get(25, 1).raw())) {
        ImagingReportStatus::Unknown => {
            codes::report_status(g.obx.first().map_or("", |o| o.get(11, 1).raw()))
        }
        s => s,
    };
    let reported_at = g.first_ts(&[("OBR", 22)]);
    let joined = |parts: Vec<String>| (!parts.is_empty()).then(|| parts.join("\n"));
    ImagingReport {
        event_id: ctx.event_id::<ImagingReport>(index),
        person_id: String::new(),
        facility_code: ctx.raw.facility.clone(),
        event_time: reported_at
            .or_else(|| g.first_ts(&[("OBR", 7)]))
            .unwrap_or_else(|| ctx.fallback_time()),
        provenance: ctx.provenance(),
        order_id: g.order_id(),
        accession_number: g.obr_text(18, 1),
        study_instance_uid: zds_uid.or(uid),
        report_id: None,
        encounter_id,
        report_status: status,
        modality: obr.and_then(|o| codes::modality(o.get(24, 1).raw())),
        findings: joined(findings),
        impression: joined(impression),
        critical,
        ordered_at: g.first_ts(&[("OBR", 6), ("ORC", 9)]),
        reported_at,
        ordering_facility_code: g.orc.and_then(|o| org_code(o.field(21).first())),
        performing_facility_code: g.obx.iter().find_map(|o| org_code(o.field(23).first())),
        ..Default::default()
    }
}
