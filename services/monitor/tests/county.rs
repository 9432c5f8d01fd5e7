//! The monitor against the real broker, PostgreSQL and the hub's registry (in-process): a small
//! synthetic county through the canonical topics, every indicator checked against values
//! computed by hand, a restart and a replaying second instance giving the same numbers, the
//! critical-value alert produced once, and the dashboard, JSON and metrics endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::time::Duration;

use common::county::{self, COUNTY, CRITICAL_LAB, IMG, LAB, TWN};
use common::*;
use hub_test_utils::random_name;
use serde_json::Value;

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

/// Asserts every indicator of the month report against the hand-computed values.
fn assert_month(report: &Value) {
    let ind = by_id(report);
    let value = |id: &str| ind[id]["value"].clone();
    // Settled visits of county-insured: 1,2,3,4,5,6,7,8,12,13 (9 reversed, 10 pharmacy, 11
    // insured elsewhere); at in-county facilities: all but 6 and 7.
    assert!(
        close(&value("in_county_visit_rate"), 8.0 / 10.0),
        "{report}"
    );
    assert!(close(&ind["in_county_visit_rate"]["numerator"], 8.0));
    assert!(close(&ind["in_county_visit_rate"]["denominator"], 10.0));
    assert_eq!(ind["in_county_visit_rate"]["target"], 0.9);
    assert_eq!(ind["in_county_visit_rate"]["meets_target"], false);
    // Inpatient stays 2,3,6,8,12,13; in county all but 6.
    assert!(close(
        &value("insured_inpatient_in_county_share"),
        5.0 / 6.0
    ));
    // Encounters: 8 outpatient/emergency visits in county (e9 cancelled), 5 at primary care.
    assert!(close(&value("primary_care_visit_share"), 5.0 / 8.0));
    assert_eq!(ind["primary_care_visit_share"]["meets_target"], false);
    // Fund (fen): settlement 4 corrected to 4,000; reversal of 9 nets it out.
    let all = 6_000 + 560_000 + 420_000 + 4_000 + 1_600 + 900_000 + 15_000 + 240_000;
    let all = f64::from(all + 350_000 + 320_000);
    let in_county = all - 900_000.0 - 15_000.0;
    let primary = f64::from(4_000 + 1_600 + 240_000 + 320_000);
    assert!(close(&value("fund_in_county_share"), in_county / all));
    assert!(close(
        &ind["fund_in_county_share"]["denominator"],
        all / 100.0
    ));
    assert!(close(
        &value("fund_primary_care_share"),
        primary / in_county
    ));
    // Mean in-county inpatient cost (yuan) over stays 2,3,8,12,13.
    let cost = f64::from(800_000 + 600_000 + 300_000 + 500_000 + 400_000) / 100.0 / 5.0;
    assert!(close(&value("mean_inpatient_cost_in_county"), cost));
    assert_eq!(
        ind["mean_inpatient_cost_growth"]["suppressed"], true,
        "no prior year"
    );
    // Referrals: 6 up (x1 cancelled), 3 down (d2's direction from the registry tiers).
    assert!(close(&value("referrals_up"), 6.0));
    assert_eq!(
        ind["referrals_down"]["suppressed"], true,
        "3 is a small cell"
    );
    assert_eq!(ind["referrals_down"]["value"], Value::Null);
    assert!(close(&value("downward_referral_share"), 3.0 / 9.0));
    // Shared lab: 30, 60, 90, 120, 150 minutes; p90 interpolated: 120 + 0.6 * 30.
    assert!(close(
        &value(&format!("lab_turnaround_p50_minutes@{LAB}")),
        90.0
    ));
    assert!(close(
        &value(&format!("lab_turnaround_p90_minutes@{LAB}")),
        138.0
    ));
    // Shared imaging: a single order, suppressed.
    let img = &ind[&format!("imaging_turnaround_p50_minutes@{IMG}")];
    assert_eq!(
        (img["suppressed"].clone(), img["value"].clone()),
        (Value::Bool(true), Value::Null)
    );
    // Flows by level: every cell below 5, all suppressed but listed.
    let flows = report["referral_flows"].as_array().unwrap();
    assert_eq!(flows.len(), 7, "{flows:?}");
    assert!(
        flows
            .iter()
            .all(|f| f["suppressed"] == true && f["count"].is_null())
    );
    assert_eq!(report["data_quality"]["unknown_facility_events"], 0);
}

#[tokio::test]
async fn a_synthetic_county_gives_the_hand_computed_indicators_restarts_and_replays() {
    let stack = Stack::new().await;
    let group = random_name("monitor-test");
    let first = Service::start(stack.settings(&group)).await;
    let events = county::events();
    stack.produce(&events).await;
    let total = events.len() as u64;
    eventually(60, "the first instance to consume everything", || async {
        first.received().await >= total
    })
    .await;

    let period = county::month().to_string();
    let path = format!("/indicators?county={COUNTY}&period={period}");
    // Counted on receipt, written in batches: wait until the last batches are in the database
    // (settlements, lab results and referrals all show), then check every figure.
    eventually(20, "the indicators of every event", || async {
        let month = first.json(&path).await;
        let ind = by_id(&month);
        close(&ind["in_county_visit_rate"]["value"], 0.8)
            && close(&ind["referrals_up"]["value"], 6.0)
            && ind["lab_turnaround_p50_minutes@H21028100003"]["value"].is_number()
    })
    .await;
    let month = first.json(&path).await;
    assert_month(&month);
    let ytd = first
        .json(&format!("/indicators/ytd?county={COUNTY}&period={period}"))
        .await;
    assert_eq!(ytd["scope"], "ytd");
    assert!(
        close(&by_id(&ytd)["in_county_visit_rate"]["value"], 0.8),
        "{ytd}"
    );

    // Gauges, refreshed from the database every second (current month = the data's month).
    // A refresh that started while the events were still arriving may show part of them: wait
    // for one that shows the first (settlements) and the last (lab results) together.
    eventually(20, "the gauges", || async {
        let (_, metrics) = first.get("/metrics").await;
        metrics.contains(&format!(
            "hub_indicator_value{{county=\"{COUNTY}\",indicator=\"in_county_visit_rate\",scope=\"month\",service=\"monitor\"}} 0.8"
        )) && metrics.contains("indicator=\"lab_turnaround_p50_minutes\"")
            && metrics.contains("indicator=\"referrals_up\",scope=\"month\",service=\"monitor\"} 6")
    })
    .await;
    let (_, metrics) = first.get("/metrics").await;
    assert!(metrics.contains(&format!(
        "hub_indicator_facility_value{{county=\"{COUNTY}\",facility=\"{LAB}\",indicator=\"lab_turnaround_p50_minutes\",scope=\"ytd\",service=\"monitor\"}} 90"
    )), "{metrics}");
    assert!(
        !metrics.contains("indicator=\"referrals_down\""),
        "suppressed cells are absent"
    );
    assert!(metrics.contains(
        "hub_indicator_target{county=\"210281\",indicator=\"primary_care_visit_share\",service=\"monitor\"} 0.65"
    ));

    // Dashboard and input validation.
    let (status, html) = first
        .get(&format!("/?county={COUNTY}&period={period}"))
        .await;
    assert_eq!(status, 200);
    for needle in [
        "县域内就诊率",
        "80.0%",
        "62.5%",
        "suppressed (&lt;5)",
        "township_centre",
    ] {
        assert!(html.contains(needle), "dashboard lacks {needle}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
    assert_eq!(first.get("/indicators?county=21028X").await.0, 400);
    assert_eq!(first.get("/indicators?period=2026-13").await.0, 400);
    first.stop().await;

    // Restart: a new instance on the same database and group reads the same numbers.
    let second = Service::start(stack.settings(&group)).await;
    assert_eq!(second.json(&path).await["indicators"], month["indicators"]);
    second.stop().await;

    // Scale-out / replay: another group re-consumes everything into the same database (and the
    // lab result a third time): the numbers do not move and no alert is produced again.
    let replay = Service::start(stack.settings(&random_name("monitor-replay"))).await;
    eventually(
        60,
        "the replaying instance to consume everything",
        || async { replay.received().await >= total },
    )
    .await;
    assert_eq!(replay.json(&path).await["indicators"], month["indicators"]);

    let alerts = stack.alerts(Duration::from_secs(5)).await;
    assert_eq!(
        alerts.len(),
        1,
        "one alert despite three deliveries: {alerts:?}"
    );
    let alert = &alerts[0];
    assert_eq!(alert.source_event_id, CRITICAL_LAB);
    assert_eq!(alert.alert_id, monitor::alerts::alert_id(CRITICAL_LAB));
    assert_eq!(alert.notify_facility_code, TWN, "the ordering facility");
    assert_eq!(
        alert.threshold_text.as_deref(),
        Some(">= 6.2 mmol/L (2823-3)")
    );
    replay.stop().await;
}
