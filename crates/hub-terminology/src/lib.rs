//! The hub's terminology: versioned code maps and the facility registry, loaded from a folder
//! (`deploy/terminology/`) and applied by the normaliser to every canonical event.
//!
//! Files (UTF-8 CSV, each starting with a `# version: <version>` line, then `#` comments, a
//! header row and data rows):
//! - `facilities.csv`: the facility registry (level, GB/T 2260 division, primary care, shared
//!   centre), see [`facility`];
//! - `lab-codes.csv`: local lab item codes to the county lab dictionary or LOINC;
//! - `icd10-clinical-to-insurance.csv`: ICD-10 national clinical 2.0 to NHSA insurance 2.0.
//!
//! Each file's version is reported by [`Terminology::versions`], and every event whose code was
//! mapped records `<map>@<version>` in its `terminology_version` field, so a replay after a map
//! change can be told apart. What [`Terminology::apply`] does per event type is documented in
//! [`apply`]. Loading checks every row and stops at the first bad one with the file and line.
//!
//! Layout: `file.rs` (the versioned CSV format), `facility.rs`, `codes.rs` (code maps),
//! `apply.rs` (mapping events), `error.rs`.

pub mod apply;
mod codes;
mod error;
pub mod facility;
mod file;

use std::collections::HashMap;
use std::path::Path;

pub use apply::{MapOutcome, UnmappedCode};
pub use codes::{
    ANY_FACILITY, Concept, ICD10_CLINICAL_SYSTEM, ICD10_FILE, ICD10_INSURANCE_SYSTEM,
    LAB_CODES_FILE,
};
pub use error::TerminologyError;
pub use facility::{FACILITIES_FILE, Facility, FacilityLevel, SharedCentre};

use codes::{Icd10Map, LabCodes};

/// The version of each loaded map file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// Version of `facilities.csv`.
    pub facilities: String,
    /// Version of `lab-codes.csv`.
    pub lab_codes: String,
    /// Version of `icd10-clinical-to-insurance.csv`.
    pub icd10_clinical_to_insurance: String,
}

impl Versions {
    /// All versions in one bounded string, for a log line or an info metric:
    /// `facilities@2026-11-01,lab-codes@2026-11-01,icd10-clinical-to-insurance@2026-11-01`.
    pub fn summary(&self) -> String {
        format!(
            "facilities@{},lab-codes@{},icd10-clinical-to-insurance@{}",
            self.facilities, self.lab_codes, self.icd10_clinical_to_insurance
        )
    }
}

/// Loaded code maps and facility registry. Immutable: to change a map, load a new one.
#[derive(Debug)]
pub struct Terminology {
    facilities: HashMap<String, Facility>,
    lab: LabCodes,
    icd10: Icd10Map,
    versions: Versions,
    lab_tag: String,
    icd10_tag: String,
}

impl Terminology {
    /// Loads `facilities.csv`, `lab-codes.csv` and `icd10-clinical-to-insurance.csv` from `dir`.
    ///
    /// # Errors
    /// A missing or unreadable file, a file that is not UTF-8, a missing version line, or a bad
    /// row: the error names the file and line.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, TerminologyError> {
        let dir = dir.as_ref();
        let facilities = read(dir, FACILITIES_FILE)?;
        let lab = read(dir, LAB_CODES_FILE)?;
        let icd10 = read(dir, ICD10_FILE)?;
        Self::parse(&facilities, &lab, &icd10)
    }

    /// Builds the terminology from the three files' contents (for tests and embedded defaults).
    ///
    /// # Errors
    /// As [`Terminology::load`], except for I/O.
    pub fn parse(facilities: &str, lab_codes: &str, icd10: &str) -> Result<Self, TerminologyError> {
        let facility_file = file::parse(FACILITIES_FILE, facilities, facility::FACILITIES_HEADER)?;
        let facilities = facility::registry(&facility_file)?;
        let lab_file = file::parse(LAB_CODES_FILE, lab_codes, codes::LAB_CODES_HEADER)?;
        let lab = LabCodes::parse(&lab_file, |code| facilities.contains_key(code))?;
        let icd10_file = file::parse(ICD10_FILE, icd10, codes::ICD10_HEADER)?;
        let icd10 = Icd10Map::parse(&icd10_file)?;
        let versions = Versions {
            facilities: facility_file.version,
            lab_codes: lab_file.version,
            icd10_clinical_to_insurance: icd10_file.version,
        };
        Ok(Self {
            lab_tag: format!("lab-codes@{}", versions.lab_codes),
            icd10_tag: format!(
                "icd10-clinical-to-insurance@{}",
                versions.icd10_clinical_to_insurance
            ),
            facilities,
            lab,
            icd10,
            versions,
        })
    }

    /// The registered facility with this code.
    pub fn facility(&self, code: &str) -> Option<&Facility> {
        self.facilities.get(code)
    }

    /// Every registered facility, in no particular order.
    pub fn facilities(&self) -> impl Iterator<Item = &Facility> {
        self.facilities.values()
    }

    /// The version of each map file.
    pub fn versions(&self) -> &Versions {
        &self.versions
    }

    /// The insurance 2.0 concept for an ICD-10 clinical 2.0 code, if the map has one.
    pub fn insurance_diagnosis(&self, clinical_code: &str) -> Option<&Concept> {
        self.icd10.lookup(clinical_code)
    }

    /// The target concept of a local lab code sent by `facility`, if the map has one.
    pub fn lab_concept(&self, facility: &str, local_code: &str) -> Option<&Concept> {
        self.lab.lookup(facility, local_code)
    }
}

/// Reads one file as UTF-8, naming the line of the first bad byte otherwise.
fn read(dir: &Path, name: &str) -> Result<String, TerminologyError> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|source| TerminologyError::Io { path, source })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count() as u64;
        TerminologyError::invalid(name, line, "not UTF-8 (save the file as UTF-8, not GBK)")
    })
}
