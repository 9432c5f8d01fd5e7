//! The two configuration files of the monitor besides its settings: indicator targets per
//! province and year (`targets.yaml`), and critical lab values per test code
//! (`critical-values.yaml`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Why a rules file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file is missing or does not parse.
    #[error("{file}: {source}")]
    Load {
        /// The file.
        file: String,
        /// Why.
        source: hub_config::ConfigError,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// `targets.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// One entry per province and year.
    pub targets: Vec<TargetSet>,
}

/// The targets of one province for one year.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSet {
    /// Two-digit province code (first two digits of the county code).
    pub province: String,
    /// Calendar year.
    pub year: i32,
    /// Indicator id to target value (fractions for shares).
    pub values: BTreeMap<String, f64>,
}

impl Targets {
    /// Loads and checks the file.
    ///
    /// # Errors
    /// A missing or malformed file, or a share outside 0..=1.
    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let targets: Self = load(path)?;
        for set in &targets.targets {
            if let Some((id, v)) = set.values.iter().find(|(_, v)| !(0.0..=1.0).contains(*v)) {
                return Err(RulesError::Invalid(format!(
                    "targets: {id} = {v} for {}/{} is not a fraction in 0..1",
                    set.province, set.year
                )));
            }
        }
        Ok(targets)
    }

    /// The targets for `county` in `year`: its province's entry for that year, else the latest
    /// earlier year.
    pub fn for_county(&self, county: &str, year: i32) -> Option<&BTreeMap<String, f64>> {
        let province = county.get(..2)?;
        self.targets
            .iter()
            .filter(|s| s.province == province && s.year <= year)
            .max_by_key(|s| s.year)
            .map(|s| &s.values)
    }
}

/// `critical-values.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalValues {
    /// Limits per test.
    pub tests: Vec<CriticalLimit>,
}

/// The critical limits of one test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalLimit {
    /// Normalised code (LOINC or the county dictionary).
    pub code: String,
    /// Local codes that mean the same test.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Unit the limits are in; results in another unit are not compared.
    pub unit: Option<String>,
    /// Values at or below this are critical.
    pub low: Option<f64>,
    /// Values at or above this are critical.
    pub high: Option<f64>,
}

impl CriticalValues {
    /// Loads the file.
    ///
    /// # Errors
    /// A missing or malformed file, or a test with neither limit.
    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let values: Self = load(path)?;
        if let Some(t) = values
            .tests
            .iter()
            .find(|t| t.low.is_none() && t.high.is_none())
        {
            return Err(RulesError::Invalid(format!(
                "critical-values: {} has neither low nor high",
                t.code
            )));
        }
        Ok(values)
    }

    /// The limits of the test with this code (normalised or alias).
    pub fn find(&self, code: &str) -> Option<&CriticalLimit> {
        self.tests
            .iter()
            .find(|t| t.code == code || t.aliases.iter().any(|a| a == code))
    }
}

fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RulesError> {
    hub_config::load_layers(Some(path), Vec::new()).map_err(|source| RulesError::Load {
        file: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(file: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/monitor")
            .join(file)
    }

    #[test]
    fn the_deployed_files_load() {
        let targets = Targets::load(&deploy("targets.yaml")).unwrap();
        let t = targets.for_county("210281", 2026).unwrap();
        assert_eq!(t.get("in_county_visit_rate"), Some(&0.9));
        assert_eq!(t.get("primary_care_visit_share"), Some(&0.65));
        assert!(
            targets.for_county("210281", 2027).is_some(),
            "latest earlier year"
        );
        assert!(targets.for_county("210281", 2025).is_none());
        assert!(targets.for_county("110101", 2026).is_none());
        let critical = CriticalValues::load(&deploy("critical-values.yaml")).unwrap();
        assert_eq!(critical.find("K").unwrap().code, "2823-3");
        assert_eq!(critical.find("2823-3").unwrap().high, Some(6.2));
        assert!(critical.find("ALT").is_none());
    }
}
