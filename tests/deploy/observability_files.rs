//! The observability files of `deploy/` checked the way an operator's CI would: Prometheus's own
//! `promtool` validates the configuration and the alert rules and runs the rules' unit tests
//! (`deploy/prometheus/tests/*.yml`); the Grafana dashboards parse, use the provisioned
//! datasource, and, like the alert rules, only query metrics that some service exports.
//! `promtool` comes from Debian's `prometheus` package (installed by `scripts/setup.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn promtool(args: &[&str]) {
    let output = Command::new(std::env::var("HUB_PROMTOOL").unwrap_or_else(|_| "promtool".into()))
        .args(args)
        .current_dir(root())
        .output()
        .expect("promtool is not installed: run scripts/setup.sh (Debian package prometheus)");
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn promtool_accepts_the_configuration_the_rules_and_the_rule_tests() {
    promtool(&["check", "config", "deploy/prometheus/prometheus.yml"]);
    promtool(&["check", "rules", "deploy/prometheus/alerts.yml"]);
    let tests: Vec<PathBuf> = std::fs::read_dir(root().join("deploy/prometheus/tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    assert!(!tests.is_empty(), "the alert rules have unit tests");
    for test in tests {
        promtool(&["test", "rules", test.to_str().unwrap()]);
    }
}

/// Every `hub_*` name written anywhere in the workspace's Rust sources (metric names are string
/// literals or constants there).
fn exported_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut dirs = vec![root().join("crates"), root().join("services")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("target") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                names.extend(hub_names(&std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    names
}

/// The `hub_[a-z0-9_]+` tokens of a text.
fn hub_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while let Some(found) = text[i..].find("hub_") {
        let start = i + found;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start + 4;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        if boundary && end > start + 4 {
            out.insert(text[start..end].to_owned());
        }
        i = end;
    }
    out
}

/// The metric a PromQL name refers to (histogram series carry a suffix).
fn metric_of(series: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| series.strip_suffix(s))
        .unwrap_or(series)
}

fn assert_exported(queries: &[String], what: &str) {
    let exported = exported_names();
    for query in queries {
        for name in hub_names(query) {
            assert!(
                exported.contains(metric_of(&name)),
                "{what} queries {name}, which no service exports: {query}"
            );
        }
    }
}

#[test]
fn alert_rules_only_query_exported_metrics() {
    let rules = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let exprs: Vec<String> = rules
        .split("expr:")
        .skip(1)
        .map(|rest| {
            rest.split("\n        for:")
                .next()
                .unwrap()
                .split("\n        labels:")
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(exprs.len() >= 20, "{} rules", exprs.len());
    assert_exported(&exprs, "alerts.yml");
}

#[test]
fn grafana_dashboards_are_provisioned_and_query_exported_metrics() {
    let datasources = std::fs::read_to_string(
        root().join("deploy/grafana/provisioning/datasources/prometheus.yml"),
    )
    .unwrap();
    assert!(datasources.contains("uid: hub-prometheus"));
    assert!(datasources.contains("url: http://prometheus:9090"));
    let compose = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    assert!(compose.contains("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro"));
    assert!(compose.contains("./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro"));

    let mut titles = Vec::new();
    for name in ["pipeline.json", "county.json"] {
        let text =
            std::fs::read_to_string(root().join("deploy/grafana/dashboards").join(name)).unwrap();
        let dashboard: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        titles.push(dashboard["title"].as_str().unwrap().to_owned());
        let panels = dashboard["panels"].as_array().unwrap();
        assert!(panels.len() >= 8, "{name}: {} panels", panels.len());
        let mut exprs = Vec::new();
        let mut ids = BTreeSet::new();
        for panel in panels {
            assert!(
                ids.insert(panel["id"].as_i64().unwrap()),
                "{name}: duplicate panel id"
            );
            assert_eq!(
                panel["datasource"]["uid"], "hub-prometheus",
                "{name}: {panel}"
            );
            let targets = panel["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{name}: a panel without a query");
            for target in targets {
                exprs.push(target["expr"].as_str().unwrap().to_owned());
            }
        }
        assert_exported(&exprs, name);
    }
    assert_eq!(titles.len(), 2);
}
