//! NHSA times and dates: `yyyy-MM-dd HH:mm:ss` in China Standard Time (UTC+8, no daylight
//! saving since 1991) to epoch milliseconds; `yyyy-MM-dd` (or a time at that date) to days since
//! 1970-01-01.

use chrono::{NaiveDate, NaiveDateTime};

const CHINA_OFFSET_MS: i64 = 8 * 3600 * 1000;

/// `yyyy-MM-dd HH:mm:ss` China time to epoch milliseconds (UTC).
pub(crate) fn china_time_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() != 19 {
        return None;
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    Some(local.and_utc().timestamp_millis() - CHINA_OFFSET_MS)
}

/// `yyyy-MM-dd`, or `yyyy-MM-dd HH:mm:ss` (some exports send times in date fields; the calendar
/// date in China is kept), as a calendar date.
pub(crate) fn date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    match text.len() {
        10 => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        19 => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|t| t.date()),
        _ => None,
    }
}

/// Days since 1970-01-01 (the Avro `date` logical type).
pub(crate) fn epoch_days(date: NaiveDate) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(date.signed_duration_since(epoch).num_days()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_china_time() {
        // 2026-11-02 08:00:00 in Beijing is 2026-11-02 00:00:00 UTC.
        assert_eq!(
            china_time_ms("2026-11-02 08:00:00"),
            Some(1_793_577_600_000)
        );
        assert_eq!(china_time_ms("1970-01-01 08:00:00"), Some(0));
        for bad in [
            "2026-11-02",
            "2026-11-02T08:00:00",
            "2026-02-30 08:00:00",
            "2026-11-02 24:00:00",
        ] {
            assert_eq!(china_time_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_dates_as_epoch_days() {
        let day = |s: &str| date(s).and_then(epoch_days);
        assert_eq!(day("1970-01-01"), Some(0));
        assert_eq!(day("2026-11-02"), Some(20_759));
        assert_eq!(day("2026-11-02 23:59:59"), Some(20_759));
        assert_eq!(day("1969-12-31"), Some(-1));
        for bad in ["2026-13-01", "20261102", "2026-11-2", ""] {
            assert_eq!(date(bad), None, "{bad}");
        }
    }
}
