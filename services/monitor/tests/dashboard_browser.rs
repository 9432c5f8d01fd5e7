//! The dashboard in a real headless browser (Debian's `chromium`): the monitor serves a known
//! synthetic county (this month, three earlier months, outflow, data quality, dead letters), and
//! the rendered page must show the indicators, trends, flows and tables with no console message
//! (the page has no script, so any console output is an error: a failed resource, a blocked
//! load, a script error). A screenshot is taken every run and checked to be a 1280×2000 PNG;
//! `HUB_UPDATE_SCREENSHOT=1` also writes it to `docs/monitor-dashboard.png`.
//!
//! Skipped, saying so, when no `chromium` is installed (`scripts/setup.sh` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::county::{self, COUNTY, TWN};
use common::*;
use hub_test_utils::random_name;

const WINDOW: (u32, u32) = (1280, 2000);

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs headless chromium on `url` with `args`; returns (stdout, console lines of stderr).
fn run_chromium(
    binary: &Path,
    profile: &Path,
    url: &str,
    args: &[String],
) -> (String, Vec<String>) {
    let output = Command::new(binary)
        .args([
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        console,
    )
}

/// Width and height of a PNG file from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_in_headless_chromium_without_console_errors() {
    let Some(binary) = chromium() else {
        eprintln!(
            "SKIPPED: no /usr/bin/chromium; run scripts/setup.sh (installs Debian's chromium) to \
             test the dashboard in a browser"
        );
        return;
    };
    let scratch = std::env::temp_dir().join(random_name("dashboard-browser"));
    std::fs::create_dir_all(&scratch).unwrap();

    // The harness itself: a console error must be caught on this chromium build.
    let (_, console) = run_chromium(
        &binary,
        &scratch.join("profile-check"),
        "data:text/html,<p>x</p><script>console.error('seen')</script>",
        &["--dump-dom".to_owned()],
    );
    assert!(
        console.iter().any(|l| l.contains("seen")),
        "chromium's console is not visible on stderr: {console:?}"
    );

    let stack = Stack::new().await;
    let service = Service::start(stack.settings(&random_name("monitor-browser"))).await;
    let now = chrono::Utc::now().timestamp_millis();
    let mut events = county::events();
    events.extend(county::extras(now));
    events.extend(county::history());
    stack.produce(&events).await;
    let dead = [
        ("hub-facility", TWN),
        ("hub-error-code", "hl7_parse_error"),
        ("hub-error-stage", "normaliser"),
    ];
    stack.dead_letter("normaliser", &dead).await;
    let total = events.len() as u64 + 1;
    eventually(60, "everything consumed", || async {
        service.received().await >= total
    })
    .await;

    let url = format!(
        "{}/?county={COUNTY}&period={}",
        service.url,
        county::month()
    );
    let (binary_dom, url_dom) = (binary.clone(), url.clone());
    let profile = scratch.join("profile-dom");
    let (dom, console) = tokio::task::spawn_blocking(move || {
        run_chromium(&binary_dom, &profile, &url_dom, &["--dump-dom".to_owned()])
    })
    .await
    .unwrap();
    assert!(console.is_empty(), "console messages: {console:?}");
    for needle in [
        "县域医共体监测指标",
        "data-indicator=\"in_county_visit_rate\"",
        "data-indicator=\"primary_care_visit_share\"",
        "data-indicator=\"lab_turnaround_p90_minutes\"",
        "县域内就诊率",
        "67.9%", // in-county visit rate, 19 of 28
        "62.5%", // primary-care share, 5 of 8
        "suppressed (&lt;5)",
        "data-chapter=\"II\"",
        "肿瘤",
        "60.0%", // chapter II outflow
        "aria-label=\"referral flows between facility levels\"",
        "乡镇卫生院 township",
        "Pipeline health",
        "dlq.normaliser",
        "silent",
    ] {
        assert!(dom.contains(needle), "the rendered page lacks {needle}");
    }
    // One trend line per indicator row, and an arrow per drawn flow.
    let rows = dom.matches("<tr data-indicator=").count();
    assert!(rows >= 12, "{rows} indicator rows");
    assert_eq!(dom.matches("class=\"spark\"").count(), rows);
    assert!(dom.matches("marker-end=").count() >= 5, "flow arrows");

    let shot = scratch.join("dashboard.png");
    let (binary_shot, profile) = (binary.clone(), scratch.join("profile-shot"));
    let shot_arg = format!("--screenshot={}", shot.display());
    let (_, console) = tokio::task::spawn_blocking(move || {
        run_chromium(&binary_shot, &profile, &url, &[shot_arg])
    })
    .await
    .unwrap();
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(png_size(&png), WINDOW);
    assert!(
        png.len() > 50_000,
        "a nearly blank page: {} bytes",
        png.len()
    );
    if std::env::var("HUB_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("monitor-dashboard.png"), &png).unwrap();
    }
    service.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
}
