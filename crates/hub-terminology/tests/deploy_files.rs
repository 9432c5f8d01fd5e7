//! The example terminology shipped in `deploy/terminology/` loads and maps as documented.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use hub_terminology::{FacilityLevel, Terminology, TerminologyError};

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/terminology")
}

#[test]
fn the_shipped_wafangdian_files_load() {
    let t = Terminology::load(dir()).unwrap();
    let versions = t.versions();
    assert_eq!(versions.facilities, "2026-11-01");
    assert!(
        versions
            .summary()
            .starts_with("facilities@2026-11-01,lab-codes@")
    );
    let lead = t.facility("H21028100001").unwrap();
    assert_eq!(lead.level, FacilityLevel::CountyHospital);
    assert!(lead.in_county("210281") && !lead.is_primary_care());
    let dalian = t.facility("H21020200001").unwrap();
    assert!(!dalian.in_county("210281"));
    assert_eq!(dalian.prefecture(), "2102");
    assert!(t.facilities().any(|f| f.level == FacilityLevel::Pharmacy));
    assert_eq!(t.insurance_diagnosis("I10.x00").unwrap().code, "I10.x00");
    let hbsag = t.lab_concept("H21028100003", "JY0230").unwrap();
    assert_eq!(hbsag.display.as_deref(), Some("乙肝表面抗原(HBsAg), 定性"));
}

#[test]
fn load_errors_name_the_file_and_line() {
    let missing = Terminology::load("/nonexistent/terminology").unwrap_err();
    assert!(matches!(missing, TerminologyError::Io { .. }));
    assert!(missing.to_string().contains("facilities.csv"), "{missing}");

    let tmp = std::env::temp_dir().join(format!("hub-terminology-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for name in [
        "facilities.csv",
        "lab-codes.csv",
        "icd10-clinical-to-insurance.csv",
    ] {
        std::fs::copy(dir().join(name), tmp.join(name)).unwrap();
    }
    // A GBK-encoded file (as some spreadsheet programs save it) is refused, not misread.
    let mut gbk =
        b"# version: 2\nclinical_code,clinical_name,insurance_code,insurance_name\n".to_vec();
    gbk.extend_from_slice(b"I10.x00,\xb8\xdf\xd1\xaa\xd1\xb9,I10.x00,x\n");
    std::fs::write(tmp.join("icd10-clinical-to-insurance.csv"), gbk).unwrap();
    let err = Terminology::load(&tmp).unwrap_err().to_string();
    assert_eq!(
        err,
        "icd10-clinical-to-insurance.csv:3: not UTF-8 (save the file as UTF-8, not GBK)"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
