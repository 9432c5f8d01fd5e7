//! GB 11643-1999 resident ID numbers.

use chrono::{Datelike, NaiveDate};

/// Weights of the 17 leading digits: 2^(18-i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder of the weighted sum modulo 11.
const CHECK: &[u8; 11] = b"10X98765432";

/// Why a string is not a valid resident ID number. The messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Neither 18 nor 15 characters.
    #[error("a resident ID number has 18 characters (or 15 for the 1989 format), not {0}")]
    Length(usize),
    /// A character other than a digit (or a final X).
    #[error("a resident ID number is digits with an optional final X")]
    Character,
    /// The 8 birth-date digits are not a real date.
    #[error("the birth date inside the ID number is not a real date")]
    BirthDate,
    /// The check character does not match (a typo, or a made-up number).
    #[error("the check character does not match (ISO 7064 MOD 11-2)")]
    CheckCharacter,
}

/// Sex as recorded by the sequence code of a resident ID number (odd: male, even: female).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Odd sequence code.
    Male,
    /// Even sequence code.
    Female,
}

impl Sex {
    /// The GB/T 2261.1 code: `1` male, `2` female.
    pub const fn gb2261_code(self) -> &'static str {
        match self {
            Self::Male => "1",
            Self::Female => "2",
        }
    }
}

/// A validated 18-character resident ID number (upper-case check character).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId([u8; 18]);

impl std::fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data: Debug output shows the masked form only.
        write!(f, "ResidentId({})", crate::mask::id_number(self.as_str()))
    }
}

impl ResidentId {
    /// Validates an 18-character number (lower-case `x` accepted) or upgrades a 15-digit one.
    /// Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// Wrong length, a non-digit, an impossible birth date, or a wrong check character.
    pub fn parse(input: &str) -> Result<Self, IdNumberError> {
        let bytes = input.trim().as_bytes();
        match bytes.len() {
            18 => Self::parse_18(bytes),
            15 => Self::upgrade_15(bytes),
            n => Err(IdNumberError::Length(n)),
        }
    }

    fn parse_18(bytes: &[u8]) -> Result<Self, IdNumberError> {
        let mut id = [0u8; 18];
        id.copy_from_slice(bytes);
        id[17] = id[17].to_ascii_uppercase();
        if !id[..17].iter().all(u8::is_ascii_digit) || !(id[17].is_ascii_digit() || id[17] == b'X')
        {
            return Err(IdNumberError::Character);
        }
        let digits: &[u8; 17] = id[..17].try_into().map_err(|_| IdNumberError::Character)?;
        birth_date(&id[6..14]).ok_or(IdNumberError::BirthDate)?;
        if check_character(digits) != id[17] {
            return Err(IdNumberError::CheckCharacter);
        }
        Ok(Self(id))
    }

    /// GB 11643-1989 numbers: `AAAAAA YYMMDD SSS`; insert `19` before the year and append the
    /// check character.
    fn upgrade_15(bytes: &[u8]) -> Result<Self, IdNumberError> {
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(IdNumberError::Character);
        }
        let mut id = [0u8; 18];
        id[..6].copy_from_slice(&bytes[..6]);
        id[6..8].copy_from_slice(b"19");
        id[8..17].copy_from_slice(&bytes[6..15]);
        birth_date(&id[6..14]).ok_or(IdNumberError::BirthDate)?;
        let digits: &[u8; 17] = id[..17].try_into().map_err(|_| IdNumberError::Character)?;
        id[17] = check_character(digits);
        Ok(Self(id))
    }

    /// The number as text (18 characters, upper-case X).
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and X are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The birth date recorded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        birth_date(&self.0[6..14]).unwrap_or_default()
    }

    /// The sex recorded by the sequence code.
    pub fn sex(&self) -> Sex {
        if (self.0[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The GB/T 2260 division code where the number was first issued. This is NOT where the
    /// person lives or is insured: residence comes from the insured place (`insuplc_admdvs`).
    pub fn issuing_division(&self) -> &str {
        &self.as_str()[..6]
    }
}

/// The check character for 17 ASCII digits.
pub fn check_character(digits: &[u8; 17]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

fn birth_date(yyyymmdd: &[u8]) -> Option<NaiveDate> {
    let text = std::str::from_utf8(yyyymmdd).ok()?;
    let year = text[..4].parse().ok()?;
    let month = text[4..6].parse().ok()?;
    let day = text[6..8].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day).filter(|d| d.year_ce().1 >= 1850)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_standards_test_vectors() {
        for valid in [
            "11010519491231002X",
            "440524188001010014",
            "230127197908177456",
            "110101202311012176",
        ] {
            let id = ResidentId::parse(valid).unwrap_or_else(|e| panic!("{valid}: {e}"));
            assert_eq!(id.as_str(), valid);
        }
    }

    #[test]
    fn rejects_a_wrong_check_character() {
        assert_eq!(
            ResidentId::parse("210102199003077777"),
            Err(IdNumberError::CheckCharacter)
        );
        assert!(
            ResidentId::parse("210102199003077774").is_ok(),
            "4 is the right check digit"
        );
    }

    #[test]
    fn accepts_lower_case_x_and_stores_upper_case() {
        assert_eq!(
            ResidentId::parse("11010519491231002x").unwrap().as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn upgrades_15_digit_numbers() {
        assert_eq!(
            ResidentId::parse("310112850409522").unwrap().as_str(),
            "310112198504095227"
        );
    }

    #[test]
    fn rejects_impossible_dates_lengths_and_characters() {
        assert_eq!(
            ResidentId::parse("110105194902300021"),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(
            ResidentId::parse("1101051949"),
            Err(IdNumberError::Length(10))
        );
        assert_eq!(
            ResidentId::parse("11010519491231002Y"),
            Err(IdNumberError::Character)
        );
        assert_eq!(
            ResidentId::parse("11010519491231X02X"),
            Err(IdNumberError::Character)
        );
        assert_eq!(ResidentId::parse("一二三"), Err(IdNumberError::Length(9)));
    }

    #[test]
    fn derives_birth_date_sex_and_issuing_division() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.sex(), Sex::Female, "sequence 002 is even");
        assert_eq!(id.issuing_division(), "110105");
        assert_eq!(
            ResidentId::parse("440524188001010014").unwrap().sex(),
            Sex::Male
        );
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let valid = *b"230127197908177456";
        for position in 0..17 {
            for digit in b'0'..=b'9' {
                let mut typo = valid;
                if typo[position] == digit {
                    continue;
                }
                typo[position] = digit;
                let text = std::str::from_utf8(&typo).unwrap();
                assert!(
                    ResidentId::parse(text).is_err(),
                    "{position}/{digit} slipped through"
                );
            }
        }
    }

    #[test]
    fn debug_output_is_masked() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "ResidentId(110105********002X)");
    }

    /// Property tests over 10,000 generated cases each, with a fixed-seed SplitMix64 generator
    /// (deterministic, no extra dependency): a failure names its case and reproduces exactly.
    mod properties {
        use super::*;

        const CASES: usize = 10_000;

        struct SplitMix64(u64);

        impl SplitMix64 {
            fn next(&mut self) -> u64 {
                self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            }

            fn below(&mut self, n: u64) -> u64 {
                self.next() % n
            }
        }

        /// A random valid date from 1900-01-01 to 2025-12-31.
        fn date(rng: &mut SplitMix64) -> NaiveDate {
            let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
            let last = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
            let span = (last - first).num_days() as u64 + 1;
            first + chrono::Days::new(rng.below(span))
        }

        /// A random valid 18-character number and its birth date.
        fn valid(rng: &mut SplitMix64) -> (String, NaiveDate) {
            let born = date(rng);
            let body = format!(
                "{:06}{}{:03}",
                rng.below(1_000_000),
                born.format("%Y%m%d"),
                rng.below(1_000)
            );
            let digits: &[u8; 17] = body.as_bytes().try_into().unwrap();
            let check = char::from(check_character(digits));
            (format!("{body}{check}"), born)
        }

        #[test]
        fn valid_numbers_parse_and_round_trip() {
            let mut rng = SplitMix64(0x11643);
            for case in 0..CASES {
                let (text, born) = valid(&mut rng);
                let id = ResidentId::parse(&text).unwrap_or_else(|e| panic!("case {case}: {e}"));
                assert_eq!(id.as_str(), text, "case {case}");
                assert_eq!(id.birth_date(), born, "case {case}");
                assert_eq!(
                    ResidentId::parse(id.as_str()).as_ref(),
                    Ok(&id),
                    "case {case}"
                );
                let lower = text.to_ascii_lowercase();
                assert_eq!(ResidentId::parse(&lower).as_ref(), Ok(&id), "case {case}");
            }
        }

        #[test]
        fn every_single_substitution_and_adjacent_transposition_is_rejected() {
            let alphabet = b"0123456789X";
            let mut rng = SplitMix64(0x7064);
            for case in 0..CASES {
                let (text, _) = valid(&mut rng);
                let bytes = text.as_bytes();
                // One random substitution and one random transposition per case, plus every
                // position of both for the first cases.
                let exhaustive = case < 200;
                for position in 0..18 {
                    if !exhaustive && position != rng.below(18) as usize {
                        continue;
                    }
                    for &replacement in alphabet {
                        let mut typo = bytes.to_vec();
                        typo[position] = replacement;
                        if typo == bytes {
                            continue;
                        }
                        let typo = String::from_utf8(typo).unwrap();
                        assert!(
                            ResidentId::parse(&typo).is_err(),
                            "case {case}: substitution at {position} slipped through"
                        );
                    }
                    if position < 17 && bytes[position] != bytes[position + 1] {
                        let mut swapped = bytes.to_vec();
                        swapped.swap(position, position + 1);
                        let swapped = String::from_utf8(swapped).unwrap();
                        assert!(
                            ResidentId::parse(&swapped).is_err(),
                            "case {case}: transposition at {position} slipped through"
                        );
                    }
                }
            }
        }

        #[test]
        fn fifteen_digit_upgrades_are_valid_with_the_same_birth_date() {
            let mut rng = SplitMix64(0x1989);
            for case in 0..CASES {
                // 15-digit numbers were issued to people born in the 1900s.
                let born = loop {
                    let d = date(&mut rng);
                    if d.year() <= 1999 {
                        break d;
                    }
                };
                let old = format!(
                    "{:06}{}{:03}",
                    rng.below(1_000_000),
                    born.format("%y%m%d"),
                    rng.below(1_000)
                );
                let id = ResidentId::parse(&old).unwrap_or_else(|e| panic!("case {case}: {e}"));
                assert_eq!(id.as_str().len(), 18);
                assert_eq!(id.birth_date(), born, "case {case}");
                assert_eq!(&id.as_str()[..6], &old[..6], "case {case}");
                assert_eq!(&id.as_str()[14..17], &old[12..15], "case {case}");
                let reparsed = ResidentId::parse(id.as_str());
                assert_eq!(
                    reparsed.as_ref(),
                    Ok(&id),
                    "case {case}: the upgrade is valid"
                );
            }
        }
    }
}
