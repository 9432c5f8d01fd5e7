//! The built-in dashboard: one server-rendered page, no script and no external resource. Each
//! indicator has a CSS bar (ratios) with its target marked, month and year to date side by side,
//! then the referral flows by facility level and the data-quality counts.

use std::fmt::Write;

use crate::indicators::Indicator;
use crate::report::Report;

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:1.5rem;\
color:#1d2733}table{border-collapse:collapse;margin-bottom:1.5rem}th,td{padding:.35rem .6rem;\
border-bottom:1px solid #dde3ea;text-align:left;vertical-align:middle}th{background:#f2f5f8}\
.bar{position:relative;width:220px;height:14px;background:#eef1f4;border-radius:3px}\
.fill{height:14px;border-radius:3px;background:#3b82c4}.fill.off{background:#d9822b}\
.target{position:absolute;top:-3px;width:2px;height:20px;background:#1d2733}\
.sup{color:#7a8794;font-style:italic}.ok{color:#2e7d32}.miss{color:#c62828}small{color:#5b6875}";

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

fn value_text(ind: &Indicator) -> String {
    if ind.suppressed {
        return "<span class=\"sup\">suppressed (&lt;5)</span>".to_owned();
    }
    match (ind.value, ind.unit) {
        (None, _) => "<span class=\"sup\">no data</span>".to_owned(),
        (Some(v), "ratio") => format!("{:.1}%", v * 100.0),
        (Some(v), "count") => format!("{v:.0}"),
        (Some(v), "yuan") => format!("¥{v:.2}"),
        (Some(v), _) => format!("{v:.1} min"),
    }
}

fn bar(ind: &Indicator) -> String {
    if ind.unit != "ratio" || ind.id.ends_with("growth") {
        return String::new();
    }
    let width = ind.value.map_or(0.0, |v| (v * 100.0).clamp(0.0, 100.0));
    let off = if ind.meets_target == Some(false) {
        " off"
    } else {
        ""
    };
    let target = ind.target.map_or(String::new(), |t| {
        format!(
            "<div class=\"target\" style=\"left:{:.1}%\" title=\"target\"></div>",
            (t * 100.0).clamp(0.0, 100.0)
        )
    });
    format!(
        "<div class=\"bar\"><div class=\"fill{off}\" style=\"width:{width:.1}%\"></div>{target}</div>"
    )
}

/// Renders the page for the month report `m` and the year-to-date report `y` of one county.
pub fn render(m: &Report, y: &Report) -> String {
    let mut html = String::new();
    let county = escape(&m.county);
    let period = escape(&m.period);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<title>县域医共体监测 {county} {period}</title><style>{STYLE}</style></head><body>\
<h1>县域医共体监测指标 — county {county}</h1>\
<form method=\"get\" action=\"/\">County <input name=\"county\" value=\"{county}\" size=\"7\"> \
Month <input name=\"period\" value=\"{period}\" size=\"8\"> <button>Show</button></form>\
<p><small>Cells with fewer than {} cases are suppressed. Targets from targets.yaml; \
definitions in INDICATORS.md. JSON: <a href=\"/indicators?county={county}&amp;period={period}\">\
month</a>, <a href=\"/indicators/ytd?county={county}&amp;period={period}\">year to date</a>.\
</small></p>",
        m.min_cell
    );
    html.push_str(
        "<h2>Indicators</h2><table><tr><th>Indicator</th><th>Facility</th><th>Month</th>\
<th></th><th>Year to date</th><th>Target</th></tr>",
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
        let _ = write!(
            html,
            "<tr><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{target}</td></tr>",
            escape(ind.name),
            escape(&ind.id),
            escape(ind.facility.as_deref().unwrap_or("")),
            value_text(ind),
            bar(ind),
            ytd.map_or(String::new(), value_text),
        );
    }
    html.push_str(
        "</table><h2>Referral flows by facility level (month)</h2><table><tr><th>Direction</th>\
<th>From level</th><th>To level</th><th>Referrals</th></tr>",
    );
    if m.referral_flows.is_empty() {
        html.push_str("<tr><td colspan=\"4\" class=\"sup\">no referrals</td></tr>");
    }
    for f in &m.referral_flows {
        let count = match f.count {
            Some(n) => n.to_string(),
            None => "<span class=\"sup\">&lt;5</span>".to_owned(),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{count}</td></tr>",
            escape(&f.direction),
            escape(&f.from_level),
            escape(&f.to_level)
        );
    }
    let _ = write!(
        html,
        "</table><h2>Data quality</h2><table><tr><td>Events from facilities missing in the \
registry</td><td>{}</td></tr></table></body></html>",
        m.data_quality.unknown_facility_events
    );
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
}
