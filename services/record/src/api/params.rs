//! The record API's query parameters, parsed and checked before any database work. One place says
//! what each endpoint accepts; a bad value is a 400 that names the parameter and never repeats
//! its value (which may be an ID number or a name). Fuzzed by `fuzz/fuzz_targets/record_query.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

use super::error::ApiError;

/// The query string, as axum's `Query` extractor decodes it.
pub type Params = HashMap<String, String>;

/// The timeline's page size without `limit`.
pub const TIMELINE_DEFAULT_LIMIT: i64 = 50;
/// The timeline's largest page.
pub const TIMELINE_MAX_LIMIT: i64 = 500;
/// The audit log's page size without `limit`.
pub const AUDIT_DEFAULT_LIMIT: i64 = 1_000;
/// The audit log's largest page.
pub const AUDIT_MAX_LIMIT: i64 = 10_000;

/// The years a time parameter may name: four digits, as RFC 3339 has them. Wider years (chrono
/// reads `%Y` up to ±262143) are outside PostgreSQL's timestamptz and would fail in the database,
/// a 503 for what is the caller's mistake.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// A non-empty, trimmed parameter.
fn get<'q>(q: &'q Params, name: &str) -> Option<&'q str> {
    q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// `GET /persons`: exactly one way of finding a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search<'q> {
    /// `id_number=`: a resident ID number (upper-cased: a final `x` is the check digit X).
    IdNumber(String),
    /// `insurance_number=`: a medical-insurance person number.
    InsuranceNumber(&'q str),
    /// `name=&birth_date=YYYY-MM-DD`.
    NameAndBirthDate {
        /// The name as registered.
        name: &'q str,
        /// The date of birth.
        birth_date: NaiveDate,
    },
}

impl<'q> Search<'q> {
    /// # Errors
    /// 400 for no criterion, mixed criteria or a bad birth date.
    pub fn parse(q: &'q Params) -> Result<Self, ApiError> {
        match (
            get(q, "id_number"),
            get(q, "insurance_number"),
            get(q, "name"),
            get(q, "birth_date"),
        ) {
            (Some(id), None, None, None) => Ok(Self::IdNumber(id.to_ascii_uppercase())),
            (None, Some(number), None, None) => Ok(Self::InsuranceNumber(number)),
            (None, None, Some(name), Some(birth)) => Ok(Self::NameAndBirthDate {
                name,
                birth_date: NaiveDate::parse_from_str(birth, "%Y-%m-%d")
                    .ok()
                    .filter(|d| YEARS.contains(&d.year()))
                    .ok_or_else(|| ApiError::BadRequest("birth_date must be YYYY-MM-DD".into()))?,
            }),
            _ => Err(ApiError::BadRequest(
                "give exactly one of: id_number, insurance_number, or name with birth_date".into(),
            )),
        }
    }
}

/// `GET /persons/{id}/timeline?type=&from=&to=&facility=&cursor=&limit=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineQuery<'q> {
    /// The entry types asked for, each once, in the order of `known` (all when `type` is absent).
    pub types: Vec<&'static str>,
    /// Entries at or after this event time.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this event time.
    pub to: Option<DateTime<Utc>>,
    /// Entries of this facility only.
    pub facility: Option<&'q str>,
    /// Where the previous page ended.
    pub cursor: Option<(DateTime<Utc>, String)>,
    /// The page size.
    pub limit: i64,
}

impl<'q> TimelineQuery<'q> {
    /// `known` are the timeline's entry types.
    ///
    /// # Errors
    /// 400 for an unknown type, a bad time, cursor or limit.
    pub fn parse(q: &'q Params, known: &[&'static str]) -> Result<Self, ApiError> {
        let types = match get(q, "type") {
            Some(asked) => {
                let asked: Vec<&str> = asked.split(',').map(str::trim).collect();
                // The unknown type is not repeated: the message lists what is accepted.
                if asked.iter().any(|t| !known.contains(t)) {
                    return Err(ApiError::BadRequest(format!(
                        "type must be among {}",
                        known.join(", ")
                    )));
                }
                // Each type once: `type=lab,lab` must not list every result twice.
                known
                    .iter()
                    .copied()
                    .filter(|k| asked.contains(k))
                    .collect()
            }
            None => known.to_vec(),
        };
        Ok(Self {
            types,
            from: time_param(q, "from")?,
            to: time_param(q, "to")?,
            facility: get(q, "facility"),
            cursor: get(q, "cursor").map(decode_cursor).transpose()?,
            limit: limit_param(q, TIMELINE_DEFAULT_LIMIT, TIMELINE_MAX_LIMIT)?,
        })
    }
}

/// `GET /audit?person=&actor=&from=&to=&limit=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery<'q> {
    /// Rows about this person only.
    pub person: Option<&'q str>,
    /// Rows of this actor only.
    pub actor: Option<&'q str>,
    /// Rows at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Rows before this time.
    pub to: Option<DateTime<Utc>>,
    /// The page size.
    pub limit: i64,
}

impl<'q> AuditQuery<'q> {
    /// # Errors
    /// 400 for a bad time or limit.
    pub fn parse(q: &'q Params) -> Result<Self, ApiError> {
        Ok(Self {
            person: get(q, "person"),
            actor: get(q, "actor"),
            from: time_param(q, "from")?,
            to: time_param(q, "to")?,
            limit: limit_param(q, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT)?,
        })
    }
}

/// `GET /persons/{id}/labs?code=`: the test code, required.
///
/// # Errors
/// 400 without `code`.
pub fn lab_code(q: &Params) -> Result<&str, ApiError> {
    get(q, "code").ok_or_else(|| ApiError::BadRequest("code is required".into()))
}

fn time_param(q: &Params, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    get(q, name).map(|v| parse_time(v, name)).transpose()
}

fn limit_param(q: &Params, default: i64, max: i64) -> Result<i64, ApiError> {
    match get(q, "limit") {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| ApiError::BadRequest(format!("limit must be 1..={max}"))),
        None => Ok(default),
    }
}

/// RFC 3339, or a date read as midnight China Standard Time; years 1 to 9999.
///
/// # Errors
/// 400 naming the parameter.
pub fn parse_time(value: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let cst = FixedOffset::east_opt(8 * 3600);
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .zip(cst)
                .and_then(|(t, tz)| t.and_local_timezone(tz).single())
                .map(|t| t.with_timezone(&Utc))
        })
        .filter(|t| YEARS.contains(&t.year()))
        .ok_or_else(|| ApiError::BadRequest(format!("{name} must be RFC 3339 or YYYY-MM-DD")))
}

/// The opaque cursor of a timeline position: lower-case hex of `<epoch µs>\x1f<event id>`.
pub fn encode_cursor(time: DateTime<Utc>, event_id: &str) -> String {
    use std::fmt::Write as _;
    let text = format!("{}\u{1f}{event_id}", time.timestamp_micros());
    text.bytes()
        .fold(String::with_capacity(text.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The position in a cursor.
///
/// # Errors
/// 400 for anything [`encode_cursor`] did not make.
pub fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), ApiError> {
    let bad = || ApiError::BadRequest("malformed cursor".into());
    let hex = cursor.as_bytes();
    // Hex digits only: `u8::from_str_radix` alone would also take a sign ("+f").
    if !hex.len().is_multiple_of(2) || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let bytes = hex
        .chunks_exact(2)
        .map(|pair| {
            let digit = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
            digit(pair[0]) << 4 | digit(pair[1])
        })
        .collect::<Vec<u8>>();
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (micros, id) = text.split_once('\u{1f}').ok_or_else(bad)?;
    let time = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .filter(|t| YEARS.contains(&t.year()))
        // One spelling per position: no leading zeros or sign (fuzzing found "07000000").
        .filter(|t| t.timestamp_micros().to_string() == micros)
        .ok_or_else(bad)?;
    Ok((time, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const KNOWN: &[&str] = &["encounter", "lab", "settlement"];

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_000).unwrap();
        let c = encode_cursor(t, "H1:MSG-9:2");
        assert_eq!(decode_cursor(&c).unwrap(), (t, "H1:MSG-9:2".to_owned()));
        // "+f+f" is what u8::from_str_radix took as two bytes.
        // What fuzz target record_query found: "07000000\x1f0000\x1fH1:MSG 002", a leading zero.
        let leading_zero = "303730303030301f303030301f48313a4d534720303032";
        let plus = encode_cursor(t, "x").replacen("31", "2b31", 1);
        for bad in [
            "",
            "zz",
            "abc",
            "3132",
            "e4b8ade69687",
            "+f+f",
            "-1-1",
            leading_zero,
            &plus,
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_accept_rfc3339_and_china_dates_with_four_digit_years() {
        let d = parse_time("2026-01-02", "from").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-01-01T16:00:00+00:00");
        let t = parse_time("2026-01-02T08:00:00+08:00", "from").unwrap();
        assert_eq!(t, d + chrono::Duration::hours(8));
        for bad in ["yesterday", "+200000-01-01", "-0001-01-01", "0000-01-01"] {
            assert!(parse_time(bad, "from").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_timeline_asks_for_each_type_once() {
        let q = params(&[("type", "lab, encounter,lab")]);
        let t = TimelineQuery::parse(&q, KNOWN).unwrap();
        assert_eq!(t.types, ["encounter", "lab"]);
        assert_eq!(t.limit, TIMELINE_DEFAULT_LIMIT);
        let all = params(&[("type", ""), ("facility", " ")]);
        let t = TimelineQuery::parse(&all, KNOWN).unwrap();
        assert_eq!((t.types.as_slice(), t.facility), (KNOWN, None));
        for bad in [
            ("type", "lab,,"),
            ("limit", "0"),
            ("limit", "501"),
            ("cursor", "xy"),
        ] {
            assert!(
                TimelineQuery::parse(&params(&[bad]), KNOWN).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_search_takes_exactly_one_criterion_and_never_repeats_it() {
        let q = params(&[("id_number", " 11010519491231002x ")]);
        assert_eq!(
            Search::parse(&q).unwrap(),
            Search::IdNumber("11010519491231002X".into())
        );
        let mixed = params(&[("id_number", "11010519491231002X"), ("name", "张三")]);
        let e = Search::parse(&mixed).unwrap_err().to_string();
        assert!(!e.contains("1101") && !e.contains("张三"), "{e}");
        let bad_date = params(&[("name", "张三"), ("birth_date", "1949-13-31")]);
        assert!(Search::parse(&bad_date).is_err());
    }

    #[test]
    fn the_audit_log_limit_has_its_own_bounds() {
        let q = params(&[("limit", "10000"), ("person", "P1")]);
        let a = AuditQuery::parse(&q).unwrap();
        assert_eq!((a.limit, a.person, a.actor), (10_000, Some("P1"), None));
        assert!(AuditQuery::parse(&params(&[("limit", "10001")])).is_err());
    }
}
