//! The built-in dashboard: one server-rendered page, no script and no external resource.
//!
//! Sections: the indicators of the month and year to date against their targets, each with a
//! twelve-month inline SVG line (dashed: the target); the referral flows between facility levels
//! (an SVG of the tiers and a table); patient outflow by diagnosis chapter; data quality per
//! facility; the pipeline's health (events and dead letters of the last hour, silent
//! facilities). Everything shown is already suppressed by the report.

use std::fmt::Write;

use crate::health::PipelineHealth;
use crate::indicators::Indicator;
use crate::query::Flow;
use crate::report::Report;
use crate::trend::{Series, Trend};

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Page {
    /// The month.
    pub month: Report,
    /// The year to the end of the month.
    pub ytd: Report,
    /// The twelve months to the month.
    pub trend: Trend,
    /// The pipeline now.
    pub health: PipelineHealth,
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC','Noto Sans SC',sans-serif;\
margin:1.5rem;color:#1d2733;background:#fff}h1{font-size:1.5rem;margin:.2rem 0}\
h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:2px solid #3b82c4;padding-bottom:.2rem}\
nav a{margin-right:.9rem}table{border-collapse:collapse;margin-bottom:1rem}\
th,td{padding:.3rem .55rem;border-bottom:1px solid #dde3ea;text-align:left;vertical-align:middle}\
th{background:#f2f5f8;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.bar{position:relative;width:160px;height:12px;background:#eef1f4;border-radius:3px}\
.fill{height:12px;border-radius:3px;background:#3b82c4}.fill.off{background:#d9822b}\
.target{position:absolute;top:-3px;width:2px;height:18px;background:#1d2733}\
.sup{color:#7a8794;font-style:italic}.ok{color:#2e7d32}.miss{color:#c62828}\
.silent{color:#c62828;font-weight:600}small{color:#5b6875}.cols{display:flex;gap:2rem;\
flex-wrap:wrap;align-items:flex-start}svg text{font-family:inherit}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value in its unit, as plain text.
fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "ratio" => format!("{:.1}%", value * 100.0),
        "count" => format!("{value:.0}"),
        "yuan" => format!("¥{value:.2}"),
        _ => format!("{value:.1} min"),
    }
}

fn value_text(ind: &Indicator) -> String {
    if ind.suppressed {
        return "<span class=\"sup\">suppressed (&lt;5)</span>".to_owned();
    }
    match ind.value {
        None => "<span class=\"sup\">no data</span>".to_owned(),
        Some(v) => escape(&format_value(v, ind.unit)),
    }
}

fn share_bar(value: Option<f64>, target: Option<f64>, off: bool) -> String {
    let width = value.map_or(0.0, |v| (v * 100.0).clamp(0.0, 100.0));
    let class = if off { "fill off" } else { "fill" };
    let target = target.map_or(String::new(), |t| {
        format!(
            "<div class=\"target\" style=\"left:{:.1}%\" title=\"target\"></div>",
            (t * 100.0).clamp(0.0, 100.0)
        )
    });
    format!(
        "<div class=\"bar\"><div class=\"{class}\" style=\"width:{width:.1}%\"></div>{target}</div>"
    )
}

fn bar(ind: &Indicator) -> String {
    if ind.unit != "ratio" || ind.id.ends_with("growth") {
        return String::new();
    }
    share_bar(ind.value, ind.target, ind.meets_target == Some(false))
}

/// A twelve-month line of `series` as inline SVG: the values (gaps where suppressed), the
/// target dashed, the last value dotted, the first and last month below.
pub fn sparkline(series: &Series, months: &[String]) -> String {
    const W: f64 = 190.0;
    const H: f64 = 34.0;
    const PAD: f64 = 4.0;
    let n = series.values.len();
    let known: Vec<f64> = series
        .values
        .iter()
        .chain(&series.targets)
        .flatten()
        .copied()
        .collect();
    let mut title = format!("{} — ", series.id);
    for (m, v) in months.iter().zip(&series.values) {
        let text = v.map_or_else(|| "–".to_owned(), |v| format_value(v, series.unit));
        let _ = write!(title, "{m}: {text}; ");
    }
    let mut svg = format!(
        "<svg class=\"spark\" width=\"{W}\" height=\"{}\" viewBox=\"0 0 {W} {}\" role=\"img\">\
<title>{}</title><rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#f7f9fb\"/>",
        H + 12.0,
        H + 12.0,
        escape(title.trim_end_matches("; "))
    );
    if series.values.iter().all(Option::is_none) || n < 2 {
        svg.push_str(
            "<text x=\"8\" y=\"21\" font-size=\"11\" fill=\"#7a8794\">no published value</text>",
        );
    } else {
        let (mut lo, mut hi) = known
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        if series.unit == "ratio" && !series.id.ends_with("growth") {
            // Shares on their full scale, 0 to 100%.
            (lo, hi) = (0.0, 1.0);
        }
        if (hi - lo).abs() < f64::EPSILON {
            lo -= lo.abs() * 0.1 + 1.0;
            hi += hi.abs() * 0.1 + 1.0;
        }
        let x = |i: usize| PAD + i as f64 * (W - 2.0 * PAD) / (n - 1) as f64;
        let y = |v: f64| H - PAD - (v - lo) / (hi - lo) * (H - 2.0 * PAD);
        let path = |values: &[Option<f64>]| {
            let mut d = String::new();
            let mut pen_down = false;
            for (i, v) in values.iter().enumerate() {
                match v {
                    Some(v) => {
                        let _ = write!(
                            d,
                            "{}{:.1},{:.1} ",
                            if pen_down { "L" } else { "M" },
                            x(i),
                            y(*v)
                        );
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            d
        };
        let targets = path(&series.targets);
        if !targets.is_empty() {
            let _ = write!(
                svg,
                "<path d=\"{}\" fill=\"none\" stroke=\"#1d2733\" stroke-width=\"1\" \
stroke-dasharray=\"3 3\"/>",
                targets.trim_end()
            );
        }
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"none\" stroke=\"#3b82c4\" stroke-width=\"2\"/>",
            path(&series.values).trim_end()
        );
        for (i, v) in series.values.iter().enumerate() {
            if let Some(v) = v {
                let r = if i == n - 1 { 3.0 } else { 1.6 };
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"#3b82c4\"/>",
                    x(i),
                    y(*v)
                );
            }
        }
    }
    if let (Some(first), Some(last)) = (months.first(), months.last()) {
        let _ = write!(
            svg,
            "<text x=\"{PAD}\" y=\"{}\" font-size=\"9\" fill=\"#5b6875\">{}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"9\" fill=\"#5b6875\" text-anchor=\"end\">{}</text>",
            H + 10.0,
            escape(first),
            W - PAD,
            H + 10.0,
            escape(last)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The row of a facility level in the flow diagram: (tier from the top, label).
fn level_place(level: &str) -> (usize, &'static str) {
    match level {
        "out_of_county_hospital" => (0, "县外医院 out of county"),
        "county_hospital" => (1, "县级医院 county hospital"),
        "county_tcm_hospital" => (1, "县中医院 county TCM"),
        "township_centre" => (2, "乡镇卫生院 township"),
        "community_centre" => (2, "社区卫生服务中心 community"),
        "village_clinic" => (3, "村卫生室 village"),
        _ => (4, "未登记 unregistered"),
    }
}

/// The referral flows between facility levels as SVG: one box per level (tiers from the top:
/// out of county, county hospitals, township and community centres, villages), an arrow per
/// flow, blue up, green down, grey lateral, labelled with its count (`<5` when suppressed).
pub fn flow_diagram(flows: &[Flow]) -> String {
    const W: f64 = 500.0;
    const BOX_W: f64 = 176.0;
    const BOX_H: f64 = 30.0;
    let mut levels: Vec<&str> = vec!["county_hospital", "township_centre", "village_clinic"];
    for f in flows {
        for l in [f.from_level.as_str(), f.to_level.as_str()] {
            if !levels.contains(&l) {
                levels.push(l);
            }
        }
    }
    levels.sort_by_key(|l| level_place(l).0);
    let tiers = levels.iter().map(|l| level_place(l).0).max().unwrap_or(0) + 1;
    let height = tiers as f64 * 80.0 + 10.0;
    let mut place = std::collections::HashMap::new();
    for tier in 0..tiers {
        let here: Vec<&str> = levels
            .iter()
            .copied()
            .filter(|l| level_place(l).0 == tier)
            .collect();
        for (j, l) in here.iter().enumerate() {
            let cx = W / (here.len() as f64 + 1.0) * (j as f64 + 1.0);
            place.insert(*l, (cx, 20.0 + tier as f64 * 80.0 + BOX_H / 2.0));
        }
    }
    let mut svg = format!(
        "<svg width=\"{W}\" height=\"{height}\" viewBox=\"0 0 {W} {height}\" role=\"img\" \
aria-label=\"referral flows between facility levels\"><defs>\
<marker id=\"up\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#3b82c4\"/></marker>\
<marker id=\"down\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#2e7d32\"/></marker>\
<marker id=\"lat\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#7a8794\"/></marker></defs>"
    );
    for f in flows {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (
            place.get(f.from_level.as_str()),
            place.get(f.to_level.as_str()),
        ) else {
            continue;
        };
        if f.from_level == f.to_level {
            continue; // Within one level: in the table only.
        }
        let (colour, marker, side) = match f.direction.as_str() {
            "UP" => ("#3b82c4", "up", -1.0),
            "DOWN" => ("#2e7d32", "down", 1.0),
            _ => ("#7a8794", "lat", 0.0),
        };
        let label = f
            .count
            .map_or_else(|| "&lt;5".to_owned(), |n| n.to_string());
        let (p1, p2, bend) = if (y2 - y1).abs() < f64::EPSILON {
            // Within a tier: box side to box side, bent above the boxes.
            let edge = if x2 > x1 { BOX_W / 2.0 } else { -BOX_W / 2.0 };
            ((x1 + edge, y1), (x2 - edge, y2), (0.0, -30.0))
        } else {
            // Between tiers: top or bottom edges, up on the left, down on the right; a flow
            // that skips a tier bends out sideways so it does not cross the boxes between.
            let edge = if y2 < y1 { -BOX_H / 2.0 } else { BOX_H / 2.0 };
            let gap = ((y2 - y1).abs() / 80.0).round() - 1.0;
            let x_shift = side * 14.0;
            (
                (x1 + x_shift, y1 + edge),
                (x2 + x_shift, y2 - edge),
                (
                    side * (BOX_W / 2.0 + 10.0) * gap.min(1.0) + side * 24.0 * (gap - 1.0).max(0.0),
                    0.0,
                ),
            )
        };
        let control = (
            (p1.0 + p2.0) / 2.0 + bend.0 * 2.0,
            (p1.1 + p2.1) / 2.0 + bend.1 * 2.0,
        );
        // The label at the middle of the quadratic curve, beside it.
        let mid = (
            0.25 * p1.0 + 0.5 * control.0 + 0.25 * p2.0,
            0.25 * p1.1 + 0.5 * control.1 + 0.25 * p2.1,
        );
        let _ = write!(
            svg,
            "<path d=\"M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}\" fill=\"none\" stroke=\"{colour}\" \
stroke-width=\"2\" marker-end=\"url(#{marker})\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{colour}\" text-anchor=\"middle\" \
font-weight=\"600\">{label}</text>",
            p1.0,
            p1.1,
            control.0,
            control.1,
            p2.0,
            p2.1,
            mid.0 + side * 13.0,
            mid.1 + 4.0,
        );
    }
    for l in &levels {
        let (cx, cy) = place[l];
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"5\" \
fill=\"#f2f5f8\" stroke=\"#1d2733\"/><text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"12\" \
text-anchor=\"middle\">{}</text>",
            cx - BOX_W / 2.0,
            cy - BOX_H / 2.0,
            cy + 4.0,
            escape(level_place(l).1)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn count_cell(n: Option<i64>) -> String {
    n.map_or_else(
        || "<span class=\"sup\">&lt;5</span>".to_owned(),
        |n| n.to_string(),
    )
}

fn share_cell(v: Option<f64>) -> String {
    v.map_or_else(
        || "<span class=\"sup\">–</span>".to_owned(),
        |v| format!("{:.1}%", v * 100.0),
    )
}

fn indicators(html: &mut String, page: &Page) {
    let (m, y) = (&page.month, &page.ytd);
    html.push_str(
        "<h2 id=\"indicators\">Indicators 指标 (month, year to date, 12-month trend)</h2>\
<table><tr><th>Indicator</th><th>Facility</th><th>Month</th><th></th><th>Year to date</th>\
<th>Target</th><th>Last 12 months <small>(dashed: target)</small></th></tr>",
    );
    for ind in &m.indicators {
        let ytd = y
            .indicators
            .iter()
            .find(|i| i.id == ind.id && i.facility == ind.facility);
        let target = match (ind.target, ind.meets_target) {
            (Some(t), Some(true)) => format!("<span class=\"ok\">≥ {:.0}% ✓</span>", t * 100.0),
            (Some(t), Some(false)) => format!("<span class=\"miss\">≥ {:.0}% ✗</span>", t * 100.0),
            (Some(t), None) => format!("≥ {:.0}%", t * 100.0),
            (None, _) => String::new(),
        };
        let spark = page
            .trend
            .series
            .iter()
            .find(|s| s.id == ind.id && s.facility == ind.facility)
            .map_or(String::new(), |s| sparkline(s, &page.trend.months));
        let _ = write!(
            html,
            "<tr data-indicator=\"{}\"><td>{}<br><small>{}</small></td><td>{}</td>\
<td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{target}</td><td>{spark}</td></tr>",
            escape(&ind.id),
            escape(ind.name),
            escape(&ind.id),
            escape(ind.facility.as_deref().unwrap_or("")),
            value_text(ind),
            bar(ind),
            ytd.map_or(String::new(), value_text),
        );
    }
    html.push_str("</table>");
}

fn referrals(html: &mut String, m: &Report) {
    html.push_str(
        "<h2 id=\"referrals\">Referral flows between facility levels 双向转诊 (month)</h2>\
<div class=\"cols\"><div>",
    );
    html.push_str(&flow_diagram(&m.referral_flows));
    html.push_str(
        "</div><table><tr><th>Direction</th><th>From level</th><th>To level</th>\
<th>Referrals</th></tr>",
    );
    if m.referral_flows.is_empty() {
        html.push_str("<tr><td colspan=\"4\" class=\"sup\">no referrals</td></tr>");
    }
    for f in &m.referral_flows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&f.direction),
            escape(&f.from_level),
            escape(&f.to_level),
            count_cell(f.count)
        );
    }
    html.push_str("</table></div>");
}

fn outflow(html: &mut String, m: &Report, y: &Report) {
    html.push_str(
        "<h2 id=\"outflow\">Patient outflow by diagnosis chapter 县外就医病种 (settled visits of \
county-insured persons)</h2><table><tr><th>Chapter</th><th>Diseases</th><th>Visits</th>\
<th>Out of county</th><th>Outflow share</th><th></th><th>Stays</th><th>Stays out</th>\
<th>Stay outflow</th><th>Year to date outflow</th></tr>",
    );
    if m.outflow.is_empty() {
        html.push_str("<tr><td colspan=\"10\" class=\"sup\">no settled visits</td></tr>");
    }
    for r in &m.outflow {
        let ytd = y
            .outflow
            .iter()
            .find(|o| o.chapter == r.chapter)
            .and_then(|o| o.visit_outflow_share);
        let _ = write!(
            html,
            "<tr data-chapter=\"{}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&r.chapter),
            escape(&r.chapter),
            escape(r.name),
            count_cell(r.visits),
            count_cell(r.visits_out_of_county),
            share_cell(r.visit_outflow_share),
            share_bar(r.visit_outflow_share, None, false),
            count_cell(r.stays),
            count_cell(r.stays_out_of_county),
            share_cell(r.stay_outflow_share),
            share_cell(ytd),
        );
    }
    html.push_str("</table>");
}

fn quality(html: &mut String, m: &Report) {
    let q = &m.data_quality;
    html.push_str(
        "<h2 id=\"quality\">Data quality 数据质量 per facility (received this month)</h2>\
<table><tr><th>Facility</th><th>Level</th><th>Lab results</th><th>Unmapped lab codes</th>\
<th>Unmapped diagnoses</th><th>Identity resolutions</th><th>Provisional (unmatched)</th>\
<th>Open reviews</th><th>Dead letters</th><th>DLQ rate</th></tr>",
    );
    for f in &q.facilities {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({})</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({})</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&f.facility),
            escape(&f.level),
            f.lab_results,
            f.unmapped_lab_codes,
            share_cell(f.unmapped_code_share),
            f.unmapped_diagnoses,
            f.identity_resolutions,
            f.provisional_identities,
            share_cell(f.unmatched_identity_share),
            f.open_identity_reviews,
            f.dead_letters,
            share_cell(f.dlq_rate),
        );
    }
    let _ = write!(
        html,
        "</table><p>Events from facilities missing in the registry: \
<b id=\"unknown-facilities\">{}</b>. Dead letters this month by stage: ",
        q.unknown_facility_events
    );
    if q.dead_letters.is_empty() {
        html.push_str("none");
    }
    for (i, d) in q.dead_letters.iter().enumerate() {
        let _ = write!(
            html,
            "{}{} <b>{}</b> ({} without a registered facility)",
            if i > 0 { ", " } else { "" },
            escape(&d.stage),
            d.dead_letters,
            d.unattributed
        );
    }
    html.push_str(".</p>");
}

fn age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

fn health(html: &mut String, h: &PipelineHealth) {
    html.push_str(
        "<h2 id=\"pipeline\">Pipeline health 数据管道 (now)</h2><div class=\"cols\"><table>\
<tr><th>Events received, last hour</th><th></th></tr>",
    );
    for e in &h.events_last_hour {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&e.entity),
            e.events
        );
    }
    html.push_str("<tr><th>Dead letters, last hour</th><th></th></tr>");
    if h.dead_letters_last_hour.is_empty() {
        html.push_str("<tr><td>any stage</td><td class=\"n\">0</td></tr>");
    }
    for d in &h.dead_letters_last_hour {
        let _ = write!(
            html,
            "<tr><td>dlq.{}</td><td class=\"n\">{}</td></tr>",
            escape(&d.stage),
            d.dead_letters
        );
    }
    let silent = h.facilities.iter().filter(|f| f.silent).count();
    let _ = write!(
        html,
        "</table><table><tr><th>Facility</th><th>Level</th><th>Last message \
<small>({silent} silent for {} h or more)</small></th></tr>",
        h.silent_after_secs / 3600
    );
    for f in &h.facilities {
        let last = match f.silent_secs {
            Some(s) => age(s),
            None => "none in 7 days".to_owned(),
        };
        let class = if f.silent { " class=\"silent\"" } else { "" };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td{class}>{}{}</td></tr>",
            escape(&f.facility),
            escape(&f.level),
            escape(&last),
            if f.silent { " — silent" } else { "" }
        );
    }
    html.push_str("</table></div>");
}

/// Renders the page of one county and month.
pub fn render(page: &Page) -> String {
    let m = &page.month;
    let mut html = String::new();
    let county = escape(&m.county);
    let period = escape(&m.period);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<link rel=\"icon\" href=\"data:,\">\
<title>县域医共体监测 {county} {period}</title><style>{STYLE}</style></head><body>\
<h1>县域医共体监测指标 — county {county}, {period}</h1>\
<form method=\"get\" action=\"/\">County <input name=\"county\" value=\"{county}\" size=\"7\"> \
Month <input name=\"period\" value=\"{period}\" size=\"8\"> <button>Show</button></form>\
<nav><a href=\"#indicators\">Indicators</a><a href=\"#referrals\">Referrals</a>\
<a href=\"#outflow\">Outflow</a><a href=\"#quality\">Data quality</a>\
<a href=\"#pipeline\">Pipeline</a></nav>\
<p><small>Cells with fewer than {} cases are suppressed. Targets from targets.yaml; \
definitions in INDICATORS.md. JSON: <a href=\"/indicators?county={county}&amp;period={period}\">\
month</a>, <a href=\"/indicators/ytd?county={county}&amp;period={period}\">year to date</a>, \
<a href=\"/indicators/trend?county={county}&amp;period={period}\">trend</a>, \
<a href=\"/pipeline?county={county}\">pipeline</a>.</small></p>",
        m.min_cell
    );
    indicators(&mut html, page);
    referrals(&mut html, m);
    outflow(&mut html, m, &page.ytd);
    quality(&mut html, m);
    health(&mut html, &page.health);
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn sparklines_break_at_suppressed_months_and_draw_the_target() {
        let months: Vec<String> = (1..=4).map(|m| format!("2026-0{m}")).collect();
        let s = Series {
            id: "in_county_visit_rate".into(),
            name: "县域内就诊率",
            unit: "ratio",
            facility: None,
            values: vec![Some(0.8), None, Some(0.85), Some(0.9)],
            targets: vec![Some(0.9); 4],
        };
        let svg = sparkline(&s, &months);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 3);
        // A gap: the value path starts again (two M commands).
        let values = svg.split("stroke=\"#3b82c4\"").next().unwrap();
        assert!(values.contains("stroke-dasharray"), "target line first");
        assert_eq!(svg.matches(" M").count() + svg.matches("\"M").count(), 3);
        assert!(svg.contains("2026-02: –"), "suppressed month in the title");
        let empty = Series {
            values: vec![None; 4],
            ..s
        };
        assert!(sparkline(&empty, &months).contains("no published value"));
    }

    #[test]
    fn flow_diagram_draws_an_arrow_per_flow() {
        let flow = |d: &str, from: &str, to: &str, count: Option<i64>| Flow {
            direction: d.into(),
            from_level: from.into(),
            to_level: to.into(),
            count,
            suppressed: count.is_none(),
        };
        let svg = flow_diagram(&[
            flow("UP", "village_clinic", "township_centre", Some(7)),
            flow("DOWN", "county_hospital", "township_centre", None),
            flow("UP", "county_hospital", "out_of_county_hospital", Some(5)),
        ]);
        assert_eq!(svg.matches("marker-end=").count(), 3);
        assert_eq!(
            svg.matches("<rect").count(),
            4,
            "three tiers and out of county"
        );
        assert!(svg.contains(">7</text>") && svg.contains(">&lt;5</text>"));
    }
}
