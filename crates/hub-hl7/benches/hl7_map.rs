//! Throughput of the HL7 v2 parse and map steps, single-threaded, in messages per second, on
//! an ADT^A01 (3 DG1) and a 13-OBX lab ORU^R01 from the golden corpus. Compares this crate's
//! zero-copy parser with the `hl7-parser` 0.3 crate (parse only, and parse plus reading the
//! fields a mapping reads). Results go to stdout and to `target/bench/hl7_map.txt`.
//!
//! Run: `cargo bench -p hub-hl7`. The hub's target is 20,000 messages/s per core for the whole
//! normalise path (parse, identity, map, encode); this measures the parse + map share.

// A benchmark's output is its report.
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use hub_hl7::{Charset, Message, map_hl7};
use hub_schemas::raw::RawEnvelope;

const ADT: &[u8] = include_bytes!("../tests/golden/adt_a01_inpatient_dg1.hl7");
const ORU: &[u8] = include_bytes!("../tests/golden/oru_r01_lab_panel.hl7");

/// Runs `f` repeatedly for about `budget` after a warm-up; returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut() -> usize) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < budget / 5 {
        black_box(f());
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            black_box(f());
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// hub-hl7: decode and parse only.
fn hub_parse(bytes: &[u8]) -> usize {
    let text = Charset::UTF_8.decode(bytes).unwrap_or_default();
    Message::parse(&text, Charset::UTF_8).map_or(0, |m| m.segments().count())
}

/// hub-hl7: decode, parse, and read PID-3/PID-5 and every OBX-3/OBX-5/DG1-3 (decoded).
fn hub_parse_read(bytes: &[u8]) -> usize {
    let text = Charset::UTF_8.decode(bytes).unwrap_or_default();
    let Ok(m) = Message::parse(&text, Charset::UTF_8) else {
        return 0;
    };
    let mut n = 0;
    for seg in m.segments() {
        let fields: &[(usize, usize)] = match seg.id() {
            "PID" => &[(3, 1), (5, 1)],
            "OBX" => &[(3, 1), (5, 1)],
            "DG1" => &[(3, 1), (3, 2)],
            _ => &[],
        };
        for &(f, c) in fields {
            n += seg.text(f, c).map_or(0, |s| s.len());
        }
    }
    n
}

/// hl7-parser 0.3: decode and parse only (it builds the whole tree up front).
fn crate_parse(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    hl7_parser::Message::parse_with_lenient_newlines(text, true).map_or(0, |m| m.segments().count())
}

/// hl7-parser 0.3: decode, parse, read the same fields (escapes decoded through `display`).
fn crate_parse_read(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    let Ok(m) = hl7_parser::Message::parse_with_lenient_newlines(text, true) else {
        return 0;
    };
    let seps = m.separators;
    let mut n = 0;
    for seg in m.segments() {
        let fields: &[(usize, usize)] = match seg.name {
            "PID" => &[(3, 1), (5, 1)],
            "OBX" => &[(3, 1), (5, 1)],
            "DG1" => &[(3, 1), (3, 2)],
            _ => &[],
        };
        for &(f, c) in fields {
            if let Some(comp) = seg.field(f).and_then(|x| x.component(c)) {
                n += comp.display(&seps).to_string().len();
            }
        }
    }
    n
}

/// (message name, bytes, label, the function measured).
type Row = (
    &'static str,
    &'static [u8],
    &'static str,
    fn(&[u8]) -> usize,
);

fn envelope(source: &str, payload: &[u8]) -> RawEnvelope {
    RawEnvelope {
        topic: format!("raw.{source}.hl7v2"),
        facility: "H21112100011".into(),
        source: source.into(),
        charset: "UTF-8".into(),
        message_id: "BENCH-1".into(),
        received_at_ms: 1_710_259_200_000,
        payload: payload.to_vec(),
        ..RawEnvelope::default()
    }
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("HL7_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500),
    );
    let adt = envelope("his", ADT);
    let oru = envelope("lab", ORU);
    let mut lines = vec![
        format!(
            "hub-hl7 benchmark: single thread, {} ms per row, messages/s (events/s for map)",
            budget.as_millis()
        ),
        format!(
            "messages: ADT^A01 {} bytes (Person, Encounter, 3 Diagnosis); ORU^R01 {} bytes (13 LabResult)",
            ADT.len(),
            ORU.len()
        ),
    ];
    let rows: Vec<Row> = vec![
        (
            "ADT^A01",
            ADT,
            "parse only, hub-hl7 (zero-copy, lazy)",
            hub_parse,
        ),
        ("ADT^A01", ADT, "parse only, hl7-parser 0.3", crate_parse),
        (
            "ADT^A01",
            ADT,
            "parse + read fields, hub-hl7",
            hub_parse_read,
        ),
        (
            "ADT^A01",
            ADT,
            "parse + read fields, hl7-parser 0.3",
            crate_parse_read,
        ),
        (
            "ORU^R01",
            ORU,
            "parse only, hub-hl7 (zero-copy, lazy)",
            hub_parse,
        ),
        ("ORU^R01", ORU, "parse only, hl7-parser 0.3", crate_parse),
        (
            "ORU^R01",
            ORU,
            "parse + read fields, hub-hl7",
            hub_parse_read,
        ),
        (
            "ORU^R01",
            ORU,
            "parse + read fields, hl7-parser 0.3",
            crate_parse_read,
        ),
    ];
    for (name, bytes, label, f) in rows {
        let r = rate(budget, || f(bytes));
        lines.push(format!("{name:8} {label:42} {r:>12.0} msg/s"));
    }
    for (name, raw) in [("ADT^A01", &adt), ("ORU^R01", &oru)] {
        let events = map_hl7(raw).map_or(0, |m| m.events.len());
        let r = rate(budget, || map_hl7(raw).map_or(0, |m| m.events.len()));
        let label = "parse + map (map_hl7), hub-hl7";
        lines.push(format!(
            "{name:8} {label:42} {r:>12.0} msg/s {:>10.0} events/s",
            r * events as f64
        ));
    }
    let report = lines.join("\n") + "\n";
    print!("{report}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("hl7_map.txt"), &report));
    if let Err(e) = written {
        eprintln!("could not write target/bench/hl7_map.txt: {e}");
    }
}
