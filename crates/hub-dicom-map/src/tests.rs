#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use hub_schemas::CanonicalEvent;
use serde_json::json;

use super::*;

fn raw(payload: &Value) -> RawEnvelope {
    RawEnvelope {
        topic: "raw.imaging.dicom".into(),
        partition: 2,
        offset: 41,
        facility: "H21028100001".into(),
        source: "imaging".into(),
        content_type: "application/dicom+json".into(),
        charset: "UTF-8".into(),
        received_at_ms: 1_790_000_000_000,
        message_id: "1.2.156.1.1".into(),
        payload: serde_json::to_vec(payload).unwrap(),
        ..RawEnvelope::default()
    }
}

/// As connector-imaging writes a GB18030 CT instance.
fn instance() -> Value {
    json!({
        "00080005": {"vr": "CS", "Value": ["GB18030"]},
        "00080018": {"vr": "UI", "Value": ["1.2.156.1.1"]},
        "00080020": {"vr": "DA", "Value": ["20261102"]},
        "00080030": {"vr": "TM", "Value": ["094127.5"]},
        "00080050": {"vr": "SH", "Value": ["A2026110200017"]},
        "00080060": {"vr": "CS", "Value": ["CT"]},
        "00081032": {"vr": "SQ", "Value": [{
            "00080100": {"vr": "SH", "Value": ["CT0101"]},
            "00080102": {"vr": "SH", "Value": ["H21028100001-RIS"]},
            "00080104": {"vr": "LO", "Value": ["胸部CT平扫"]}
        }]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "张三^三"}]},
        "00100020": {"vr": "LO", "Value": ["MRN0001"]},
        "00100030": {"vr": "DA", "Value": ["19900101"]},
        "00100040": {"vr": "CS", "Value": ["M"]},
        "00101002": {"vr": "SQ", "Value": [{
            "00100020": {"vr": "LO", "Value": ["210102199001011237"]},
            "00100022": {"vr": "CS", "Value": ["TEXT"]}
        }]},
        "00180015": {"vr": "CS", "Value": ["CHEST"]},
        "0020000D": {"vr": "UI", "Value": ["1.2.156.9"]},
        "0020000E": {"vr": "UI", "Value": ["1.2.156.9.1"]},
        "00201208": {"vr": "IS", "Value": [120]}
    })
}

#[test]
fn an_instance_maps_to_its_study_and_patient() {
    let mapped = map_dicom(&raw(&instance())).unwrap();
    let patient = mapped.patient.unwrap();
    assert_eq!(patient.mrn.as_deref(), Some("MRN0001"));
    assert_eq!(patient.id_number.as_deref(), Some("210102199001011237"));
    assert_eq!(patient.name.as_deref(), Some("张三三"));
    assert_eq!(patient.sex_code.as_deref(), Some("1"));
    assert_eq!(patient.birth_date, NaiveDate::from_ymd_opt(1990, 1, 1));
    let [AnyEvent::ImagingStudy(study)] = mapped.events.as_slice() else {
        panic!("{:?}", mapped.events);
    };
    assert_eq!(study.event_id, "H21028100001:1.2.156.9:imaging-study:dicom");
    assert_eq!(study.order_id, "A2026110200017");
    assert_eq!(study.status, ImagingStudyStatus::Completed);
    // 2026-11-02 09:41:27.5 China time.
    assert_eq!(study.performed_at, Some(1_793_583_687_500));
    assert_eq!(study.event_time, 1_793_583_687_500);
    assert_eq!(study.modality.as_deref(), Some("CT"));
    assert_eq!(study.body_part.as_deref(), Some("CHEST"));
    assert_eq!(study.instance_count, Some(120));
    assert_eq!(study.series_count, None);
    let procedure = study.procedure.as_ref().unwrap();
    assert_eq!(
        (procedure.code.as_str(), procedure.system.as_str()),
        ("CT0101", "H21028100001-RIS")
    );
    assert_eq!(study.provenance.source_offset, 41);
    assert_eq!(study.provenance.source_message_id, "1.2.156.1.1");

    // Still encodes under the committed schema.
    let schema: serde_avro_fast::Schema = ImagingStudy::CONTRACT.schema.parse().unwrap();
    let config = &mut serde_avro_fast::ser::SerializerConfig::new(&schema);
    let bytes = serde_avro_fast::to_datum_vec(study, config).unwrap();
    let back: ImagingStudy = serde_avro_fast::from_datum_slice(&bytes, &schema).unwrap();
    assert_eq!(&back, study);
}

#[test]
fn every_instance_of_a_study_gives_the_same_event_id() {
    let mut other = instance();
    other["00080018"]["Value"][0] = json!("1.2.156.1.2");
    let mut second = raw(&other);
    second.message_id = "1.2.156.1.2".into();
    let id = |r: &RawEnvelope| match &map_dicom(r).unwrap().events[0] {
        AnyEvent::ImagingStudy(s) => s.event_id.clone(),
        e => panic!("{e:?}"),
    };
    assert_eq!(id(&raw(&instance())), id(&second));
}

#[test]
fn names_ids_and_fallbacks() {
    let mut v = instance();
    v["00100010"] =
        json!({"vr": "PN", "Value": [{"Alphabetic": "Zhang^San", "Ideographic": "张^三"}]});
    let m = v.as_object_mut().unwrap();
    for tag in ["00080020", "00080030", "00080050", "00101002"] {
        m.remove(tag);
    }
    let mapped = map_dicom(&raw(&v)).unwrap();
    let patient = mapped.patient.unwrap();
    assert_eq!(patient.name.as_deref(), Some("张三"));
    assert_eq!(patient.id_number, None);
    let AnyEvent::ImagingStudy(study) = &mapped.events[0] else {
        panic!()
    };
    assert_eq!(study.order_id, "1.2.156.9");
    assert_eq!(study.event_time, 1_790_000_000_000);
    assert_eq!(study.performed_at, None);

    v["00100010"] = json!({"vr": "PN", "Value": [{"Alphabetic": "Zhang^San"}]});
    v["00101000"] = json!({"vr": "LO", "Value": ["21010219900101123X"]});
    let patient = map_dicom(&raw(&v)).unwrap().patient.unwrap();
    assert_eq!(patient.name.as_deref(), Some("Zhang San"));
    assert_eq!(patient.id_number.as_deref(), Some("21010219900101123X"));
}

#[test]
fn unusable_instances_are_refused_with_a_code() {
    let code = |payload: &[u8]| {
        let mut r = raw(&instance());
        r.payload = payload.to_vec();
        map_dicom(&r).unwrap_err().code
    };
    assert_eq!(code(b"[1]"), "dicom_json_invalid");
    assert_eq!(code(b"\xff"), "dicom_json_invalid");
    let mut v = instance();
    v.as_object_mut().unwrap().remove("0020000D");
    assert_eq!(map_dicom(&raw(&v)).unwrap_err().code, "dicom_missing_uid");
    let mut v = instance();
    for tag in ["00100020", "00101002"] {
        v.as_object_mut().unwrap().remove(tag);
    }
    let e = map_dicom(&raw(&v)).unwrap_err();
    assert_eq!(e.code, "dicom_missing_patient");
}
