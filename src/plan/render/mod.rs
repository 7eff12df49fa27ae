//! Rendering a [`Plan`] for people and tools: a terminal table, a Markdown report, the JSON
//! contract of plan-model.md §9 and one self-contained HTML page with inline SVG charts.
//!
//! Pure functions: a plan (and the program, for its name and graph) in, text out. The
//! sections every format shows are built once (`sections.rs`) and laid out by each renderer
//! (`table.rs`, `markdown.rs`, `html.rs` with the charts of `svg.rs` and the graph of
//! `graph.rs`); the numbers are humanised by the helpers in [`human`].

mod graph;
mod html;
pub mod human;
mod markdown;
#[cfg(test)]
pub(crate) mod sample;
mod sections;
mod svg;
mod table;

pub use html::html;
pub use markdown::markdown;
pub use svg::palette;
pub use table::table;

use super::report::{Plan, Trace};
use crate::model::Program;
use human::{duration_s, money, multiple, percent, rps};
pub(crate) use sections::{sections, Section};

/// The plan as the JSON contract (§9), pretty-printed with a trailing newline; each
/// figure's traces are included only with `explain`.
pub fn json(plan: &Plan, explain: bool) -> String {
    let mut text = if explain || !plan.has_traces() {
        serde_json::to_string_pretty(plan)
    } else {
        serde_json::to_string_pretty(&plan.clone().without_traces())
    }
    .unwrap_or_default();
    text.push('\n');
    text
}

/// The report's title: the system's name, or a neutral word when there is no `system`.
pub(crate) fn title(program: &Program) -> String {
    match &program.system {
        Some(s) => format!("Plan for {}", s.name.value),
        None => "Plan".to_string(),
    }
}

/// The lines a reader needs first, as (label, value): monthly cost, availability against the
/// SLO with the downtime it allows, and the bottleneck.
pub(crate) fn headline(plan: &Plan) -> Vec<(&'static str, String)> {
    let cur = &plan.cost.currency;
    let a = &plan.availability;
    let mut lines = vec![("Monthly cost", money(plan.cost.monthly_total, cur) + "/mo")];
    let down = format!("down {}/mo", duration_s(a.downtime_per_month_s));
    let verdict = match a.target {
        Some(t) => {
            let budget = duration_s((1.0 - t) * 30.0 * 86_400.0);
            let points = ((a.system - t) * 100.0).abs();
            let by = format!("{points:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string();
            if a.system >= t {
                format!("met by {by} pts; {down} of {budget} allowed")
            } else {
                format!("MISSED by {by} pts; {down}, {budget} allowed")
            }
        }
        None => format!("no SLO declared; {down}"),
    };
    let target = a
        .target
        .map(|t| format!(" vs SLO {}", percent(t)))
        .unwrap_or_default();
    lines.push((
        "Availability",
        format!("{}{target}: {verdict}", percent(a.system)),
    ));
    if let Some(w) = &a.weakest {
        lines.push(("Weakest link", w.clone()));
    }
    let bottleneck = match plan.bottleneck() {
        Some(b) if b.saturates_at < 1.0 => format!(
            "{} is already saturated: its ceiling is {} of today's peak",
            b.component,
            multiple(b.saturates_at)
        ),
        Some(b) => format!(
            "{} saturates at {} today's peak",
            b.component,
            multiple(b.saturates_at)
        ),
        None => "none: no component declares a ceiling".to_string(),
    };
    lines.push(("Bottleneck", bottleneck));
    lines
}

/// Every figure's trace, grouped by what it belongs to: (heading, traces). Headings read
/// like `service catalog` or `route edge GET /api/products`.
pub(crate) fn traced(plan: &Plan) -> Vec<(String, &[Trace])> {
    let mut out: Vec<(String, &[Trace])> = Vec::new();
    out.push(("system availability".into(), &plan.availability.traces));
    out.extend(
        plan.services
            .iter()
            .map(|s| (format!("service {}", s.name), &s.traces[..])),
    );
    out.extend(
        plan.routes
            .iter()
            .map(|r| (format!("route {} {}", r.gateway, r.route), &r.traces[..])),
    );
    out.extend(
        plan.caches
            .iter()
            .map(|c| (format!("cache {}", c.name), &c.traces[..])),
    );
    out.extend(
        plan.databases
            .iter()
            .map(|d| (format!("database {}", d.name), &d.traces[..])),
    );
    out.extend(
        plan.queues
            .iter()
            .map(|q| (format!("queue {}", q.name), &q.traces[..])),
    );
    out.retain(|(_, t)| !t.is_empty());
    out
}

/// A trace's inputs on one line: `λ = 840 rps, S = 2 ms`.
pub(crate) fn inputs_line(trace: &Trace) -> String {
    let parts: Vec<String> = trace
        .inputs
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    parts.join(", ")
}

/// The horizon in words: `Over 18 months: peak 12k → 48k rps, cost $9,100 → $21,000/mo`.
pub(crate) fn horizon_summary(plan: &Plan) -> Option<String> {
    let (first, last) = (plan.horizon.first()?, plan.horizon.last()?);
    let cur = &plan.cost.currency;
    Some(format!(
        "Over {} months: peak {} → {}, cost {} → {}/mo",
        last.month,
        rps(first.peak_rps),
        rps(last.peak_rps),
        money(first.monthly_cost, cur),
        money(last.monthly_cost, cur)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_drops_traces_unless_explained() {
        let plan = sample::plan();
        let plain = json(&plan, false);
        assert!(plain.ends_with("}\n"));
        assert!(!plain.contains("\"traces\""));
        assert!(json(&plan, true).contains("\"traces\""));
        let v: serde_json::Value = serde_json::from_str(&plain).unwrap();
        for key in ["services", "caches", "databases", "queues", "routes"] {
            assert!(v[key].is_array(), "{key}");
        }
        assert!(v["availability"]["downtime_per_month_s"].is_number());
        assert_eq!(v["cost"]["currency"], "USD");
    }

    #[test]
    fn headline_leads_with_cost_availability_and_bottleneck() {
        let lines = headline(&sample::plan());
        assert_eq!(lines[0].0, "Monthly cost");
        assert_eq!(lines[0].1, "$12,345/mo");
        assert!(lines[1]
            .1
            .starts_with("99.962% vs SLO 99.95%: met by 0.012 pts"));
        let b = &lines.last().unwrap().1;
        assert_eq!(b, "orders_db saturates at 1.8× today's peak");
    }

    #[test]
    fn sections_skip_empty_tables_and_compact_the_horizon() {
        let plan = sample::plan();
        let all = sections(&plan, false);
        let titles: Vec<&str> = all.iter().map(|s| s.title).collect();
        assert!(titles.contains(&"Services") && titles.contains(&"Saturation"));
        let horizon = |c| {
            sections(&plan, c)
                .into_iter()
                .find(|s| s.title == "Horizon")
                .unwrap()
        };
        assert_eq!(horizon(false).rows.len(), 19);
        assert!(horizon(true).rows.len() <= 8);
        assert_eq!(horizon(true).rows.last().unwrap()[0], "18");
        let mut empty = plan.clone();
        empty.queues.clear();
        assert!(!sections(&empty, false).iter().any(|s| s.title == "Queues"));
    }
}
