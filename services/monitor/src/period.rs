//! Reporting periods: a calendar month, or the year to the end of a month, in local time.

use chrono::{Datelike, NaiveDate};

/// A calendar month, e.g. `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
}

/// Month only, or January to the month inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The month.
    Month,
    /// Year to date: January 1st to the end of the month.
    YearToDate,
}

impl Scope {
    /// Label used in metrics and JSON: `month` or `ytd`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::YearToDate => "ytd",
        }
    }
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Self> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let month = Self {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
        };
        NaiveDate::from_ymd_opt(month.year, month.month, 1).map(|_| month)
    }

    /// The month containing `epoch_ms` in local time (`utc_offset_hours`).
    pub fn containing(epoch_ms: i64, utc_offset_hours: i32) -> Option<Self> {
        let local = chrono::DateTime::from_timestamp_millis(epoch_ms)?.naive_utc()
            + chrono::Duration::hours(i64::from(utc_offset_hours));
        Some(Self {
            year: local.year(),
            month: local.month(),
        })
    }

    /// The same month a year earlier.
    pub const fn year_before(self) -> Self {
        Self {
            year: self.year - 1,
            month: self.month,
        }
    }

    /// The month `months` later (earlier when negative).
    pub const fn offset(self, months: i32) -> Self {
        let index = self.year * 12 + self.month as i32 - 1 + months;
        Self {
            year: index.div_euclid(12),
            month: (index.rem_euclid(12) + 1) as u32,
        }
    }

    /// `[start, end)` in epoch ms for `scope` ending with this month, local time.
    pub fn bounds(self, scope: Scope, utc_offset_hours: i32) -> (i64, i64) {
        let first_month = match scope {
            Scope::Month => self.month,
            Scope::YearToDate => 1,
        };
        let (next_year, next_month) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        let at = |y: i32, m: u32| {
            NaiveDate::from_ymd_opt(y, m, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(0, |t| t.and_utc().timestamp_millis())
                - i64::from(utc_offset_hours) * 3_600_000
        };
        (at(self.year, first_month), at(next_year, next_month))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_bounds_months_in_china_time() {
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("26-1").is_none());
        let m = Month::parse("2026-11").unwrap();
        assert_eq!(m.to_string(), "2026-11");
        // 2026-11-01T00:00+08:00 = 2026-10-31T16:00Z.
        assert_eq!(m.bounds(Scope::Month, 8).0, 1_793_462_400_000);
        assert_eq!(m.bounds(Scope::Month, 8).1, 1_796_054_400_000);
        assert_eq!(m.bounds(Scope::YearToDate, 8).0, 1_767_196_800_000);
        let dec = Month::parse("2026-12").unwrap();
        assert_eq!(dec.bounds(Scope::Month, 0).1, 1_798_761_600_000);
        assert_eq!(Month::containing(1_793_462_400_000, 8), Some(m));
        assert_eq!(Month::containing(1_793_462_399_999, 8).unwrap().month, 10);
        assert_eq!(m.offset(-11).to_string(), "2025-12");
        assert_eq!(m.offset(2).to_string(), "2027-01");
        assert_eq!(m.offset(-23).to_string(), "2024-12");
    }
}
