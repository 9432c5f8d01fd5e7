//! A real Prometheus (Debian's `prometheus` package, installed by `scripts/setup.sh`) scrapes a
//! monitor that consumed the synthetic county through the real broker, with the repository's
//! alert rules loaded: a PromQL query for an indicator returns the value the monitor computed,
//! the target is up, and every rule group loads and evaluates without error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::time::Duration;

use common::county::{self, COUNTY};
use common::*;
use hub_test_utils::random_name;
use serde_json::Value;

/// A Prometheus server process on a loopback port, killed when dropped.
struct Prometheus {
    child: std::process::Child,
    url: String,
    dir: std::path::PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Prometheus {
    /// Scrapes `target` (host:port) every second as job `monitor`, with `deploy/prometheus/alerts.yml`.
    fn start(target: &str) -> Self {
        let dir = std::env::temp_dir().join(random_name("prometheus"));
        std::fs::create_dir_all(&dir).unwrap();
        let rules = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/prometheus/alerts.yml"
        );
        std::fs::copy(rules, dir.join("alerts.yml")).unwrap();
        std::fs::write(
            dir.join("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 rule_files: [alerts.yml]\n\
                 scrape_configs:\n  - job_name: monitor\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let binary = std::env::var("HUB_PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into());
        let child = std::process::Command::new(&binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {binary} ({e}): run scripts/setup.sh (Debian package prometheus)"
                )
            });
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// `GET /api/v1/<path>?query=<promql>` (the query percent-encoded).
    async fn api(&self, path: &str, query: Option<&str>) -> Value {
        let mut url = format!("{}/api/v1/{path}", self.url);
        if let Some(q) = query {
            url.push_str("?query=");
            for b in q.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    url.push(char::from(b));
                } else {
                    url.push_str(&format!("%{b:02X}"));
                }
            }
        }
        match reqwest::get(&url).await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

#[tokio::test]
async fn prometheus_scrapes_the_indicators_and_loads_the_alert_rules() {
    let stack = Stack::new().await;
    let monitor = Service::start(stack.settings(&random_name("monitor-prom"))).await;
    let events = county::events();
    stack.produce(&events).await;
    let total = events.len() as u64;
    eventually(60, "the monitor to consume the county", || async {
        monitor.received().await >= total
    })
    .await;

    let prometheus = Prometheus::start(monitor.url.trim_start_matches("http://"));
    let query = format!(
        "max by (indicator) (hub_indicator_value{{county=\"{COUNTY}\",indicator=\"in_county_visit_rate\",scope=\"month\"}})"
    );
    let mut last: Value;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let value = loop {
        last = prometheus.api("query", Some(&query)).await;
        if let Some(v) = last["data"]["result"][0]["value"][1].as_str() {
            break v.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus never returned the indicator: {last}\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(value, "0.8", "8 of 10 settled visits in the county: {last}");

    let up = prometheus.api("query", Some("up{job=\"monitor\"}")).await;
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");

    // The rule groups of deploy/prometheus/alerts.yml load and evaluate against live series.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rules = prometheus.api("rules", None).await;
        let groups = rules["data"]["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let all: Vec<&Value> = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().iter())
            .collect();
        let evaluated = !all.is_empty()
            && all.iter().all(|r| {
                r["lastEvaluation"]
                    .as_str()
                    .is_some_and(|t| !t.starts_with("0001"))
            });
        if evaluated {
            assert!(all.len() >= 20, "{} rules loaded", all.len());
            for rule in &all {
                assert_eq!(rule["health"], "ok", "rule {} fails: {rule}", rule["name"]);
            }
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rules were not evaluated: {rules}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(prometheus);
    monitor.stop().await;
}
