//! Residents and their households: valid synthetic resident ID numbers (GB 11643, MOD 11-2),
//! Chinese names, phones, the insured place and insurance number, a home township and village.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::county::County;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "于", "董", "曲", "姜", "宋", "谭", "韩", "孟", "隋", "丛",
];
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "军", "勇", "磊", "涛", "斌", "建国", "志强", "海峰", "国庆", "立军", "俊杰", "明",
    "浩", "宇轩", "子豪", "振华", "文博", "德福",
];
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "秀英", "秀兰", "桂芝", "玉梅", "淑珍", "丽娟", "雪", "婷",
    "欣怡", "梓涵", "春燕", "红霞", "海燕", "佳琪",
];
/// Places of first issue of residents born outside the county (Dalian districts, Heilongjiang).
const OTHER_BIRTHPLACES: &[&str] = &["210202", "210204", "230127", "210102"];
/// The insured place of residents insured in Dalian city (urban employees' scheme).
pub const CITY_INSURED_PLACE: &str = "210202";

/// GB 11643 MOD 11-2 weights and check characters.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A resident of the simulated county. Synthetic: no real person.
#[derive(Debug, Clone, Serialize)]
pub struct Resident {
    /// Index in the population (stable for a seed).
    pub index: usize,
    /// Household index.
    pub household: usize,
    /// Relation to the head: `head`, `spouse`, `child`, `parent`.
    pub relation: &'static str,
    /// 18-character resident ID number with a valid check character.
    pub id_number: String,
    /// Chinese name.
    pub name: String,
    /// GB/T 2261.1: `1` male, `2` female.
    pub sex: &'static str,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Mobile phone (11 digits).
    pub phone: String,
    /// Insured place (参保地), decides residence for the indicators.
    pub insured_place: String,
    /// Insurance scheme: `310` employees, `390` residents.
    pub insutype: &'static str,
    /// NHSA person number.
    pub psn_no: String,
    /// Home township or community centre (index into `County::centres`).
    pub centre: usize,
    /// Home village clinic (index into `County::villages`).
    pub village: usize,
}

impl Resident {
    /// Age in whole years on `day`.
    pub fn age_on(&self, day: NaiveDate) -> u32 {
        day.years_since(self.birth_date).unwrap_or(0)
    }

    /// The patient id of this resident at `facility` (each facility numbers its own patients).
    pub fn mrn(&self, facility: &str) -> String {
        let tail = facility
            .get(facility.len().saturating_sub(3)..)
            .unwrap_or("0");
        format!("P{tail}{:07}", self.index)
    }
}

/// The check character of 17 digits (MOD 11-2).
pub fn check_character(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    char::from(CHECK[(sum % 11) as usize])
}

/// A resident ID number: division, birth date, a sequence whose parity is the sex, check.
fn id_number(division: &str, birth: NaiveDate, sequence: u32, male: bool) -> String {
    let sequence = (sequence % 500) * 2 + u32::from(male);
    let digits = format!(
        "{division}{:04}{:02}{:02}{sequence:03}",
        birth.year(),
        birth.month(),
        birth.day()
    );
    let check = check_character(&digits);
    format!("{digits}{check}")
}

/// Draws the population: households of one to five people around a head of household.
pub fn population(
    rng: &mut ChaCha8Rng,
    county: &County,
    count: usize,
    insured_elsewhere_share: f64,
    today: NaiveDate,
) -> Vec<Resident> {
    let mut residents: Vec<Resident> = Vec::with_capacity(count);
    let mut issued = std::collections::HashSet::new();
    let mut household = 0;
    while residents.len() < count {
        let centre = rng.random_range(0..county.centres.len());
        let village = rng.random_range(0..county.villages.len());
        let city_insured = rng.random_bool(insured_elsewhere_share.clamp(0.0, 1.0));
        let surname = *SURNAMES.choose(rng).unwrap_or(&"王");
        let head_age = rng.random_range(28..80);
        let mut members: Vec<(&'static str, u32, bool, &str)> =
            vec![("head", head_age, true, surname)];
        let spouse_surname = *SURNAMES.choose(rng).unwrap_or(&"李");
        if rng.random_bool(0.8) {
            members.push((
                "spouse",
                head_age.saturating_sub(rng.random_range(0..5)),
                false,
                spouse_surname,
            ));
        }
        if head_age < 60 {
            for _ in 0..rng.random_range(0..3) {
                let male = rng.random_bool(0.5);
                members.push((
                    "child",
                    rng.random_range(0..(head_age - 20).max(1)),
                    male,
                    surname,
                ));
            }
        } else if rng.random_bool(0.2) {
            members.push((
                "parent",
                head_age + rng.random_range(20..28),
                rng.random_bool(0.4),
                surname,
            ));
        }
        for (relation, age, male, family) in members {
            if residents.len() >= count {
                break;
            }
            let index = residents.len();
            let birth = today
                .checked_sub_days(chrono::Days::new(
                    u64::from(age) * 365 + rng.random_range(0..365),
                ))
                .unwrap_or(today);
            let division = if rng.random_bool(0.85) {
                county.code.as_str()
            } else {
                OTHER_BIRTHPLACES.choose(rng).copied().unwrap_or("210202")
            };
            let male = if relation == "head" {
                rng.random_bool(0.7)
            } else {
                male
            };
            let given = if male { GIVEN_MALE } else { GIVEN_FEMALE };
            let name = format!("{family}{}", given.choose(rng).copied().unwrap_or("明"));
            let insured_place = if city_insured {
                CITY_INSURED_PLACE.to_owned()
            } else {
                county.code.clone()
            };
            let insutype = if (18..60).contains(&age) && rng.random_bool(0.3) {
                "310"
            } else {
                "390"
            };
            // Same place, birthday and sequence would repeat a number: take the next sequence.
            let mut sequence = index as u32;
            let mut number = id_number(division, birth, sequence, male);
            while !issued.insert(number.clone()) {
                sequence += 1;
                number = id_number(division, birth, sequence, male);
            }
            residents.push(Resident {
                index,
                household,
                relation,
                id_number: number,
                name,
                sex: if male { "1" } else { "2" },
                birth_date: birth,
                phone: format!(
                    "1{}{:08}",
                    ["39", "58", "86", "37"][index % 4],
                    rng.random_range(0..100_000_000u32)
                ),
                psn_no: format!("{insured_place}{:020}", 100_000 + index),
                insured_place,
                insutype,
                centre,
                village,
            });
        }
        household += 1;
    }
    residents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_character_of_the_standard_example() {
        // GB 11643-1999 appendix example: 11010519491231002X.
        assert_eq!(check_character("11010519491231002"), 'X');
        let birth = NaiveDate::from_ymd_opt(1965, 3, 14).unwrap();
        let id = id_number("210281", birth, 7, false);
        assert!(hub_identity::ResidentId::parse(&id).is_ok(), "{id}");
        assert_eq!(
            hub_identity::ResidentId::parse(&id).unwrap().sex(),
            hub_identity::Sex::Female
        );
    }
}
