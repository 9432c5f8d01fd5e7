//! Settlement endpoint throughput: the connector started in-process against a real broker,
//! several concurrent clients POSTing batches of valid NHSA 2207 settlements to
//! `/v1/settlements`, each answer awaited (commit-then-answer: every record of a batch confirmed
//! by the broker before the 200). Prints records/s and the request latency percentiles, and
//! writes them to `target/bench/settlement_ingest.txt`. Not a test:
//! `scripts/stack.sh broker-start 19093 memory /tmp/bench-broker`, then
//! `HUB_BENCH_KAFKA=127.0.0.1:19093 cargo bench -p connector-insurance --bench settlement_ingest`.
//! `BENCH_CLIENTS`, `BENCH_BATCH` and `BENCH_RECORDS` override the shape (default 4 clients,
//! 100 records per batch, 50 000 records).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // A benchmark's output.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use connector_insurance::auth::token_hash;
use connector_insurance::{Connector, SenderSettings, Settings};
use hdrhistogram::Histogram;
use hub_kafka::KafkaSettings;
use hub_test_utils::random_name;

const TOKEN: &str = "bench-token";
const SENDER: &str = "YB210281";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A valid outpatient settlement (NHSA 2207 shape) with a unique `setl_id`.
fn settlement(n: usize) -> String {
    format!(
        r#"{{"infno":"2207","setl_id":"BENCH{n:09}","psn_no":"2102810000000000{n:010}","mdtrt_id":"M{n}","fixmedins_code":"H21028100011","insuplc_admdvs":"210281","insutype":"390","med_type":"11","setl_time":"2026-11-02 09:41:27","medfee_sumamt":"86.40","fund_pay_sumamt":"43.20","psn_cash_pay":"43.20","psn_name":"张三","dise_codg":"J06.900"}}"#
    )
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let Ok(bootstrap) = std::env::var("HUB_BENCH_KAFKA") else {
        anyhow::bail!("set HUB_BENCH_KAFKA to a broker (e.g. scripts/stack.sh broker-start)");
    };
    let clients = env_usize("BENCH_CLIENTS", 4).max(1);
    let batch = env_usize("BENCH_BATCH", 100).max(1);
    let total = env_usize("BENCH_RECORDS", 50_000).max(batch);
    let batches = total / batch;

    let mut sender = SenderSettings::new(SENDER);
    sender.token_sha256 = vec![token_hash(TOKEN)];
    let settings = Settings {
        api_listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        kafka: KafkaSettings::with_bootstrap(&bootstrap),
        topic: random_name("bench.raw.insurance.settlement"),
        dlq_topic: random_name("bench.dlq.connector-insurance"),
        topic_partitions: 4,
        senders: vec![sender],
        ..Settings::default()
    };
    let topic = settings.topic.clone();
    let connector = Connector::bind(settings).await?;
    let url = format!("http://{}/v1/settlements", connector.api_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(connector.run(async {
        let _ = stopped.await;
    }));

    // Bodies prepared up front: the clients measure the endpoint, not JSON formatting.
    let bodies: Vec<String> = (0..batches)
        .map(|b| {
            let records: Vec<String> = (0..batch).map(|i| settlement(b * batch + i)).collect();
            format!("[{}]", records.join(","))
        })
        .collect();
    let body_bytes = bodies.first().map_or(0, String::len);
    let client = reqwest::Client::new();
    // Warm-up: topic metadata, connections, the producer's first batch.
    for body in bodies.iter().take(clients) {
        let response = client
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 200,
            "warm-up got {}",
            response.status()
        );
    }

    let bodies = std::sync::Arc::new(bodies);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(clients));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, bodies, next) =
            (client.clone(), url.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).unwrap();
            let mut records = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let answer: serde_json::Value = response.json().await.unwrap();
                assert_eq!(status, 200, "{answer}");
                assert_eq!(answer["accepted"], batch, "{answer}");
                latency
                    .record(sent.elapsed().as_micros().max(1) as u64)
                    .unwrap();
                records += batch;
            }
            (latency, records)
        }));
    }
    let mut latency = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let mut records = 0;
    for task in tasks {
        let (h, n) = task.await?;
        latency.add(h)?;
        records += n;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(60), task).await???;

    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let mut out = String::new();
    writeln!(
        out,
        "settlement_ingest: POST /v1/settlements, commit-then-answer, broker {bootstrap}"
    )?;
    writeln!(
        out,
        "  {clients} concurrent clients, {batch} records per batch ({body_bytes} bytes), {records} records in {} requests (after {clients} warm-up requests), topic {topic} (4 partitions)",
        latency.len()
    )?;
    writeln!(
        out,
        "  throughput: {:.0} records/s ({:.1} requests/s) over {:.2} s",
        records as f64 / elapsed.as_secs_f64(),
        latency.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    )?;
    writeln!(
        out,
        "  request latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        latency.max() as f64 / 1000.0
    )?;
    println!("{out}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("settlement_ingest.txt");
    std::fs::write(&file, &out)?;
    println!("written to {}", file.display());
    Ok(())
}
