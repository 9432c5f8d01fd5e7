//! `max_in_flight_requests` of `POST /v1/instances` against a stalled broker: the connector in-process against its own
//! tansu broker, frozen with `SIGSTOP` (sockets open, nothing answered). The admitted requests
//! wait for the broker; the ones beyond the cap are answered 503 `busy` with `Retry-After` at
//! once, while the first are still pending; after `SIGCONT` the admitted ones are answered 200
//! and their records are in the raw topic, and the permits are free again.

use std::time::{Duration, Instant};

use hub_test_utils::random_name;
use hub_test_utils::tansu::{Storage, Tansu, free_port};

use serde_json::json;

use crate::http::instance;
use crate::support::{Running, SENDER, TOKEN, consume_from, eventually, post_to, settings};

const MAX_IN_FLIGHT: usize = 2;
const EXTRA: usize = 3;
/// A busy answer must come this fast although the broker is frozen.
const PROMPT: Duration = Duration::from_secs(2);
/// How long the broker stays frozen after the busy answers.
const HOLD: Duration = Duration::from_secs(1);

#[tokio::test]
async fn requests_beyond_the_cap_are_busy_while_the_broker_is_frozen() -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(random_name("imaging-busy"));
    let broker = Tansu::start(&dir, free_port()?, Storage::Memory)?;
    let mut s = settings(&broker.bootstrap(), None);
    s.max_in_flight_requests = MAX_IN_FLIGHT;
    // Far beyond the freeze: the admitted requests wait for the broker instead of failing.
    s.kafka.message_timeout_ms = 15_000;
    let running = Running::start(s).await?;
    let topic = running.settings.topic.clone();

    // A first batch through a live broker: topic, metadata and producer are in place.
    let (status, _, answer) = running.post(Some(TOKEN), body("1.2.156.9.9.0")).await?;
    assert_eq!(status, 200, "{answer}");
    let bytes = [("sender", SENDER), ("channel", "http")];
    let warm = running.metric("hub_imaging_received_bytes_total", &bytes);

    broker.freeze()?;
    let admitted: Vec<_> = (0..MAX_IN_FLIGHT)
        .map(|i| {
            let (base, id) = (running.base.clone(), format!("1.2.156.9.9.1{i}"));
            tokio::spawn(async move { post(&base, &id).await })
        })
        .collect();
    // Both bodies are read (the bytes counted) only once their permits were taken.
    let body_len = body("1.2.156.9.9.10").len() as f64;
    let expected = warm + body_len * MAX_IN_FLIGHT as f64;
    assert!(
        eventually(Duration::from_secs(5), || {
            running.metric("hub_imaging_received_bytes_total", &bytes) >= expected
        })
        .await,
        "the admitted requests were not read"
    );

    let asked = Instant::now();
    let extra: Vec<_> = (0..EXTRA)
        .map(|i| {
            let (base, id) = (running.base.clone(), format!("1.2.156.9.9.2{i}"));
            tokio::spawn(async move { post(&base, &id).await })
        })
        .collect();
    for handle in extra {
        let (status, retry_after, answer) = tokio::time::timeout(PROMPT, handle).await???;
        assert_eq!(status, 503, "{answer}");
        assert_eq!(retry_after.as_deref(), Some("7"));
        assert_eq!(answer["error"], "busy");
        assert!(answer["message"].is_string(), "{answer}");
    }
    assert!(asked.elapsed() < PROMPT);
    // A while longer: the admitted ones really wait for the broker, they are not merely slow.
    tokio::time::sleep(HOLD).await;
    assert!(
        admitted.iter().all(|h| !h.is_finished()),
        "the admitted requests must still wait for the frozen broker"
    );
    let busy = [("sender", SENDER), ("outcome", "busy")];
    assert_eq!(
        running.metric("hub_imaging_requests_total", &busy),
        EXTRA as f64
    );
    assert_eq!(
        running.metric("hub_imaging_received_bytes_total", &bytes),
        expected,
        "no busy body was read"
    );
    // The token is checked before the permit: a bad token is still 401, not busy.
    let (status, _, _) = running.post(None, "[]").await?;
    assert_eq!(status, 401);

    broker.thaw()?;
    for handle in admitted {
        let (status, _, answer) = tokio::time::timeout(Duration::from_secs(10), handle).await???;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["stored"], 1, "{answer}");
    }
    // The permits are back.
    let (status, _, answer) = running.post(Some(TOKEN), body("1.2.156.9.9.3")).await?;
    assert_eq!(status, 200, "{answer}");

    let raw = consume_from(&broker.bootstrap(), &topic, 4, Duration::from_secs(10)).await?;
    let mut keys: Vec<_> = raw.iter().map(|r| r.key.clone()).collect();
    keys.sort();
    let expected: Vec<_> = [
        "1.2.156.9.9.0",
        "1.2.156.9.9.10",
        "1.2.156.9.9.11",
        "1.2.156.9.9.3",
    ]
    .iter()
    .map(|id| format!("{SENDER}:{id}"))
    .collect();
    assert_eq!(
        keys, expected,
        "the admitted instances are stored, the busy ones are not"
    );
    running.stop().await?;
    drop(broker);
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

/// A body of the one instance `sop`.
fn body(sop: &str) -> String {
    json!([instance(sop)]).to_string()
}

/// POSTs the one instance `sop` from a task of its own.
async fn post(base: &str, sop: &str) -> anyhow::Result<(u16, Option<String>, serde_json::Value)> {
    post_to(base, Some(TOKEN), body(sop)).await
}
