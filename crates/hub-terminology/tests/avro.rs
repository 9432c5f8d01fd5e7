//! Events mapped by the terminology still encode under the committed canonical schemas, with the
//! optional fields it fills (`test_original`, `insurance_diagnosis`, `terminology_version`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use hub_schemas::{
    AnyEvent, CanonicalEvent, CodedValue, Diagnosis, DiagnosisCodeSystem, LabResult,
};
use hub_terminology::Terminology;

fn round_trip<T: CanonicalEvent + PartialEq + std::fmt::Debug>(value: &T) {
    let schema: serde_avro_fast::Schema = T::CONTRACT.schema.parse().unwrap();
    let config = &mut serde_avro_fast::ser::SerializerConfig::new(&schema);
    let bytes = serde_avro_fast::to_datum_vec(value, config).unwrap();
    let back: T = serde_avro_fast::from_datum_slice(&bytes, &schema).unwrap();
    assert_eq!(&back, value);
}

#[test]
fn mapped_lab_results_and_diagnoses_encode() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/terminology");
    let t = Terminology::load(dir).unwrap();
    let mut lab = AnyEvent::LabResult(LabResult {
        facility_code: "H21028100003".into(),
        test: CodedValue {
            code: "JY0230".into(),
            system: "LOCAL-LIS".into(),
            display: None,
        },
        ..LabResult::default()
    });
    assert!(t.apply(&mut lab).unmapped.is_empty());
    let AnyEvent::LabResult(lab) = lab else {
        unreachable!()
    };
    assert!(lab.test_original.is_some() && lab.terminology_version.is_some());
    round_trip(&lab);

    let mut diagnosis = AnyEvent::Diagnosis(Diagnosis {
        facility_code: "H21028100001".into(),
        diagnosis: CodedValue {
            code: "E11.900x001".into(),
            system: "ICD-10-GB-CLIN-2.0".into(),
            display: Some("2型糖尿病不伴有并发症".into()),
        },
        code_system: DiagnosisCodeSystem::Icd10GbClin20,
        ..Diagnosis::default()
    });
    assert!(t.apply(&mut diagnosis).unmapped.is_empty());
    let AnyEvent::Diagnosis(diagnosis) = diagnosis else {
        unreachable!()
    };
    assert_eq!(
        diagnosis.insurance_diagnosis.as_ref().unwrap().code,
        "E11.900"
    );
    round_trip(&diagnosis);
}
