//! `POST /v1/settlements` against the real broker: per-record answers, byte-identical raw
//! records, the DLQ, authentication, oversize and malformed bodies, and a broker that is down.

use std::time::Duration;

use hub_kafka::headers;

use crate::support::{
    FILE_ONLY_TOKEN, Running, SENDER, TOKEN, consume, invalid, reversal, settings, settlement,
    unreachable_settings,
};
use hub_test_utils::kafka_bootstrap;

#[tokio::test]
async fn mixed_batch_answers_per_record_and_stores_exact_bytes() -> anyhow::Result<()> {
    let running = Running::start(settings(&kafka_bootstrap(), None)).await?;
    let records = [
        settlement("S-1"),
        invalid("S-2"),
        reversal("S-1"),
        settlement("S-1"),
    ];
    let body = format!(
        "[{} ,\n {}, {},{}]",
        records[0], records[1], records[2], records[3]
    );
    let (status, _, answer) = running.post(Some(TOKEN), body).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 3);
    assert_eq!(answer["rejected"], 1);
    let list = answer["records"].as_array().unwrap();
    assert_eq!(list[0]["status"], "accepted");
    assert_eq!(list[0]["message_id"], "S-1");
    assert_eq!(
        list[2]["message_id"], "S-1#2601",
        "a reversal never shares its original's id"
    );
    assert_eq!(list[3]["message_id"], "S-1", "a duplicate gets the same id");
    assert_eq!(list[1]["status"], "rejected");
    assert_eq!(list[1]["index"], 1);
    assert_eq!(list[1]["error_code"], "settlement_invalid_field");
    let errors = list[1]["errors"].to_string();
    for expected in [
        r#"{"field":"psn_no","reason":"missing"}"#,
        r#"{"field":"medfee_sumamt","reason":"too_many_decimals"}"#,
        r#"{"field":"insuplc_admdvs","reason":"not_a_division_code"}"#,
    ] {
        assert!(errors.contains(expected), "{errors}");
    }
    let text = answer.to_string();
    assert!(
        !text.contains("李四") && !text.contains("210102199001011234") && !text.contains("86.405")
    );

    let raw = consume(&running.settings.topic, 3, Duration::from_secs(20)).await?;
    assert_eq!(raw.len(), 3);
    let expected = [&records[0], &records[2], &records[3]];
    for (got, sent) in raw.iter().zip(expected) {
        assert_eq!(got.value, sent.as_bytes(), "byte-identical");
    }
    assert_eq!(raw[0].key, "YB210281:S-1");
    assert_eq!(raw[1].key, "YB210281:S-1#2601");
    let h = &raw[0].headers;
    assert_eq!(h[headers::FACILITY], SENDER);
    assert_eq!(h[headers::SOURCE], "insurance");
    assert_eq!(h[headers::CONTENT_TYPE], "application/json");
    assert_eq!(h[headers::CHARSET], "UTF-8");
    assert_eq!(h[headers::MESSAGE_ID], "S-1");
    assert!(chrono::DateTime::parse_from_rfc3339(&h[headers::RECEIVED_AT]).is_ok());

    let dlq = consume(&running.settings.dlq_topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].value, records[1].as_bytes());
    assert_eq!(dlq[0].key, "YB210281:S-2");
    let h = &dlq[0].headers;
    assert_eq!(h[headers::ERROR_CODE], "settlement_invalid_field");
    assert_eq!(h[headers::ERROR_STAGE], "connector-insurance");
    assert_eq!(h[headers::SOURCE_TOPIC], running.settings.topic);
    assert!(h[headers::ERROR_DETAIL].contains("psn_no: missing"));
    let all: String = h.values().cloned().collect();
    assert!(!all.contains("李四") && !all.contains("210102199001011234"));

    let received = [("sender", SENDER), ("channel", "http")];
    assert_eq!(
        running.metric("hub_insurance_records_received_total", &received),
        4.0
    );
    assert_eq!(
        running.metric("hub_insurance_records_accepted_total", &received),
        3.0
    );
    let code = [("error_code", "settlement_invalid_field")];
    assert_eq!(
        running.metric("hub_insurance_records_rejected_total", &code),
        1.0
    );
    assert_eq!(
        running.metric("hub_insurance_request_duration_seconds", &[]),
        1.0
    );
    let scraped = reqwest::get(format!("http://{}/metrics", running.admin))
        .await?
        .text()
        .await?;
    assert!(
        scraped
            .lines()
            .any(|l| l.starts_with("hub_dlq_published_events_total{")
                && l.contains("error_code=\"settlement_invalid_field\"")
                && l.ends_with(" 1")),
        "{scraped}"
    );
    running.stop().await
}

#[tokio::test]
async fn wrapped_batches_and_tokens() -> anyhow::Result<()> {
    let running = Running::start(settings(&kafka_bootstrap(), None)).await?;
    let body = format!(r#"{{"batch_no":"B1","records":[{}]}}"#, settlement("S-9"));
    let (status, _, answer) = running.post(Some(TOKEN), body.clone()).await?;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );

    let (status, _, answer) = running.post(None, body.clone()).await?;
    assert_eq!(status, 401);
    assert_eq!(answer["error"], "unauthorized");
    let (status, _, _) = running.post(Some("wrong-token"), body.clone()).await?;
    assert_eq!(status, 401);
    let (status, _, answer) = running.post(Some(FILE_ONLY_TOKEN), body).await?;
    assert_eq!(status, 403, "{answer}");

    let big = format!("[{}]", vec![settlement("S-X"); 400].join(","));
    assert!(big.len() > running.settings.max_body_bytes);
    let (status, _, answer) = running.post(Some(TOKEN), big).await?;
    assert_eq!(status, 413);
    assert_eq!(answer["error"], "body_too_large");
    let outcome = [("outcome", "unauthorized")];
    assert_eq!(
        running.metric("hub_insurance_requests_total", &outcome),
        2.0
    );
    running.stop().await
}

#[tokio::test]
async fn malformed_json_is_400_and_kept_in_the_dlq() -> anyhow::Result<()> {
    let running = Running::start(settings(&kafka_bootstrap(), None)).await?;
    let body = r#"[{"setl_id":"S-1","psn_name":"王五"}"#;
    let (status, _, answer) = running.post(Some(TOKEN), body).await?;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_json");
    assert!(answer["message"].as_str().unwrap().contains("line 1"));
    assert!(!answer.to_string().contains("王五"));
    let dlq = consume(&running.settings.dlq_topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].value, body.as_bytes());
    assert_eq!(dlq[0].headers[headers::ERROR_CODE], "invalid_json");
    assert_eq!(dlq[0].headers[headers::FACILITY], SENDER);
    assert_eq!(
        dlq[0].key,
        format!("{SENDER}:{}", dlq[0].headers[headers::MESSAGE_ID])
    );
    running.stop().await
}

#[tokio::test]
async fn broker_down_is_503_and_nothing_is_claimed_stored() -> anyhow::Result<()> {
    let running = Running::start(unreachable_settings(None)).await?;
    let body = format!("[{},{}]", settlement("S-1"), invalid("S-2"));
    let (status, retry_after, answer) = running.post(Some(TOKEN), body).await?;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(retry_after.as_deref(), Some("7"));
    assert_eq!(answer["accepted"], 0);
    assert_eq!(answer["status"], "incomplete");
    let list = answer["records"].as_array().unwrap();
    assert_eq!(list[0]["status"], "not_stored");
    assert_eq!(list[1]["status"], "rejected");
    assert_eq!(list[1]["dead_lettered"], false);
    assert!(!answer.to_string().contains("\"accepted\"}"));

    // A malformed body cannot reach the DLQ either: 503, not 400.
    let (status, _, _) = running.post(Some(TOKEN), "not json").await?;
    assert_eq!(status, 503);
    running.stop().await
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() -> anyhow::Result<()> {
    let dir = crate::support::temp_dir("insurance-tls");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    std::fs::write(dir.join("api.crt"), certified.cert.pem())?;
    std::fs::write(dir.join("api.key"), certified.signing_key.serialize_pem())?;
    let mut s = settings(&kafka_bootstrap(), None);
    s.tls = Some(connector_insurance::settings::TlsSettings {
        cert_file: dir.join("api.crt"),
        key_file: dir.join("api.key"),
    });
    let running = Running::start(s).await?;
    let port = running.base.rsplit(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(
            certified.cert.pem().as_bytes(),
        )?)
        .build()?;
    let response = client
        .post(format!("https://localhost:{port}/v1/settlements"))
        .bearer_auth(TOKEN)
        .body(format!("[{}]", settlement("T-1")))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = response.json().await?;
    assert_eq!(answer["records"][0]["message_id"], "T-1");
    // Plain HTTP on the TLS port gets no answer.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/v1/settlements"))
            .await
            .is_err()
    );
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
