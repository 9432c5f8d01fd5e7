//! `POST /v1/instances` against the real broker: DICOM JSON as QIDO-RS returns it, tokens,
//! limits, malformed bodies kept in the DLQ, a broker that is down.

use std::time::Duration;

use hub_kafka::headers;
use hub_test_utils::kafka_bootstrap;
use serde_json::{Value, json};

use crate::support::{
    FILE_ONLY_TOKEN, Running, SENDER, TOKEN, consume, settings, unreachable_settings,
};

/// One instance as a PACS's QIDO-RS answer (PS3.18 F.2) shapes it.
pub fn instance(sop: &str) -> Value {
    json!({
        "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
        "00080018": {"vr": "UI", "Value": [sop]},
        "00080020": {"vr": "DA", "Value": ["20261102"]},
        "00080050": {"vr": "SH", "Value": ["A2026110200017"]},
        "00080060": {"vr": "CS", "Value": ["DX"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Zhang^San", "Ideographic": "张三^三"}]},
        "00100020": {"vr": "LO", "Value": ["MRN0001"]},
        "0020000D": {"vr": "UI", "Value": ["1.2.156.9.1"]},
        "0020000E": {"vr": "UI", "Value": ["1.2.156.9.1.1"]},
        "00091001": {"vr": "OB", "InlineBinary": "AAECAw=="},
        "7FE00010": {"vr": "OW", "BulkDataURI": "https://pacs/studies/1.2.156.9.1/frames/1"}
    })
}

#[tokio::test]
async fn a_qido_array_is_stored_one_instance_per_message() -> anyhow::Result<()> {
    let running = Running::start(settings(&kafka_bootstrap(), None)).await?;
    let body = json!([instance("1.2.156.9.1.1.1"), instance("1.2.156.9.1.1.2")]);
    let (status, _, answer) = running.post(Some(TOKEN), body.to_string()).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["stored"], 2);
    assert_eq!(
        answer["instances"][1]["sop_instance_uid"],
        "1.2.156.9.1.1.2"
    );
    let raw = consume(&running.settings.topic, 2, Duration::from_secs(20)).await?;
    assert_eq!(raw.len(), 2);
    let first = raw
        .iter()
        .find(|r| r.key == format!("{SENDER}:1.2.156.9.1.1.1"))
        .unwrap();
    let v: Value = serde_json::from_slice(&first.value)?;
    assert_eq!(v["00100010"]["Value"][0]["Ideographic"], "张三^三");
    assert!(v.get("7FE00010").is_none(), "pixel data reference dropped");
    assert_eq!(v["00091001"], json!({"vr": "OB"}), "inline binary dropped");
    assert_eq!(
        first.headers[headers::CONTENT_TYPE],
        "application/dicom+json"
    );
    assert_eq!(first.headers["hub-dicom-charset"], "ISO_IR 192");
    assert_eq!(first.headers[headers::MESSAGE_ID], "1.2.156.9.1.1.1");
    let ok = [("sender", SENDER), ("outcome", "accepted")];
    assert_eq!(running.metric("hub_imaging_requests_total", &ok), 1.0);
    running.stop().await
}

#[tokio::test]
async fn tokens_and_limits() -> anyhow::Result<()> {
    let running = Running::start(settings(&kafka_bootstrap(), None)).await?;
    let body = json!([instance("1.2.156.9.2.1")]).to_string();
    assert_eq!(running.post(None, body.clone()).await?.0, 401);
    assert_eq!(running.post(Some("wrong"), body.clone()).await?.0, 401);
    assert_eq!(
        running.post(Some(FILE_ONLY_TOKEN), body.clone()).await?.0,
        403
    );
    // The test settings allow 64 KiB.
    let many: Vec<Value> = (0..200)
        .map(|i| instance(&format!("1.2.156.9.2.{i}")))
        .collect();
    let (status, _, answer) = running.post(Some(TOKEN), json!(many).to_string()).await?;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], "body_too_large");
    let metrics = reqwest::get(format!("http://{}/metrics", running.admin))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains(r#"hub_imaging_requests_total{outcome="unauthorized",sender="unknown""#),
        "{metrics}"
    );
    assert!(metrics.contains("hub_imaging_ack_duration_seconds_bucket"));
    assert!(
        consume(&running.settings.topic, 1, Duration::from_secs(2))
            .await?
            .is_empty()
    );
    running.stop().await
}

#[tokio::test]
async fn malformed_bodies_are_400_and_kept_in_the_dlq() -> anyhow::Result<()> {
    let running = Running::start(settings(&kafka_bootstrap(), None)).await?;
    let (status, _, answer) = running.post(Some(TOKEN), "{not json").await?;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "dicom_json_invalid");
    let mut no_uid = instance("1.2.156.9.3.2");
    no_uid.as_object_mut().unwrap().remove("00080018");
    let body = json!([instance("1.2.156.9.3.1"), no_uid]).to_string();
    let (status, _, answer) = running.post(Some(TOKEN), body.clone()).await?;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "dicom_missing_uid");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("instance 1:")
    );
    let dlq = consume(&running.settings.dlq_topic, 2, Duration::from_secs(20)).await?;
    assert_eq!(dlq.len(), 2);
    assert_eq!(dlq[0].value, b"{not json");
    assert_eq!(dlq[1].value, body.as_bytes());
    assert_eq!(dlq[1].headers[headers::ERROR_CODE], "dicom_missing_uid");
    assert_eq!(dlq[1].headers[headers::FACILITY], SENDER);
    assert!(
        consume(&running.settings.topic, 1, Duration::from_secs(2))
            .await?
            .is_empty(),
        "a request is taken whole or not at all"
    );
    running.stop().await
}

#[tokio::test]
async fn broker_down_is_503() -> anyhow::Result<()> {
    let running = Running::start(unreachable_settings(None)).await?;
    let body = json!([instance("1.2.156.9.4.1")]).to_string();
    let (status, retry, answer) = running.post(Some(TOKEN), body).await?;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(retry.as_deref(), Some("7"));
    assert_eq!(answer["instances"][0]["status"], "not_stored");
    tokio::time::timeout(Duration::from_secs(30), running.stop()).await?
}
