//! The record API's query parameters (`record::api::params`): the query string through axum's own
//! `Query` extractor, as the service receives it, and the same bytes split into parameters
//! directly (any UTF-8 value, not only what a URI can carry), into every endpoint's parser.
//! Besides not panicking, each parse must hold: a limit within its bounds, each timeline type
//! once and known, a cursor or time that round-trips, and an error message from a fixed set,
//! so that no error ever repeats what the caller sent (an ID number, a name).
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use record::api::params::{
    AUDIT_MAX_LIMIT, AuditQuery, Params, Search, TIMELINE_MAX_LIMIT, TimelineQuery,
    decode_cursor, encode_cursor, lab_code, parse_time,
};
use record::api::records::timeline_types;

/// Every message a 400 of these parsers may carry.
fn allowed_messages(known: &[&str]) -> Vec<String> {
    let mut m: Vec<String> = [
        "give exactly one of: id_number, insurance_number, or name with birth_date",
        "birth_date must be YYYY-MM-DD",
        "malformed cursor",
        "code is required",
        "from must be RFC 3339 or YYYY-MM-DD",
        "to must be RFC 3339 or YYYY-MM-DD",
    ]
    .map(str::to_owned)
    .to_vec();
    m.push(format!("limit must be 1..={TIMELINE_MAX_LIMIT}"));
    m.push(format!("limit must be 1..={AUDIT_MAX_LIMIT}"));
    m.push(format!("type must be among {}", known.join(", ")));
    m
}

fn check_time(t: chrono::DateTime<chrono::Utc>) {
    use chrono::Datelike;
    assert!((1..=9999).contains(&t.year()), "year {}", t.year());
    let again = parse_time(&t.to_rfc3339(), "from").expect("a time's RFC 3339 parses");
    assert_eq!(again, t);
}

fn check(q: &Params, known: &[&'static str], allowed: &[String]) {
    let refused = |e: record::api::error::ApiError| {
        let message = e.to_string();
        assert!(allowed.contains(&message), "unexpected message: {message}");
    };
    match Search::parse(q) {
        Ok(Search::IdNumber(id)) => assert!(!id.is_empty() && id == id.to_ascii_uppercase()),
        Ok(Search::InsuranceNumber(n)) => assert!(!n.is_empty() && n.trim() == n),
        Ok(Search::NameAndBirthDate { name, .. }) => assert!(!name.is_empty()),
        Err(e) => refused(e),
    }
    match TimelineQuery::parse(q, known) {
        Ok(t) => {
            assert!((1..=TIMELINE_MAX_LIMIT).contains(&t.limit));
            assert!(!t.types.is_empty());
            let positions: Vec<usize> = t
                .types
                .iter()
                .map(|ty| known.iter().position(|k| k == ty).expect("a known type"))
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "each type once, in order");
            t.from.into_iter().chain(t.to).for_each(check_time);
            if let Some((time, id)) = &t.cursor {
                check_time(*time);
                let canonical = encode_cursor(*time, id);
                assert_eq!(decode_cursor(&canonical).expect("own cursor"), (*time, id.clone()));
                let sent = q.get("cursor").map(|c| c.trim().to_ascii_lowercase());
                assert_eq!(sent.as_deref(), Some(canonical.as_str()), "one spelling per cursor");
            }
        }
        Err(e) => refused(e),
    }
    match AuditQuery::parse(q) {
        Ok(a) => {
            assert!((1..=AUDIT_MAX_LIMIT).contains(&a.limit));
            a.from.into_iter().chain(a.to).for_each(check_time);
        }
        Err(e) => refused(e),
    }
    match lab_code(q) {
        Ok(code) => assert!(!code.is_empty() && code.trim() == code),
        Err(e) => refused(e),
    }
}

/// The bytes as `k=v&k=v`, without percent-decoding (the last value of a repeated key wins, as
/// in the decoded map).
fn split(data: &[u8]) -> Params {
    String::from_utf8_lossy(data)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let known: Vec<&'static str> = timeline_types().collect();
    let allowed = allowed_messages(&known);
    if let Ok(query) = std::str::from_utf8(data) {
        if let Ok(uri) = format!("/persons?{query}").parse::<Uri>() {
            if let Ok(Query(q)) = Query::<Params>::try_from_uri(&uri) {
                check(&q, &known, &allowed);
            }
        }
    }
    check(&split(data), &known, &allowed);
});
