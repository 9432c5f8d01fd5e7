//! The monitor's published indicators against the simulator's expected values
//! (`hubctl simulate --print-expected`), month by month: value, numerator, denominator, cases
//! and suppression of every expected indicator must be equal.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

/// The outcome of the comparison.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Comparison {
    /// Expected indicator values compared.
    pub compared: usize,
    /// How many differed or were not published.
    pub differing: usize,
    /// The first differences (indicator ids, facility codes and figures: no personal data).
    pub examples: Vec<String>,
}

fn close(published: &Value, expected: &Value) -> bool {
    match (published.as_f64(), expected.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        (None, None) => true,
        _ => false,
    }
}

fn same(p: &Value, e: &Value) -> bool {
    ["value", "numerator", "denominator"]
        .iter()
        .all(|k| close(&p[k], &e[k]))
        && p["cases"].as_i64() == e["cases"].as_i64()
        && p["suppressed"].as_bool() == e["suppressed"].as_bool()
}

/// Compares `expected` (the simulator's JSON) with what the monitor at `monitor` publishes.
///
/// # Errors
/// The monitor did not answer with JSON.
pub async fn compare(monitor: &str, expected: &Value) -> anyhow::Result<Comparison> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let county = expected["county"].as_str().unwrap_or_default();
    let mut out = Comparison::default();
    for month in expected["months"].as_array().into_iter().flatten() {
        let period = month["period"].as_str().unwrap_or_default();
        let url = format!("{monitor}/indicators?county={county}&period={period}");
        let got: Value = http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("GET {url}"))?
            .json()
            .await
            .with_context(|| format!("GET {url}"))?;
        let published: HashMap<(String, Option<String>), &Value> = got["indicators"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let id = i["id"].as_str().unwrap_or_default().to_owned();
                ((id, i["facility"].as_str().map(str::to_owned)), i)
            })
            .collect();
        for e in month["indicators"].as_array().into_iter().flatten() {
            out.compared += 1;
            let id = e["id"].as_str().unwrap_or_default().to_owned();
            let facility = e["facility"].as_str().map(str::to_owned);
            let p = published.get(&(id.clone(), facility.clone()));
            if p.is_some_and(|p| same(p, e)) {
                continue;
            }
            out.differing += 1;
            if out.examples.len() < 10 {
                let got = p.map_or("not published".to_owned(), |p| {
                    format!("{} = {}/{}", p["value"], p["numerator"], p["denominator"])
                });
                out.examples.push(format!(
                    "{period} {id} {}: expected {} = {}/{}, got {got}",
                    facility.as_deref().unwrap_or("county"),
                    e["value"],
                    e["numerator"],
                    e["denominator"]
                ));
            }
        }
    }
    Ok(out)
}
