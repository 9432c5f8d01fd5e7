//! Unit tests of [`Terminology::apply`], one group per event type.

use super::*;
use hub_schemas::ClinicalAlert;

const FACILITIES: &str = "# version: f1
code,name,level,admdvs,primary_care,shared_centre
H21028100001,县医院,county_hospital,210281,false,none
H21028100002,县中医院,county_tcm_hospital,210281,false,none
H21028100003,检验中心,county_hospital,210281,false,lab
H21028100011,镇卫生院,township_centre,210281,true,none
H21028100021,社区卫生服务中心,community_centre,210281,true,none
H21028100101,村卫生室,village_clinic,210281,true,none
H21020200001,大连医大一院,out_of_county_hospital,210202,false,none
P21028100001,药房,pharmacy,210281,false,none
";
const LAB: &str = "# version: l7
facility,local_code,target_system,target_code,target_display
*,K,LOINC,2823-3,钾(血清/血浆)
H21028100003,JY0101,COUNTY-LAB-DICT,WFD-JY-0101,尿常规
";
const ICD10: &str = "# version: i3
clinical_code,clinical_name,insurance_code,insurance_name
I10.x00x003,高血压2级,I10.x00,特发性(原发性)高血压
E11.900,2型糖尿病,E11.900,2型糖尿病
";

fn terminology() -> Terminology {
    Terminology::parse(FACILITIES, LAB, ICD10).unwrap()
}

fn coded(code: &str, system: &str) -> CodedValue {
    CodedValue {
        code: code.into(),
        system: system.into(),
        display: Some("as sent".into()),
    }
}

fn lab(facility: &str, code: &str, system: &str) -> AnyEvent {
    AnyEvent::LabResult(LabResult {
        facility_code: facility.into(),
        test: coded(code, system),
        ..LabResult::default()
    })
}

#[test]
fn reports_versions() {
    let versions = terminology().versions().clone();
    assert_eq!(
        versions.summary(),
        "facilities@f1,lab-codes@l7,icd10-clinical-to-insurance@i3"
    );
}

#[test]
fn lab_codes_map_to_the_target_and_keep_the_original() {
    let t = terminology();
    let mut event = lab("H21028100003", "JY0101", "LOCAL-LIS");
    let outcome = t.apply(&mut event);
    assert_eq!(
        outcome,
        MapOutcome {
            looked_up: 1,
            ..MapOutcome::default()
        }
    );
    let AnyEvent::LabResult(result) = &event else {
        unreachable!()
    };
    assert_eq!(result.test.code, "WFD-JY-0101");
    assert_eq!(result.test.system, "COUNTY-LAB-DICT");
    assert_eq!(result.test.display.as_deref(), Some("尿常规"));
    assert_eq!(result.test_original, Some(coded("JY0101", "LOCAL-LIS")));
    assert_eq!(result.terminology_version.as_deref(), Some("lab-codes@l7"));

    // The * row applies to every facility; applying again changes and counts nothing.
    let mut event = lab("H21028100011", "K", "LOCAL-LIS");
    assert_eq!(t.apply(&mut event).looked_up, 1);
    let before = event.clone();
    assert_eq!(t.apply(&mut event), MapOutcome::default());
    assert_eq!(event, before);
}

#[test]
fn unmapped_lab_codes_stay_as_sent_and_are_reported_per_facility() {
    let t = terminology();
    // JY0101 is only mapped for the lab centre, not for the county hospital.
    let mut event = lab("H21028100001", "JY0101", "LOCAL-LIS");
    let before = event.clone();
    let outcome = t.apply(&mut event);
    assert_eq!(event, before);
    assert_eq!(outcome.looked_up, 1);
    assert_eq!(
        outcome.unmapped,
        vec![UnmappedCode {
            map: "lab-codes.csv",
            system: "LOCAL-LIS".into(),
            code: "JY0101".into(),
            facility: "H21028100001".into(),
        }]
    );
    // A code already in a target system needs no lookup.
    let mut event = lab("H21028100001", "2823-3", "LOINC");
    assert_eq!(t.apply(&mut event), MapOutcome::default());
}

#[test]
fn clinical_diagnoses_gain_their_insurance_code() {
    let t = terminology();
    let mut event = AnyEvent::Diagnosis(Diagnosis {
        facility_code: "H21028100001".into(),
        diagnosis: coded("I10.X00X003", ICD10_CLINICAL_SYSTEM),
        code_system: DiagnosisCodeSystem::Icd10GbClin20,
        ..Diagnosis::default()
    });
    assert_eq!(t.apply(&mut event).looked_up, 1);
    let AnyEvent::Diagnosis(d) = &event else {
        unreachable!()
    };
    assert_eq!(d.diagnosis.code, "I10.X00X003", "the clinical code stays");
    let insurance = d.insurance_diagnosis.as_ref().unwrap();
    assert_eq!(
        (insurance.code.as_str(), insurance.system.as_str()),
        ("I10.x00", "ICD-10-NHSA-2.0")
    );
    assert_eq!(
        d.terminology_version.as_deref(),
        Some("icd10-clinical-to-insurance@i3")
    );

    let mut unmapped = AnyEvent::Diagnosis(Diagnosis {
        facility_code: "H21028100001".into(),
        diagnosis: coded("J18.900", ICD10_CLINICAL_SYSTEM),
        code_system: DiagnosisCodeSystem::Icd10GbClin20,
        ..Diagnosis::default()
    });
    let outcome = t.apply(&mut unmapped);
    assert_eq!(outcome.unmapped.len(), 1);
    assert_eq!(outcome.unmapped[0].map, "icd10-clinical-to-insurance.csv");

    let mut insurance_coded = AnyEvent::Diagnosis(Diagnosis {
        facility_code: "H21028100001".into(),
        diagnosis: coded("E11.900", "ICD-10-NHSA-2.0"),
        code_system: DiagnosisCodeSystem::Icd10Nhsa20,
        ..Diagnosis::default()
    });
    assert_eq!(t.apply(&mut insurance_coded), MapOutcome::default());
}

#[test]
fn settlement_diagnoses_are_brought_to_the_insurance_version() {
    let t = terminology();
    let mut event = AnyEvent::Settlement(Settlement {
        facility_code: "H21028100001".into(),
        fixmedins_code: "H21028100001".into(),
        diagnoses: vec![
            coded("E11.900", ICD10_CLINICAL_SYSTEM),
            coded("J18.900", ICD10_CLINICAL_SYSTEM),
            coded("I10.x00", "ICD-10-NHSA-2.0"),
        ],
        ..Settlement::default()
    });
    let outcome = t.apply(&mut event);
    assert_eq!(outcome.looked_up, 2);
    assert_eq!(outcome.unmapped.len(), 1);
    assert_eq!(outcome.unmapped[0].code, "J18.900");
    let AnyEvent::Settlement(s) = &event else {
        unreachable!()
    };
    let systems: Vec<&str> = s.diagnoses.iter().map(|d| d.system.as_str()).collect();
    assert_eq!(
        systems,
        ["ICD-10-NHSA-2.0", ICD10_CLINICAL_SYSTEM, "ICD-10-NHSA-2.0"]
    );
}

#[test]
fn unknown_facilities_are_reported_once() {
    let t = terminology();
    let mut event = AnyEvent::Settlement(Settlement {
        facility_code: "H99999900001".into(),
        fixmedins_code: "H99999900001".into(),
        ..Settlement::default()
    });
    assert_eq!(
        t.apply(&mut event).unknown_facilities,
        vec!["H99999900001".to_owned()]
    );
    let mut alert = AnyEvent::ClinicalAlert(ClinicalAlert {
        facility_code: "H21028100001".into(),
        ..ClinicalAlert::default()
    });
    assert_eq!(t.apply(&mut alert), MapOutcome::default());
}

fn referral(from: &str, to: &str, direction: ReferralDirection) -> (ReferralDirection, MapOutcome) {
    let mut event = AnyEvent::Referral(Referral {
        facility_code: from.into(),
        from_facility_code: from.into(),
        to_facility_code: to.into(),
        direction,
        ..Referral::default()
    });
    let outcome = terminology().apply(&mut event);
    let AnyEvent::Referral(r) = event else {
        unreachable!()
    };
    (r.direction, outcome)
}

#[test]
fn referral_direction_is_derived_from_facility_tiers() {
    use ReferralDirection::*;
    let (village, township, community) = ("H21028100101", "H21028100011", "H21028100021");
    let (county, tcm, dalian) = ("H21028100001", "H21028100002", "H21020200001");
    let cases = [
        (village, township, Up),
        (township, county, Up),
        (county, dalian, Up),
        (village, dalian, Up),
        (county, township, Down),
        (dalian, county, Down),
        (township, village, Down),
        (township, community, Lateral),
        (county, tcm, Lateral),
        (county, "P21028100001", Unknown),
    ];
    for (from, to, expected) in cases {
        assert_eq!(referral(from, to, Unknown).0, expected, "{from} -> {to}");
    }
    // A direction sent by the source is kept.
    assert_eq!(referral(county, township, Up).0, Up);
    let (direction, outcome) = referral(county, "H21099900001", Unknown);
    assert_eq!(direction, Unknown);
    assert_eq!(outcome.unknown_facilities, vec!["H21099900001".to_owned()]);
}
