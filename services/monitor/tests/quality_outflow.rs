//! Outflow by diagnosis chapter, data quality per facility (unmapped codes, provisional
//! identities, dead letters of other stages), twelve-month trends, pipeline health and critical
//! imaging findings, through the real broker and PostgreSQL, checked against hand-computed
//! values in the JSON, the gauges and the alert topic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::time::Duration;

use common::county::{self, COUNTY, CRITICAL_IMAGING, CRITICAL_LAB, TWN};
use common::*;
use hub_test_utils::random_name;
use serde_json::Value;

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

fn row<'a>(rows: &'a Value, key: &str, value: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {rows}"))
}

#[tokio::test]
async fn outflow_quality_trends_health_and_imaging_alerts() {
    let stack = Stack::new().await;
    let service = Service::start(stack.settings(&random_name("monitor-quality"))).await;
    let now = chrono::Utc::now().timestamp_millis();
    let mut events = county::events();
    events.extend(county::extras(now));
    events.extend(county::history());
    stack.produce(&events).await;
    let normaliser = [
        ("hub-facility", TWN),
        ("hub-error-code", "hl7_parse_error"),
        ("hub-error-stage", "normaliser"),
    ];
    stack.dead_letter("normaliser", &normaliser).await;
    stack.dead_letter("normaliser", &normaliser).await;
    stack
        .dead_letter("connector-hl7", &[("hub-error-code", "mllp_frame_error")])
        .await;
    let total = events.len() as u64 + 3;
    eventually(60, "everything consumed", || async {
        service.received().await >= total
    })
    .await;

    let period = county::month().to_string();
    let month = service
        .json(&format!("/indicators?county={COUNTY}&period={period}"))
        .await;

    // Outflow by chapter, in chapter order.
    let outflow = &month["outflow"];
    let chapters: Vec<&str> = outflow
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["chapter"].as_str().unwrap())
        .collect();
    assert_eq!(chapters, ["II", "IV", "X", "TCM", "none"], "{outflow}");
    let ii = row(outflow, "chapter", "II");
    assert_eq!(
        (ii["visits"].clone(), ii["visits_out_of_county"].clone()),
        (10.into(), 6.into())
    );
    assert!(close(&ii["visit_outflow_share"], 0.6) && close(&ii["stay_outflow_share"], 0.6));
    assert_eq!(ii["name"], "肿瘤");
    let iv = row(outflow, "chapter", "IV");
    assert_eq!(
        (iv["visits"].clone(), iv["suppressed"].clone()),
        (Value::Null, true.into())
    );
    let x = row(outflow, "chapter", "X");
    assert!(close(&x["visit_outflow_share"], 0.0), "{x}");
    assert_eq!(
        (x["stays"].clone(), x["stay_outflow_share"].clone()),
        (0.into(), Value::Null)
    );
    // The base county's settlements carry no diagnosis: 10 visits, 2 of them out of the county
    // (withheld, < 5); 6 stays, 1 out (withheld).
    let none = row(outflow, "chapter", "none");
    assert_eq!(none["visits"], 10);
    assert_eq!(none["visits_out_of_county"], Value::Null);
    assert_eq!(
        (none["stays"].clone(), none["stays_out_of_county"].clone()),
        (6.into(), Value::Null)
    );

    // Data quality of the township.
    let quality = &month["data_quality"];
    let twn = row(&quality["facilities"], "facility", TWN);
    assert_eq!(twn["lab_results"], 4, "{twn}");
    assert_eq!(twn["unmapped_lab_codes"], 2);
    assert!(close(&twn["unmapped_code_share"], 0.5));
    assert_eq!(twn["unmapped_diagnoses"], 1);
    assert_eq!(twn["identity_resolutions"], 8);
    assert_eq!(twn["provisional_identities"], 2);
    assert!(close(&twn["unmatched_identity_share"], 0.25));
    assert_eq!(twn["open_identity_reviews"], 1, "rv-1 resolved, rv-2 open");
    assert_eq!(
        (
            twn["messages_resolved"].clone(),
            twn["dead_letters"].clone()
        ),
        (8.into(), 2.into())
    );
    assert!(close(&twn["dlq_rate"], 0.2));
    let village = row(&quality["facilities"], "facility", county::VIL);
    assert_eq!(
        village["unmapped_code_share"],
        Value::Null,
        "no lab results"
    );
    let normaliser_dlq = row(&quality["dead_letters"], "stage", "normaliser");
    assert_eq!(
        (
            normaliser_dlq["dead_letters"].clone(),
            normaliser_dlq["unattributed"].clone()
        ),
        (2.into(), 0.into())
    );
    let hl7_dlq = row(&quality["dead_letters"], "stage", "connector-hl7");
    assert_eq!(
        (
            hl7_dlq["dead_letters"].clone(),
            hl7_dlq["unattributed"].clone()
        ),
        (1.into(), 1.into())
    );

    // Trends: twelve months to this one; this month 19 of 28 settled visits in the county (base
    // 8/10, chapter II 4/10, X 5/5, IV 1/2, TCM 1/1), then 0.8, 1.0 and a suppressed month.
    let trend = service
        .json(&format!(
            "/indicators/trend?county={COUNTY}&period={period}"
        ))
        .await;
    let months = trend["months"].as_array().unwrap();
    assert_eq!(
        (months.len(), months[11].as_str()),
        (12, Some(period.as_str()))
    );
    let rate = row(&trend["series"], "id", "in_county_visit_rate");
    let values = rate["values"].as_array().unwrap();
    assert!(close(&values[11], 19.0 / 28.0), "{rate}");
    assert!(close(&values[10], 0.8) && close(&values[9], 1.0), "{rate}");
    assert_eq!(
        (values[8].clone(), values[0].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(rate["targets"][11], 0.9);

    // Pipeline health: the identity decisions and dead letters arrived in the last hour.
    let pipeline = service.json(&format!("/pipeline?county={COUNTY}")).await;
    assert_eq!(
        row(&pipeline["events_last_hour"], "entity", "identity-link")["events"],
        11
    );
    assert_eq!(
        row(&pipeline["dead_letters_last_hour"], "stage", "normaliser")["dead_letters"],
        2
    );
    let seen = row(&pipeline["facilities"], "facility", TWN);
    assert_eq!(seen["silent"], false, "{seen}");
    let quiet = row(&pipeline["facilities"], "facility", "H21028100014");
    assert_eq!(
        (quiet["silent"].clone(), quiet["last_event_ms"].clone()),
        (true.into(), Value::Null)
    );
    assert!(
        !pipeline["facilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["level"] == "pharmacy"),
        "pharmacies send nothing themselves"
    );

    // Gauges (refreshed every second from the database).
    eventually(20, "the outflow and data-quality gauges", || async {
        let (_, m) = service.get("/metrics").await;
        m.contains(&format!("hub_indicator_chapter_value{{chapter=\"II\",county=\"{COUNTY}\",indicator=\"outflow_visit_share\",scope=\"month\",service=\"monitor\"}} 0.6"))
            && m.contains(&format!("hub_indicator_facility_value{{county=\"{COUNTY}\",facility=\"{TWN}\",indicator=\"dlq_rate\",scope=\"month\",service=\"monitor\"}} 0.2"))
            && m.contains("hub_monitor_dead_letters_last_hour{stage=\"normaliser\",service=\"monitor\"} 2")
            && m.contains(&format!("hub_monitor_silent_facilities{{county=\"{COUNTY}\",service=\"monitor\"}}"))
    })
    .await;
    let (_, metrics) = service.get("/metrics").await;
    assert!(
        !metrics.contains("chapter=\"IV\""),
        "suppressed chapters are absent"
    );

    // The critical CT finding and the critical potassium each raised one alert.
    let alerts = stack.alerts(Duration::from_secs(4)).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let imaging = alerts
        .iter()
        .find(|a| a.source_event_id == CRITICAL_IMAGING)
        .unwrap();
    assert_eq!(
        imaging.alert_id,
        monitor::alerts::imaging_alert_id(CRITICAL_IMAGING)
    );
    assert_eq!(
        imaging.alert_type,
        hub_schemas::ClinicalAlertType::CriticalImagingFinding
    );
    assert_eq!(imaging.notify_facility_code, TWN);
    assert!(alerts.iter().any(|a| a.source_event_id == CRITICAL_LAB));
    service.stop().await;
}
