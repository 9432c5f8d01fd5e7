//! The code maps: local lab item codes to the county dictionary or LOINC (`lab-codes.csv`), and
//! ICD-10 national clinical version 2.0 to the NHSA insurance version 2.0
//! (`icd10-clinical-to-insurance.csv`).

use std::collections::{HashMap, HashSet};

use crate::error::TerminologyError;
use crate::file::MapFile;

/// The lab code map file name.
pub const LAB_CODES_FILE: &str = "lab-codes.csv";
pub(crate) const LAB_CODES_HEADER: &[&str] = &[
    "facility",
    "local_code",
    "target_system",
    "target_code",
    "target_display",
];
/// The ICD-10 map file name.
pub const ICD10_FILE: &str = "icd10-clinical-to-insurance.csv";
pub(crate) const ICD10_HEADER: &[&str] = &[
    "clinical_code",
    "clinical_name",
    "insurance_code",
    "insurance_name",
];

/// `CodedValue.system` of ICD-10 national clinical version 2.0 (国临版 2.0).
pub const ICD10_CLINICAL_SYSTEM: &str = "ICD-10-GB-CLIN-2.0";
/// `CodedValue.system` of ICD-10 NHSA insurance version 2.0 (医保版 2.0).
pub const ICD10_INSURANCE_SYSTEM: &str = "ICD-10-NHSA-2.0";
/// The facility column value that makes a lab row apply to every facility.
pub const ANY_FACILITY: &str = "*";

/// A concept in a target code system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concept {
    /// Code system name, e.g. `LOINC`, `COUNTY-LAB-DICT`, `ICD-10-NHSA-2.0`.
    pub system: String,
    /// The code.
    pub code: String,
    /// Display text (empty in the file means none).
    pub display: Option<String>,
}

/// Local lab item codes, per sending facility or for all (`*`), to target concepts.
#[derive(Debug, Default)]
pub(crate) struct LabCodes {
    by_key: HashMap<(String, String), Concept>,
    target_systems: HashSet<String>,
}

impl LabCodes {
    /// The concept for `local_code` as sent by `facility`: the facility's own row first, then
    /// the `*` row.
    pub fn lookup(&self, facility: &str, local_code: &str) -> Option<&Concept> {
        let key = |f: &str| (f.to_owned(), local_code.to_owned());
        self.by_key
            .get(&key(facility))
            .or_else(|| self.by_key.get(&key(ANY_FACILITY)))
    }

    /// True when `system` is a target system of the map (the code needs no mapping).
    pub fn is_target_system(&self, system: &str) -> bool {
        self.target_systems.contains(system)
    }

    pub fn parse(
        file: &MapFile,
        is_facility: impl Fn(&str) -> bool,
    ) -> Result<Self, TerminologyError> {
        let mut map = Self::default();
        let mut lines: HashMap<(String, String), u64> = HashMap::new();
        for row in &file.rows {
            let bad = |reason: String| TerminologyError::invalid(LAB_CODES_FILE, row.line, reason);
            let [facility, local, system, code, display] = &row.fields[..] else {
                return Err(bad("wrong number of columns".into()));
            };
            if facility != ANY_FACILITY && !is_facility(facility) {
                return Err(bad(format!(
                    "facility: {facility} is not in facilities.csv"
                )));
            }
            for (column, value) in [("local_code", local), ("target_system", system)] {
                if value.is_empty() {
                    return Err(bad(format!("{column}: empty")));
                }
            }
            if code.is_empty() {
                return Err(bad("target_code: empty".into()));
            }
            let key = (facility.clone(), local.clone());
            if let Some(first) = lines.get(&key) {
                return Err(bad(format!(
                    "{facility} {local} already mapped on line {first}"
                )));
            }
            lines.insert(key.clone(), row.line);
            map.target_systems.insert(system.clone());
            let display = (!display.is_empty()).then(|| display.clone());
            map.by_key.insert(
                key,
                Concept {
                    system: system.clone(),
                    code: code.clone(),
                    display,
                },
            );
        }
        Ok(map)
    }
}

/// ICD-10 clinical 2.0 codes to insurance 2.0 concepts. Codes compare case-insensitively
/// (`I10.X00` is `I10.x00`), as sources differ in the case of the placeholder `x`.
#[derive(Debug, Default)]
pub(crate) struct Icd10Map {
    by_clinical: HashMap<String, Concept>,
}

impl Icd10Map {
    /// The insurance 2.0 concept for a clinical 2.0 code.
    pub fn lookup(&self, clinical_code: &str) -> Option<&Concept> {
        self.by_clinical
            .get(&clinical_code.trim().to_ascii_uppercase())
    }

    pub fn parse(file: &MapFile) -> Result<Self, TerminologyError> {
        let mut map = Self::default();
        let mut lines: HashMap<String, u64> = HashMap::new();
        for row in &file.rows {
            let bad = |reason: String| TerminologyError::invalid(ICD10_FILE, row.line, reason);
            let [clinical, _clinical_name, insurance, insurance_name] = &row.fields[..] else {
                return Err(bad("wrong number of columns".into()));
            };
            for (column, value) in [("clinical_code", clinical), ("insurance_code", insurance)] {
                if !looks_like_icd10(value) {
                    return Err(bad(format!("{column}: `{value}` is not an ICD-10 code")));
                }
            }
            let key = clinical.to_ascii_uppercase();
            if let Some(first) = lines.get(&key) {
                return Err(bad(format!(
                    "clinical_code: {clinical} already mapped on line {first}"
                )));
            }
            lines.insert(key.clone(), row.line);
            let display = (!insurance_name.is_empty()).then(|| insurance_name.clone());
            let concept = Concept {
                system: ICD10_INSURANCE_SYSTEM.into(),
                code: insurance.clone(),
                display,
            };
            map.by_clinical.insert(key, concept);
        }
        Ok(map)
    }
}

/// A letter, two digits, then optionally `.` and letters/digits: `I10`, `I10.x00`,
/// `E11.900x001`.
fn looks_like_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_alphabetic()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && match &b[3..] {
            [] => true,
            [b'.', rest @ ..] => !rest.is_empty() && rest.iter().all(u8::is_ascii_alphanumeric),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse;

    fn lab(rows: &str) -> Result<LabCodes, TerminologyError> {
        let text = format!("# version: 1\n{}\n{rows}", LAB_CODES_HEADER.join(","));
        LabCodes::parse(&parse(LAB_CODES_FILE, &text, LAB_CODES_HEADER)?, |f| {
            f == "H1"
        })
    }

    fn icd(rows: &str) -> Result<Icd10Map, TerminologyError> {
        let text = format!("# version: 1\n{}\n{rows}", ICD10_HEADER.join(","));
        Icd10Map::parse(&parse(ICD10_FILE, &text, ICD10_HEADER)?)
    }

    #[test]
    fn facility_rows_win_over_star_rows() {
        let map = lab("*,K,LOINC,2823-3,钾\nH1,K,COUNTY-LAB-DICT,WFD-1,血钾\n*,NA,LOINC,2951-2,\n")
            .unwrap();
        assert_eq!(map.lookup("H1", "K").unwrap().code, "WFD-1");
        assert_eq!(map.lookup("H2", "K").unwrap().code, "2823-3");
        assert_eq!(map.lookup("H2", "NA").unwrap().display, None);
        assert!(
            map.lookup("H1", "k").is_none(),
            "local codes are case-sensitive"
        );
        assert!(map.is_target_system("LOINC") && !map.is_target_system("LOCAL-LIS"));
    }

    #[test]
    fn bad_lab_rows_are_reported_with_their_line() {
        let err = lab("H9,K,LOINC,2823-3,钾").unwrap_err().to_string();
        assert_eq!(
            err,
            "lab-codes.csv:3: facility: H9 is not in facilities.csv"
        );
        let err = lab("*,,LOINC,2823-3,钾").unwrap_err().to_string();
        assert_eq!(err, "lab-codes.csv:3: local_code: empty");
        let err = lab("*,K,LOINC,,钾").unwrap_err().to_string();
        assert_eq!(err, "lab-codes.csv:3: target_code: empty");
        let err = lab("*,K,LOINC,1,钾\n*,K,LOINC,2,钾")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "lab-codes.csv:4: * K already mapped on line 3");
    }

    #[test]
    fn icd10_lookup_ignores_case_and_rejects_non_codes() {
        let map =
            icd("I10.x00x003,高血压2级,I10.x00,原发性高血压\nE11.900,2型糖尿病,E11.900,2型糖尿病")
                .unwrap();
        let concept = map.lookup("i10.X00X003").unwrap();
        assert_eq!(
            (concept.system.as_str(), concept.code.as_str()),
            (ICD10_INSURANCE_SYSTEM, "I10.x00")
        );
        assert!(map.lookup("J18.900").is_none());
        for bad in ["I1.x00", "高血压", "I10.", "I10x00", ""] {
            let err = icd(&format!("{bad},n,I10.x00,n")).unwrap_err().to_string();
            assert!(
                err.starts_with("icd10-clinical-to-insurance.csv:3: clinical_code"),
                "{err}"
            );
        }
        let err = icd("I10.x00,a,I10.x00,a\ni10.X00,b,I10.x00,b")
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("already mapped on line 3"), "{err}");
    }
}
