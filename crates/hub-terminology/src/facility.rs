//! The facility registry (`facilities.csv`): each facility's level, GB/T 2260 division and role,
//! which the indicators (primary-care share, in-county share) and referral directions need.

use std::collections::HashMap;

use crate::error::TerminologyError;
use crate::file::MapFile;

/// The registry file name.
pub const FACILITIES_FILE: &str = "facilities.csv";
pub(crate) const FACILITIES_HEADER: &[&str] = &[
    "code",
    "name",
    "level",
    "admdvs",
    "primary_care",
    "shared_centre",
];

/// Kind and tier of a facility in the county medical community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FacilityLevel {
    /// County general hospital (县级综合医院), usually the community's lead hospital.
    CountyHospital,
    /// County hospital of traditional Chinese medicine (县中医医院).
    CountyTcmHospital,
    /// Township health centre (乡镇卫生院).
    TownshipCentre,
    /// Community health service centre or station (社区卫生服务中心/站).
    CommunityCentre,
    /// Village clinic (村卫生室).
    VillageClinic,
    /// A hospital outside the county (city, provincial), ranked above the county's hospitals.
    OutOfCountyHospital,
    /// Retail pharmacy (定点零售药店): excluded from the fund-share indicators, no tier.
    Pharmacy,
}

impl FacilityLevel {
    const ALL: [Self; 7] = [
        Self::CountyHospital,
        Self::CountyTcmHospital,
        Self::TownshipCentre,
        Self::CommunityCentre,
        Self::VillageClinic,
        Self::OutOfCountyHospital,
        Self::Pharmacy,
    ];

    /// The spelling used in `facilities.csv`, e.g. `township_centre`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CountyHospital => "county_hospital",
            Self::CountyTcmHospital => "county_tcm_hospital",
            Self::TownshipCentre => "township_centre",
            Self::CommunityCentre => "community_centre",
            Self::VillageClinic => "village_clinic",
            Self::OutOfCountyHospital => "out_of_county_hospital",
            Self::Pharmacy => "pharmacy",
        }
    }

    /// Parses the spelling used in `facilities.csv`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == text)
    }

    /// Primary care (基层医疗卫生机构) as the indicators count it: township centres, community
    /// centres and stations, village clinics.
    pub const fn is_primary_care(self) -> bool {
        matches!(
            self,
            Self::TownshipCentre | Self::CommunityCentre | Self::VillageClinic
        )
    }

    /// Tier for referral directions: village 1 < township/community 2 < county hospitals 3 <
    /// out-of-county 4. Pharmacies have none (a referral to one has no direction).
    pub const fn tier(self) -> Option<u8> {
        match self {
            Self::VillageClinic => Some(1),
            Self::TownshipCentre | Self::CommunityCentre => Some(2),
            Self::CountyHospital | Self::CountyTcmHospital => Some(3),
            Self::OutOfCountyHospital => Some(4),
            Self::Pharmacy => None,
        }
    }
}

/// A shared diagnostic centre of the county medical community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SharedCentre {
    /// The shared clinical laboratory (检验中心).
    Lab,
    /// The shared imaging / ECG centre (影像中心).
    Imaging,
}

/// One registered facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    /// Facility code, NHSA `fixmedins_code` style (e.g. `H21028100001`).
    pub code: String,
    /// Registered name (Chinese).
    pub name: String,
    /// Kind and tier.
    pub level: FacilityLevel,
    /// GB/T 2260 six-digit division of the facility's location (county level).
    pub admdvs: String,
    /// True for primary-care institutions (consistent with `level`, checked on load).
    pub primary_care: bool,
    /// The shared centre this facility is, if any.
    pub shared_centre: Option<SharedCentre>,
}

impl Facility {
    /// The county-level GB/T 2260 code of the facility's location (its `admdvs`).
    pub fn county(&self) -> &str {
        &self.admdvs
    }

    /// The prefecture-level code (`2102` for Dalian), the first four digits of `admdvs`.
    pub fn prefecture(&self) -> &str {
        self.admdvs.get(..4).unwrap_or(&self.admdvs)
    }

    /// True for township centres, community centres and village clinics.
    pub fn is_primary_care(&self) -> bool {
        self.primary_care
    }

    /// True when the facility is located in the county `county_admdvs` (e.g. `210281`).
    pub fn in_county(&self, county_admdvs: &str) -> bool {
        self.admdvs == county_admdvs
    }
}

/// Builds the registry from the parsed file, checking every row.
pub(crate) fn registry(file: &MapFile) -> Result<HashMap<String, Facility>, TerminologyError> {
    let mut facilities: HashMap<String, (u64, Facility)> = HashMap::new();
    for row in &file.rows {
        let bad = |reason: String| TerminologyError::invalid(FACILITIES_FILE, row.line, reason);
        let [code, name, level, admdvs, primary_care, shared_centre] = &row.fields[..] else {
            return Err(bad("wrong number of columns".into()));
        };
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(
                "code: must be non-empty ASCII letters and digits".into()
            ));
        }
        if name.is_empty() {
            return Err(bad("name: empty".into()));
        }
        let level = FacilityLevel::parse(level)
            .ok_or_else(|| bad(format!("level: unknown level `{level}`")))?;
        if !is_division_code(admdvs) {
            return Err(bad("admdvs: must be a 6-digit GB/T 2260 code".into()));
        }
        let primary_care = match primary_care.as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(bad("primary_care: must be true or false".into())),
        };
        if primary_care != level.is_primary_care() {
            return Err(bad(format!(
                "primary_care: {primary_care} contradicts level {}",
                level.as_str()
            )));
        }
        let shared_centre = match shared_centre.as_str() {
            "lab" => Some(SharedCentre::Lab),
            "imaging" => Some(SharedCentre::Imaging),
            "none" => None,
            _ => return Err(bad("shared_centre: must be lab, imaging or none".into())),
        };
        let facility = Facility {
            code: code.clone(),
            name: name.clone(),
            level,
            admdvs: admdvs.clone(),
            primary_care,
            shared_centre,
        };
        if let Some((first, _)) = facilities.get(code) {
            return Err(bad(format!(
                "code: {code} already registered on line {first}"
            )));
        }
        facilities.insert(code.clone(), (row.line, facility));
    }
    Ok(facilities
        .into_iter()
        .map(|(code, (_, f))| (code, f))
        .collect())
}

/// Six ASCII digits.
pub(crate) fn is_division_code(text: &str) -> bool {
    text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse;

    fn load(rows: &str) -> Result<HashMap<String, Facility>, TerminologyError> {
        let text = format!("# version: 1\n{}\n{rows}", FACILITIES_HEADER.join(","));
        registry(&parse(FACILITIES_FILE, &text, FACILITIES_HEADER)?)
    }

    #[test]
    fn parses_levels_divisions_and_roles() {
        let registry = load(
            "H21028100011,复州城镇中心卫生院,township_centre,210281,true,none\n\
             H21028100003,检验中心,county_hospital,210281,false,lab\n\
             H21020200001,大连医大一院,out_of_county_hospital,210202,false,none\n",
        )
        .unwrap();
        let township = &registry["H21028100011"];
        assert!(township.is_primary_care() && township.in_county("210281"));
        assert_eq!(
            (township.county(), township.prefecture()),
            ("210281", "2102")
        );
        assert_eq!(
            registry["H21028100003"].shared_centre,
            Some(SharedCentre::Lab)
        );
        let dalian = &registry["H21020200001"];
        assert!(!dalian.in_county("210281") && !dalian.is_primary_care());
        assert_eq!(dalian.level.tier(), Some(4));
    }

    #[test]
    fn tiers_order_village_township_county_out_of_county() {
        use FacilityLevel::*;
        let tier = |l: FacilityLevel| l.tier();
        assert!(tier(VillageClinic) < tier(TownshipCentre));
        assert_eq!(tier(TownshipCentre), tier(CommunityCentre));
        assert!(tier(CommunityCentre) < tier(CountyHospital));
        assert_eq!(tier(CountyHospital), tier(CountyTcmHospital));
        assert!(tier(CountyTcmHospital) < tier(OutOfCountyHospital));
        assert_eq!(tier(Pharmacy), None);
        for level in FacilityLevel::ALL {
            assert_eq!(FacilityLevel::parse(level.as_str()), Some(level));
        }
    }

    #[test]
    fn bad_rows_name_file_line_and_column() {
        let cases = [
            (
                "H1,甲,hospital,210281,false,none",
                "facilities.csv:3: level: unknown level",
            ),
            (
                "H1,甲,county_hospital,21028,false,none",
                "facilities.csv:3: admdvs:",
            ),
            (
                "H1,甲,county_hospital,210281,yes,none",
                "facilities.csv:3: primary_care: must",
            ),
            (
                "H1,甲,county_hospital,210281,true,none",
                "contradicts level county_hospital",
            ),
            (
                "H1,甲,county_hospital,210281,false,ecg",
                "facilities.csv:3: shared_centre:",
            ),
            (
                "H 1,甲,county_hospital,210281,false,none",
                "facilities.csv:3: code:",
            ),
            (
                "H1,,county_hospital,210281,false,none",
                "facilities.csv:3: name: empty",
            ),
        ];
        for (row, expected) in cases {
            let err = load(row).unwrap_err().to_string();
            assert!(err.contains(expected), "{row}: {err}");
        }
        let dup = "H1,甲,county_hospital,210281,false,none\nH1,乙,pharmacy,210281,false,none";
        let err = load(dup).unwrap_err().to_string();
        assert_eq!(
            err,
            "facilities.csv:4: code: H1 already registered on line 3"
        );
    }
}
