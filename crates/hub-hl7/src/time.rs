//! HL7 v2 TS/DTM timestamps and DT dates.
//!
//! `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`: any precision (missing parts are the start
//! of the period: `2024` is 2024-01-01 00:00), an optional time zone; without one the time is
//! China Standard Time (UTC+8), as the canonical schemas require. A TS sent with its v2.3
//! degree-of-precision component (`20240105^D`) is read from the first component by the caller.
//! Vendor ISO-like forms (`2024-01-05 10:30:00`) are accepted too. Anything else is `None`:
//! a bad timestamp makes a field absent, never the message unreadable.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// China Standard Time, minutes east of UTC.
const CST_OFFSET_MINUTES: i64 = 8 * 60;

/// Parses an HL7 timestamp to epoch milliseconds (UTC).
pub fn parse_ts(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (body, offset) = split_zone(raw)?;
    let compact = compact(body)?;
    let (date_part, frac) = match compact.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (compact.as_ref(), None),
    };
    if !date_part.bytes().all(|b| b.is_ascii_digit())
        || !matches!(date_part.len(), 4 | 6 | 8 | 10 | 12 | 14)
    {
        return None;
    }
    let num = |from: usize, len: usize, default: u32| -> Option<u32> {
        match date_part.get(from..from + len) {
            Some(s) => s.parse().ok(),
            None => Some(default),
        }
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(num(0, 4, 0)?).ok()?,
        num(4, 2, 1)?,
        num(6, 2, 1)?,
    )?;
    let millis = match frac {
        // Fractions only after full seconds; up to 4 digits (HL7), truncated to milliseconds.
        Some(f) if date_part.len() == 14 && (1..=4).contains(&f.len()) => {
            if !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let digits = f.bytes().chain(std::iter::repeat(b'0')).take(3);
            digits.fold(0, |ms, d| ms * 10 + u32::from(d - b'0'))
        }
        Some(_) => return None,
        None => 0,
    };
    let time =
        NaiveTime::from_hms_milli_opt(num(8, 2, 0)?, num(10, 2, 0)?, num(12, 2, 0)?, millis)?;
    let local = NaiveDateTime::new(date, time).and_utc().timestamp_millis();
    Some(local - offset * 60_000)
}

/// Parses the date part of an HL7 DT/TS (`YYYYMMDD...`) as a calendar date, without any zone
/// conversion (a birth date is a date, not an instant). Needs day precision.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let compact = compact(split_zone(raw.trim())?.0)?;
    let digits = compact.get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        digits[..4].parse().ok()?,
        digits[4..6].parse().ok()?,
        digits[6..].parse().ok()?,
    )
}

/// Days since 1970-01-01, the Avro `date` logical type.
pub fn epoch_days(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((date - epoch).num_days()).unwrap_or(i32::MAX)
}

/// Splits off a trailing `+ZZZZ`/`-ZZZZ` (or `+ZZ`) zone: (body, minutes east of UTC).
fn split_zone(raw: &str) -> Option<(&str, i64)> {
    let Some(pos) = raw.rfind(['+', '-']) else {
        return Some((raw, CST_OFFSET_MINUTES));
    };
    // The dashes of an ISO-like date (2024-01-05) are not a zone.
    if raw.as_bytes().get(4) == Some(&b'-') && pos <= 7 {
        return Some((raw, CST_OFFSET_MINUTES));
    }
    let (body, zone) = raw.split_at(pos);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits = &zone[1..];
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = match digits.len() {
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        2 => (digits.parse().ok()?, 0),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    Some((body, sign * (h * 60 + m)))
}

/// `2024-01-05 10:30:00.5` -> `20240105103000.5`; HL7 forms pass unchanged.
fn compact(body: &str) -> Option<Cow<'_, str>> {
    if body.is_empty() {
        return None;
    }
    if !body.contains(['-', ':', ' ', 'T']) {
        return Some(Cow::Borrowed(body));
    }
    let kept = body.chars().filter(|c| !matches!(c, '-' | ':' | ' ' | 'T'));
    Some(Cow::Owned(kept.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epoch millis of a UTC wall-clock time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_milli_opt(h, mi, s, ms)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    #[test]
    fn every_precision_defaults_to_china_standard_time() {
        // 2024-03-05 14:30:15.123 in UTC+8 is 06:30:15.123 UTC.
        assert_eq!(parse_ts("2024"), Some(utc(2023, 12, 31, 16, 0, 0, 0)));
        assert_eq!(parse_ts("202403"), Some(utc(2024, 2, 29, 16, 0, 0, 0)));
        assert_eq!(parse_ts("20240305"), Some(utc(2024, 3, 4, 16, 0, 0, 0)));
        assert_eq!(parse_ts("2024030514"), Some(utc(2024, 3, 5, 6, 0, 0, 0)));
        assert_eq!(parse_ts("202403051430"), Some(utc(2024, 3, 5, 6, 30, 0, 0)));
        assert_eq!(
            parse_ts("20240305143015"),
            Some(utc(2024, 3, 5, 6, 30, 15, 0))
        );
        assert_eq!(
            parse_ts("20240305143015.1"),
            Some(utc(2024, 3, 5, 6, 30, 15, 100))
        );
        assert_eq!(
            parse_ts("20240305143015.12"),
            Some(utc(2024, 3, 5, 6, 30, 15, 120))
        );
        assert_eq!(
            parse_ts("20240305143015.123"),
            Some(utc(2024, 3, 5, 6, 30, 15, 123))
        );
        assert_eq!(
            parse_ts("20240305143015.1234"),
            Some(utc(2024, 3, 5, 6, 30, 15, 123))
        );
    }

    #[test]
    fn explicit_zones() {
        assert_eq!(
            parse_ts("20240305143015+0000"),
            Some(utc(2024, 3, 5, 14, 30, 15, 0))
        );
        assert_eq!(
            parse_ts("20240305143015+0800"),
            Some(utc(2024, 3, 5, 6, 30, 15, 0))
        );
        assert_eq!(
            parse_ts("20240305143015-0500"),
            Some(utc(2024, 3, 5, 19, 30, 15, 0))
        );
        assert_eq!(
            parse_ts("202403051430+0530"),
            Some(utc(2024, 3, 5, 9, 0, 0, 0))
        );
        assert_eq!(
            parse_ts("20240305+0800"),
            Some(utc(2024, 3, 4, 16, 0, 0, 0))
        );
        assert_eq!(parse_ts("20240305-0500"), Some(utc(2024, 3, 5, 5, 0, 0, 0)));
        assert_eq!(
            parse_ts("2024-03-05 14:30:15-0500"),
            Some(utc(2024, 3, 5, 19, 30, 15, 0))
        );
        assert_eq!(
            parse_ts("20240305143015.5+08"),
            Some(utc(2024, 3, 5, 6, 30, 15, 500))
        );
    }

    #[test]
    fn iso_like_vendor_forms() {
        assert_eq!(
            parse_ts("2024-03-05 14:30:15"),
            Some(utc(2024, 3, 5, 6, 30, 15, 0))
        );
        assert_eq!(parse_ts("2024-03-05T14:30:15+00:00"), None);
        assert_eq!(parse_ts("2024-03-05"), Some(utc(2024, 3, 4, 16, 0, 0, 0)));
    }

    #[test]
    fn bad_timestamps_are_none() {
        for bad in [
            "",
            "20",
            "202",
            "20241",
            "20241305",
            "20240230",
            "2024030525",
            "20240305146000",
            "20240305143015.",
            "20240305143015.12345",
            "2024030514.5",
            "20240305143015+8",
            "20240305143015+2500",
            "abcdefgh",
            "20240305143015Z",
            "２０２４",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_ignore_zones_and_need_days() {
        assert_eq!(
            parse_date("19491231"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        assert_eq!(
            parse_date("194912310000+0000"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        assert_eq!(
            parse_date("1949-12-31"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        assert_eq!(parse_date("194912"), None);
        assert_eq!(parse_date("19491331"), None);
        assert_eq!(epoch_days(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
        assert_eq!(
            epoch_days(NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()),
            -7306
        );
    }
}
