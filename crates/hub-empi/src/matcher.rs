//! The scored match on demographics, for patients without a known identifier.
//!
//! A simple Fellegi-Sunter-style agreement score over four fields with fixed weights. Exact
//! agreement only (on pseudonyms, so no edit distance): Chinese names are short and a one-
//! character difference is usually a different person, while transcription variants are rare in
//! HIS data entered from the ID card reader.
//!
//! | agreement | weight |
//! |---|---|
//! | name | 0.35 |
//! | birth date | 0.30 |
//! | phone | 0.25 |
//! | sex | 0.10 |
//!
//! With the default thresholds (link at 0.90, review from 0.60): name + birth date + phone links
//! (0.90); name + birth date + sex (0.75) is only a review, because same-name same-birthday pairs
//! are common in a county of a million people; name + birth date alone (0.65) is a review; name
//! and phone without a birth date (0.60) is a review; anything less is a new person. Disagreement
//! on sex, or two different valid resident ID numbers, rules a candidate out.

use chrono::NaiveDate;

/// Score at or above which a candidate is linked automatically.
pub const DEFAULT_LINK_THRESHOLD: f64 = 0.90;
/// Score at or above which (and below the link threshold) a review is queued.
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 0.60;

// Weights in hundredths, summed as integers so that thresholds compare exactly
// (0.35 + 0.30 + 0.25 is 0.8999999999999999 in floating point).
const NAME: u32 = 35;
const BIRTH_DATE: u32 = 30;
const PHONE: u32 = 25;
const SEX: u32 = 10;

/// The demographic features compared (pseudonymised name and phone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features<'a> {
    /// Name pseudonym.
    pub name_key: Option<&'a str>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Sex code `1`/`2`.
    pub sex_code: Option<&'a str>,
    /// Phone pseudonym.
    pub phone_key: Option<&'a str>,
    /// Valid resident ID number pseudonym.
    pub resident_id: Option<&'a str>,
}

/// The agreement score of two feature sets in [0, 1]; 0 when they cannot be the same person.
pub fn score(a: &Features<'_>, b: &Features<'_>) -> f64 {
    let differ = |x: Option<&str>, y: Option<&str>| matches!((x, y), (Some(x), Some(y)) if x != y);
    if differ(a.resident_id, b.resident_id) || differ(a.sex_code, b.sex_code) {
        return 0.0;
    }
    let agree = |x: Option<&str>, y: Option<&str>| matches!((x, y), (Some(x), Some(y)) if x == y);
    let mut total = 0;
    if agree(a.name_key, b.name_key) {
        total += NAME;
    }
    if a.birth_date.is_some() && a.birth_date == b.birth_date {
        total += BIRTH_DATE;
    }
    if agree(a.phone_key, b.phone_key) {
        total += PHONE;
    }
    if agree(a.sex_code, b.sex_code) {
        total += SEX;
    }
    f64::from(total) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(1980, 5, 1)
    }

    fn person<'a>(name: &'a str, phone: Option<&'a str>, sex: &'a str) -> Features<'a> {
        Features {
            name_key: Some(name),
            birth_date: date(),
            sex_code: Some(sex),
            phone_key: phone,
            resident_id: None,
        }
    }

    #[test]
    fn the_hard_cases_land_where_the_table_says() {
        let incoming = person("n", Some("p"), "1");
        let all = score(&incoming, &person("n", Some("p"), "1"));
        assert!(
            all >= DEFAULT_LINK_THRESHOLD,
            "everything agrees: link ({all})"
        );

        let namesake = score(&person("n", None, "1"), &person("n", Some("q"), "1"));
        assert!(
            (DEFAULT_REVIEW_THRESHOLD..DEFAULT_LINK_THRESHOLD).contains(&namesake),
            "same name, birth date and sex: review, never an automatic link ({namesake})"
        );

        let stranger = score(&person("n", None, "1"), &person("m", None, "1"));
        assert!(
            stranger < DEFAULT_REVIEW_THRESHOLD,
            "different name: new person ({stranger})"
        );
    }

    #[test]
    fn different_sex_or_resident_id_rules_a_candidate_out() {
        assert_eq!(
            score(&person("n", Some("p"), "1"), &person("n", Some("p"), "2")),
            0.0
        );
        let a = Features {
            resident_id: Some("id-a"),
            ..person("n", Some("p"), "1")
        };
        let b = Features {
            resident_id: Some("id-b"),
            ..person("n", Some("p"), "1")
        };
        assert_eq!(score(&a, &b), 0.0);
    }
}
