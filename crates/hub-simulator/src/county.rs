//! The county's facilities, taken from the facility registry the normaliser and the monitor
//! load (`deploy/terminology/facilities.csv`), so that every simulated code is a registered one.

use hub_terminology::{Facility, FacilityLevel, SharedCentre, Terminology};

/// A facility outside the registry (a provincial hospital in Shenyang): the monitor places it by
/// the settlement's `mdtrtarea_admvs`.
pub const PROVINCIAL_HOSPITAL: (&str, &str) = ("H21010200907", "210102");

/// The facilities of one county and the out-of-county ones its residents use.
#[derive(Debug, Clone)]
pub struct County {
    /// GB/T 2260 code.
    pub code: String,
    /// County general and TCM hospitals (not the shared centres).
    pub hospitals: Vec<Facility>,
    /// Township and community health centres.
    pub centres: Vec<Facility>,
    /// Village clinics.
    pub villages: Vec<Facility>,
    /// The shared lab centre.
    pub lab: Facility,
    /// The shared imaging centre.
    pub imaging: Facility,
    /// Registered hospitals outside the county (city level).
    pub outside: Vec<Facility>,
    /// A designated pharmacy of the county, if registered.
    pub pharmacy: Option<Facility>,
}

/// Why the registry cannot host a simulated county.
#[derive(Debug, thiserror::Error)]
pub enum CountyError {
    /// A kind of facility the simulation needs is missing.
    #[error("the facility registry has no {0} in county {1}")]
    Missing(&'static str, String),
}

impl County {
    /// Picks the facilities of `code` from `terminology`, sorted by code (stable order).
    ///
    /// # Errors
    /// The county lacks a hospital, a primary-care centre, a village clinic, a shared lab or
    /// imaging centre, or there is no out-of-county hospital.
    pub fn from_registry(terminology: &Terminology, code: &str) -> Result<Self, CountyError> {
        let mut all: Vec<Facility> = terminology.facilities().cloned().collect();
        all.sort_by(|a, b| a.code.cmp(&b.code));
        let inside = |f: &&Facility| f.admdvs == code;
        let pick = |keep: &dyn Fn(&Facility) -> bool| -> Vec<Facility> {
            all.iter()
                .filter(inside)
                .filter(|f| keep(f))
                .cloned()
                .collect()
        };
        let missing = |what| CountyError::Missing(what, code.to_owned());
        let hospitals = pick(&|f| {
            matches!(
                f.level,
                FacilityLevel::CountyHospital | FacilityLevel::CountyTcmHospital
            ) && f.shared_centre.is_none()
        });
        let centres = pick(&|f| {
            matches!(
                f.level,
                FacilityLevel::TownshipCentre | FacilityLevel::CommunityCentre
            )
        });
        let villages = pick(&|f| f.level == FacilityLevel::VillageClinic);
        let centre = |kind| pick(&|f| f.shared_centre == Some(kind)).into_iter().next();
        let outside: Vec<Facility> = all
            .iter()
            .filter(|f| f.admdvs != code && f.level == FacilityLevel::OutOfCountyHospital)
            .cloned()
            .collect();
        let county = Self {
            code: code.to_owned(),
            lab: centre(SharedCentre::Lab).ok_or_else(|| missing("shared lab centre"))?,
            imaging: centre(SharedCentre::Imaging)
                .ok_or_else(|| missing("shared imaging centre"))?,
            pharmacy: pick(&|f| f.level == FacilityLevel::Pharmacy)
                .into_iter()
                .next(),
            hospitals,
            centres,
            villages,
            outside,
        };
        if county.hospitals.is_empty() {
            return Err(missing("county hospital"));
        }
        if county.centres.is_empty() {
            return Err(missing("township or community centre"));
        }
        if county.villages.is_empty() {
            return Err(missing("village clinic"));
        }
        if county.outside.is_empty() {
            return Err(missing("out-of-county hospital"));
        }
        Ok(county)
    }

    /// Every in-county facility that sends HL7 through a HIS feed (hospitals, centres, villages).
    pub fn his_senders(&self) -> impl Iterator<Item = &Facility> {
        self.hospitals
            .iter()
            .chain(&self.centres)
            .chain(&self.villages)
    }

    /// The registered facility `code`, if it is one of this county's or the outside ones.
    pub fn facility(&self, code: &str) -> Option<&Facility> {
        self.his_senders()
            .chain([&self.lab, &self.imaging])
            .chain(&self.outside)
            .chain(&self.pharmacy)
            .find(|f| f.code == code)
    }
}
