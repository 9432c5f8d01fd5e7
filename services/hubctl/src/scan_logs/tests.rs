use std::path::PathBuf;

use clap::Parser;
use hub_simulator::{County, Simulation};

use super::*;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ScanLogsArgs,
}

fn terminology() -> String {
    format!("{}/../../deploy/terminology", env!("CARGO_MANIFEST_DIR"))
}

fn args(extra: &[&str]) -> ScanLogsArgs {
    let terminology = terminology();
    let mut argv = vec![
        "scan-logs",
        "--seed",
        "7",
        "--residents",
        "60",
        "--days",
        "3",
        "--terminology",
        &terminology,
    ];
    argv.extend_from_slice(extra);
    Cli::parse_from(argv).args
}

fn county() -> (County, Simulation) {
    args(&["unused"]).county.simulate().unwrap()
}

fn scanner(county: &County, simulation: &Simulation) -> Scanner {
    Scanner::new(&Identifiers::of(county, simulation), 100).unwrap()
}

fn scan(scanner: &Scanner, text: &str) -> Summary {
    let mut summary = Summary::default();
    scanner
        .scan("app.log", text.as_bytes(), &mut summary)
        .unwrap();
    summary
}

fn hit(line: u64, kind: Kind) -> Hit {
    Hit {
        file: "app.log".to_owned(),
        line,
        kind,
    }
}

#[test]
fn every_kind_of_personal_value_is_collected() {
    let (county, simulation) = county();
    let counts = Identifiers::of(&county, &simulation).counts();
    assert_eq!(counts.id_numbers, 60);
    assert_eq!(counts.phones, 60);
    assert_eq!(counts.insurance_numbers, 60);
    assert!(counts.names > 10, "{counts:?}");
    assert!(counts.patient_ids >= 60, "{counts:?}");
}

#[test]
fn a_resident_in_a_log_line_is_reported_by_kind_and_line_without_the_value() {
    let (county, simulation) = county();
    let scanner = scanner(&county, &simulation);
    let r = &simulation.residents[5];
    let (family, given) = r.name.split_at(r.name.chars().next().unwrap().len_utf8());
    let text = format!(
        "2026-11-01T08:00:00Z INFO connector_hl7: Accepted. message_id=ADT00070000001\n\
         INFO normaliser: certno={}\n\
         WARN x: {{\"phone\":\"{}\"}}\n\
         INFO clean line\n\
         PID|1||{}^^^H1^PI||{family}^{given}^^^^^L\n\
         {{\"name\":\"{}\",\"id\":\"{}\"}}\n\
         psn_no {}\n",
        r.id_number.to_lowercase(),
        r.phone,
        r.mrn(&county.hospitals[0].code),
        r.name
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect::<String>(),
        r.id_number,
        r.psn_no,
    );
    let summary = scan(&scanner, &text);
    assert_eq!(summary.lines, 7);
    assert_eq!(summary.bytes, text.len() as u64);
    assert_eq!(
        summary.hits,
        [
            hit(2, Kind::IdNumber),
            hit(3, Kind::Phone),
            hit(5, Kind::Name),
            hit(5, Kind::PatientId),
            hit(6, Kind::IdNumber),
            hit(6, Kind::Name),
            hit(7, Kind::InsuranceNumber),
        ]
    );
    assert_eq!(summary.hit_count, 7);
    let json = serde_json::to_string(&summary).unwrap();
    for value in [&r.id_number, &r.name, &r.phone, &r.psn_no] {
        assert!(!json.contains(value.as_str()), "the summary leaks a value");
    }
    assert!(json.contains("\"kind\":\"id_number\""), "{json}");
}

#[test]
fn a_clean_log_passes() {
    let (county, simulation) = county();
    let scanner = scanner(&county, &simulation);
    let names: String = county
        .hospitals
        .iter()
        .chain(&county.centres)
        .chain(&county.villages)
        .map(|f| format!("facility={} name={}\n", f.code, f.name))
        .collect();
    let text = format!(
        "INFO connector_hl7: Accepted. message_id=ADT00070000001 facility=H21028100001\n\
         INFO sink: Batch written. rows=100 topic=canonical.encounter.v1 offset=13900000000\n\
         {names}"
    );
    let summary = scan(&scanner, &text);
    assert_eq!(summary.hits, []);
    assert_eq!(summary.hit_count, 0);
}

#[test]
fn folders_are_read_recursively_and_hits_are_capped() {
    let (county, simulation) = county();
    let id = &simulation.residents[0].id_number;
    let dir = std::env::temp_dir().join(format!("hubctl-scan-logs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.log"), "clean\n").unwrap();
    std::fs::write(dir.join("sub/b.log"), format!("x\n{id}\n{id}\n")).unwrap();
    let scanner = Scanner::new(&Identifiers::of(&county, &simulation), 1).unwrap();
    let mut summary = Summary::default();
    scanner
        .scan_paths(std::slice::from_ref(&dir), &mut summary)
        .unwrap();
    let missing = scanner.scan_paths(&[dir.join("missing")], &mut Summary::default());
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((summary.files, summary.lines), (2, 4));
    assert_eq!(summary.hit_count, 2);
    assert!(summary.hits_truncated);
    assert_eq!(summary.hits.len(), 1);
    assert_eq!(summary.hits[0].line, 2);
    assert!(summary.hits[0].file.ends_with("b.log"));
    assert!(missing.is_err());
}

#[test]
fn the_arguments_are_those_of_simulate_plus_paths() {
    let args = args(&["--table-facility", "H21028100009", "a.log", "logs"]);
    assert_eq!(args.paths, [PathBuf::from("a.log"), PathBuf::from("logs")]);
    assert_eq!(args.max_hits, 1000);
}
