//! The schema registry's schema handling: `schema_registry::avro::parse` (JSON, Avro parse,
//! canonical form, fingerprint, identity form) over arbitrary texts, and
//! `schema_registry::compat::check` at every level between the parsed ones. The input holds up
//! to four schema texts separated by 0xFF (a byte no UTF-8 text contains).
//!
//! The registry's contract with apache-avro is that a panic inside the library is caught
//! (`avro::guarded`) and answered as an invalid schema. libfuzzer-sys's panic hook would abort
//! on such a caught panic, so this target replaces it with one that prints each new panic
//! location once (the library's panics worth knowing about) and does not abort: a panic that
//! `guarded` catches is the contract working; one that escapes is still a crash (libfuzzer-sys
//! aborts on any panic reaching the harness).
#![no_main]

use std::collections::HashSet;
use std::sync::Mutex;

use schema_registry::avro::parse;
use schema_registry::compat::{Level, check};

libfuzzer_sys::fuzz_target!(
    init: {
        let seen = Mutex::new(HashSet::new());
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(ToString::to_string).unwrap_or_default();
            if seen.lock().is_ok_and(|mut s| s.insert(at)) {
                eprintln!("panic (caught by guarded unless the run aborts): {info}");
            }
        }));
    },
    |data: &[u8]| {
        let parsed: Vec<_> = data
            .split(|&b| b == 0xFF)
            .take(4)
            .filter_map(|part| std::str::from_utf8(part).ok())
            .filter_map(|text| parse(text).ok())
            .collect();
        for p in &parsed {
            assert!(!p.canonical_form.is_empty());
            let again = parse(&p.text).expect("a parsed text parses again");
            assert_eq!(again.identity, p.identity);
            assert_eq!(again.fingerprint, p.fingerprint);
        }
        if let Some((new, old)) = parsed.split_first() {
            let previous: Vec<_> = old
                .iter()
                .enumerate()
                .map(|(i, p)| (i32::try_from(i).unwrap_or(0) + 1, p.schema.clone()))
                .collect();
            for level in Level::ALL {
                let _ = check(level, &new.schema, &previous);
            }
        }
    }
);
