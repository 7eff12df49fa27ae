//! The HTML report: one self-contained page (inline CSS and SVG, no script, no URL) with the
//! headline, four charts (cost by component, cost and peak over the horizon, saturation,
//! availability per route against the SLO), the architecture graph, every table, and each
//! figure's formula and inputs. A Content-Security-Policy forbids loading anything at all.

use super::graph;
use super::human::{count, money, multiple, percent, rps};
use super::svg::{self, escape, palette, Axis, Bar, BarChart, Series};
use super::{headline, horizon_summary, inputs_line, sections, title, traced, Section};
use crate::model::Program;
use crate::plan::report::Plan;
use std::collections::HashMap;
use std::fmt::Write;

const CSS: &str = "
body{margin:0;background:#fafafa;color:#222;
  font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:20px}
h1{font-size:26px;margin:0 0 12px}
h2{font-size:18px;margin:26px 0 8px}
h3{font-size:15px;margin:16px 0 6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px 14px}
.card b{display:block;font-size:12px;text-transform:uppercase;color:#666;letter-spacing:.04em}
.card span{font-size:16px}
.missed{color:#b2182b;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px;margin:16px 0}
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px;padding:8px 12px;
  overflow-x:auto}
figure h2{margin:4px 0 6px;font-size:16px}
figure p{color:#666;margin:4px 0}
svg{display:block;max-width:100%;height:auto;font-family:inherit}
svg .tick{font-size:11px;fill:#666}
svg .label{font-size:12px;fill:#222}
svg .value{font-size:12px;fill:#222;font-weight:600}
svg .marker{font-size:12px;fill:#222;font-weight:600}
svg .node{font-size:13px;font-weight:600;fill:#222}
table{border-collapse:collapse;background:#fff;margin:4px 0 8px;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;background:#f3f3f3;padding:0 3px;border-radius:3px}
";

/// The plan as one self-contained HTML page.
pub fn html(plan: &Plan, program: &Program) -> String {
    let heading = title(program);
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing may be loaded: no script, font, image or style from anywhere.
    out.push_str(concat!(
        "<meta http-equiv=\"Content-Security-Policy\"",
        " content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = write!(
        out,
        "<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(&heading)
    );
    let _ = writeln!(out, "<h1>{}</h1>\n<div class=\"cards\">", escape(&heading));
    for (label, value) in headline(plan) {
        let class = if value.contains("MISSED") || value.contains("already saturated") {
            " class=\"missed\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<div class=\"card\"><b>{}</b><span{class}>{}</span></div>",
            escape(label),
            escape(&value)
        );
    }
    out.push_str("</div>\n<div class=\"charts\">\n");
    figure(&mut out, "Monthly cost by component", cost_chart(plan));
    let horizon = horizon_summary(plan)
        .map(|s| format!("<p>{}</p>", escape(&s)))
        .unwrap_or_default();
    figure(
        &mut out,
        "Cost and peak over the horizon",
        horizon + &horizon_chart(plan),
    );
    figure(
        &mut out,
        "Saturation: multiple of today's peak at each ceiling",
        saturation_chart(plan),
    );
    figure(
        &mut out,
        "Availability per route against the SLO",
        availability_chart(plan),
    );
    out.push_str("</div>\n");
    figure(
        &mut out,
        "Architecture",
        graph::graph(&crate::graph::build(program), &captions(plan), 1200.0),
    );
    for section in sections(plan, false) {
        let _ = writeln!(out, "<h2>{}</h2>", escape(section.title));
        out.push_str(&table(&section));
    }
    if !plan.assumptions.is_empty() {
        out.push_str("<h2>Assumptions</h2>\n<ul>\n");
        for a in &plan.assumptions {
            let _ = writeln!(out, "<li>{}</li>", escape(a));
        }
        out.push_str("</ul>\n");
    }
    let traces = traced(plan);
    if !traces.is_empty() {
        out.push_str("<h2>How each figure was obtained</h2>\n");
    }
    for (heading, traces) in traces {
        let _ = writeln!(
            out,
            concat!(
                "<h3>{}</h3>\n<table><tr><th>figure</th><th>result</th>",
                "<th>formula</th><th>inputs</th></tr>",
            ),
            escape(&heading)
        );
        for t in traces {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&t.figure),
                escape(&t.result),
                escape(&t.formula),
                escape(&inputs_line(t))
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn figure(out: &mut String, heading: &str, body: String) {
    let _ = writeln!(
        out,
        "<figure><h2>{}</h2>\n{body}\n</figure>",
        escape(heading)
    );
}

fn empty(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

fn table(section: &Section) -> String {
    let mut out = String::from("<table>\n<tr>");
    for h in &section.headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in &section.rows {
        out.push_str("<tr>");
        for (c, numeric) in row.iter().zip(&section.numeric) {
            let class = if *numeric { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// Cost per component, largest first; beyond a dozen the rest are summed as `other`.
fn cost_chart(plan: &Plan) -> String {
    let cur = plan.cost.currency.clone();
    let mut lines: Vec<(String, f64)> = plan
        .cost
        .by_component
        .iter()
        .map(|c| (format!("{} ({})", c.name, c.kind), c.monthly))
        .collect();
    lines.sort_by(|a, b| b.1.total_cmp(&a.1));
    if lines.len() > 12 {
        let rest: Vec<(String, f64)> = lines.split_off(11);
        lines.push((
            format!("other ({})", rest.len()),
            rest.iter().map(|r| r.1).sum(),
        ));
    }
    if lines.is_empty() {
        return empty("Nothing to cost.");
    }
    let bars = lines
        .into_iter()
        .map(|(label, v)| Bar {
            label,
            value: v,
            text: money(v, &cur),
            color: palette::COST,
        })
        .collect();
    let tick_text = if cur == "USD" {
        |v: f64| format!("${}", count(v))
    } else {
        count
    };
    BarChart {
        bars,
        axis: Axis::Linear,
        reference: None,
        tick_text,
    }
    .svg(600.0)
}

fn horizon_chart(plan: &Plan) -> String {
    if plan.horizon.len() < 2 {
        return empty("No horizon to draw (one month).");
    }
    let months: Vec<u32> = plan.horizon.iter().map(|h| h.month).collect();
    let cost = Series {
        label: format!("monthly cost ({})", plan.cost.currency),
        color: palette::SERIES_COST,
        values: plan.horizon.iter().map(|h| h.monthly_cost).collect(),
        tick_text: count,
    };
    let peak = Series {
        label: "peak (right axis)".into(),
        color: palette::SERIES_PEAK,
        values: plan.horizon.iter().map(|h| h.peak_rps).collect(),
        tick_text: rps,
    };
    svg::line_chart(&months, &cost, &peak, 600.0)
}

/// Saturation multiples, bottleneck first, with a line at 1× (today's peak).
fn saturation_chart(plan: &Plan) -> String {
    if plan.bottlenecks.is_empty() {
        return empty(
            "No component declares a ceiling (autoscale maximum, fixed replicas, shards...).",
        );
    }
    let bars = plan
        .bottlenecks
        .iter()
        .map(|b| Bar {
            label: b.component.clone(),
            value: b.saturates_at,
            text: multiple(b.saturates_at),
            color: if b.saturates_at < 1.0 {
                palette::ALERT
            } else {
                palette::SATURATION
            },
        })
        .collect();
    let chart = BarChart {
        bars,
        axis: Axis::Log,
        reference: Some((1.0, "1× = today's peak".into())),
        tick_text: |v| format!("{v}×"),
    };
    chart.svg(600.0)
}

/// Route availabilities on a nines axis, with the SLO as a line.
fn availability_chart(plan: &Plan) -> String {
    if plan.routes.is_empty() {
        return empty("No gateway routes.");
    }
    let gateways: std::collections::BTreeSet<&str> =
        plan.routes.iter().map(|r| r.gateway.as_str()).collect();
    let target = plan.availability.target;
    let bars = plan
        .routes
        .iter()
        .map(|r| Bar {
            label: if gateways.len() > 1 {
                format!("{} {}", r.gateway, r.route)
            } else {
                r.route.clone()
            },
            value: r.availability,
            text: percent(r.availability),
            color: if target.is_some_and(|t| r.availability < t) {
                palette::ALERT
            } else {
                palette::AVAILABILITY
            },
        })
        .collect();
    let reference = target.map(|t| (t, format!("SLO {}", percent(t))));
    BarChart {
        bars,
        axis: Axis::Nines,
        reference,
        tick_text: percent,
    }
    .svg(600.0)
}

/// A line per component for the graph: what the plan sized it to.
fn captions(plan: &Plan) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for s in &plan.services {
        map.insert(s.name.clone(), format!("{} × {} vCPU", s.instances, s.vcpu));
    }
    for c in &plan.caches {
        map.insert(c.name.clone(), format!("hit {}", percent(c.hit_ratio)));
    }
    for d in &plan.databases {
        map.insert(
            d.name.clone(),
            format!("{} shard · {} repl", d.shards_needed, d.replicas_needed),
        );
    }
    for q in &plan.queues {
        let n = q.consumers_needed;
        let plural = if n == 1 { "" } else { "s" };
        map.insert(q.name.clone(), format!("{n} consumer{plural}"));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::render::sample;

    #[test]
    fn page_is_self_contained_and_has_every_chart() {
        let page = html(&sample::plan(), &Program::default());
        assert!(page.starts_with("<!DOCTYPE html>"));
        for banned in [
            "http://", "https://", "<script", "<link", "<img", "url(http", "@import",
        ] {
            assert!(!page.contains(banned), "{banned}");
        }
        assert_eq!(page.matches("<svg").count(), 5, "four charts and the graph");
        for colour in [
            palette::COST,
            palette::SERIES_COST,
            palette::SERIES_PEAK,
            palette::SATURATION,
        ] {
            assert!(page.contains(colour), "{colour}");
        }
        assert!(page.contains("SLO 99.95%") && page.contains("1× = today&#39;s peak"));
        assert!(
            page.contains(palette::ALERT),
            "the route below the SLO is marked"
        );
        assert!(page.contains("<code>n = max(min, ⌈λ·S / (c·u)⌉)</code>"));
    }

    #[test]
    fn names_are_escaped() {
        let mut plan = sample::plan();
        plan.services[0].name = "<b>&x".into();
        plan.bottlenecks[0].component = "<b>&x".into();
        let page = html(&plan, &Program::default());
        assert!(!page.contains("<b>&x") && page.contains("&lt;b&gt;&amp;x"));
    }
}
