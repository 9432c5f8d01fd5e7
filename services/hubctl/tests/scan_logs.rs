//! `hubctl scan-logs` as a script calls it: exit 0 on clean logs, 1 on a leak (named by file,
//! line and kind, never by value), 2 on an unreadable path.

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::NaiveDate;
use hub_simulator::{Config, County, Simulation};

const START: &str = "2026-11-01";

fn terminology() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/terminology")
}

fn run(paths: &[&Path]) -> (Output, serde_json::Value) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hubctl"))
        .args([
            "scan-logs",
            "--seed",
            "11",
            "--residents",
            "40",
            "--days",
            "2",
        ])
        .args(["--start", START, "--terminology"])
        .arg(terminology())
        .args(paths)
        .output()
        .expect("hubctl runs");
    let summary = serde_json::from_slice(&output.stdout).unwrap_or_default();
    (output, summary)
}

#[test]
fn exit_status_and_summary() {
    let terminology = hub_terminology::Terminology::load(terminology()).unwrap();
    let county = County::from_registry(&terminology, "210281").unwrap();
    let start = NaiveDate::parse_from_str(START, "%Y-%m-%d").unwrap();
    let simulation = Simulation::run(&Config::new(11, 40, start, 2), &county);
    let resident = &simulation.residents[7];

    let dir = std::env::temp_dir().join(format!("hubctl-scan-logs-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clean = dir.join("clean.log");
    let leaky = dir.join("leaky.log");
    std::fs::write(
        &clean,
        "INFO connector_hl7: Accepted. message_id=ADT00110000001\n",
    )
    .unwrap();
    std::fs::write(
        &leaky,
        format!(
            "one\ntwo\nWARN normaliser: rejected id={}\n",
            resident.id_number
        ),
    )
    .unwrap();

    let (output, summary) = run(&[&clean]);
    assert_eq!(output.status.code(), Some(0), "{summary}");
    assert_eq!(summary["identifiers"]["id_numbers"], 40);
    assert_eq!(summary["hits"], serde_json::json!([]));

    let (output, summary) = run(&[&dir]);
    assert_eq!(output.status.code(), Some(1), "{summary}");
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["hit_count"], 1);
    assert_eq!(summary["hits"][0]["line"], 3);
    assert_eq!(summary["hits"][0]["kind"], "id_number");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout.contains(&resident.id_number) && !stderr.contains(&resident.id_number));

    let (output, _) = run(&[&dir.join("missing.log")]);
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
