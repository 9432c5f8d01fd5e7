//! The short variant of the chaos reconciliation test, in the normal suite: `scripts/chaos` with
//! seven kills (connector-hl7, normaliser, record, the broker, monitor, connector-insurance,
//! schema-registry, each SIGKILLed once at a random moment and restarted) while a small simulated
//! county is sent at a steady rate. The script starts its own tansu with SQLite storage (the
//! broker's kill must not lose what it acknowledged), fresh databases and every service from
//! target/debug, and exits non-zero when `hubctl reconcile` finds a lost message, a duplicate in
//! the record or an indicator that differs from the simulator's, or when `hubctl scan-logs` finds
//! a simulated resident's personal data in any process's log; this test fails with it.
//!
//! Needs what `scripts/hub test` provides: PostgreSQL on 127.0.0.1:5432 and the tansu binary
//! (`HUB_TANSU_BIN`). The script builds the services' debug binaries first (a no-op when the
//! suite's build is current). The long variant (20+ kills) is `scripts/chaos`; see docs/chaos.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // Tests fail loudly.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

#[test]
fn killing_every_service_and_the_broker_loses_and_duplicates_nothing() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let started = Instant::now();
    let output = Command::new(root.join("scripts/chaos"))
        .current_dir(&root)
        .env("CARGO", env!("CARGO"))
        .env("CHAOS_KILLS", "7")
        .env("CHAOS_RATE", "60")
        .env("CHAOS_RESIDENTS", "1500")
        .env("CHAOS_DAYS", "40")
        .env("CHAOS_GAP", "1-3")
        .env("CHAOS_SETTLE_SECS", "150")
        .env("CHAOS_PROFILE", "debug")
        .output()
        .expect("scripts/chaos runs");
    let report = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "{log}\n{report}\nscripts/chaos took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "the chaos run failed: {}",
        output.status
    );
    // The verdict is the reconciliation's own, not only the exit status.
    assert!(
        report.contains("result                     PASS"),
        "{report}"
    );
    let lost = report
        .lines()
        .find(|l| l.starts_with("lost "))
        .expect("the report has a lost line");
    assert!(lost.split_whitespace().nth(1) == Some("0"), "{lost}");
    assert!(
        report.contains("Personal data in the logs (`hubctl scan-logs`, exit 0): 0 hits"),
        "{report}"
    );
    assert_eq!(report.matches("| connector-hl7 |").count(), 1, "{report}");
    assert_eq!(report.matches("| broker |").count(), 1, "{report}");
}
