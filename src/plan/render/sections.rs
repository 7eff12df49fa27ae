//! The report's tables, built once from a plan and laid out by each renderer: a title,
//! headers, which columns are numbers, and every cell as humanised text.

use super::human::{bytes, latency, money, multiple, percent, rate, rps};
use crate::plan::report::Plan;

/// One table of the report: a title, column headers, which columns are numbers (right
/// aligned), and the rows as display text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Section {
    fn new(title: &'static str, columns: &[(&'static str, bool)]) -> Section {
        Section {
            title,
            headers: columns.iter().map(|c| c.0).collect(),
            numeric: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }
}

/// The report's tables, in reading order, empty ones left out. `compact` keeps the horizon
/// table to a handful of months (the terminal); otherwise every month is listed.
pub(crate) fn sections(plan: &Plan, compact: bool) -> Vec<Section> {
    let cur = &plan.cost.currency;
    let mut out = Vec::new();
    let mut s = Section::new(
        "Services",
        &[
            ("service", false),
            ("load", true),
            ("inst", true),
            ("vCPU", true),
            ("util", true),
            ("p50/p95/p99 ms", true),
            ("zone down", true),
            ("saturates", true),
            ("monthly", true),
        ],
    );
    for v in &plan.services {
        s.rows.push(vec![
            v.name.clone(),
            rps(v.load_rps),
            v.instances.to_string(),
            v.vcpu.to_string(),
            format!("{:.0}%", v.utilization * 100.0),
            latency(&v.latency_ms),
            v.instances_zone_down.to_string(),
            v.saturates_at.map(multiple).unwrap_or_else(|| "-".into()),
            money(v.monthly_cost, cur),
        ]);
    }
    out.push(s);
    let mut s = Section::new(
        "Routes",
        &[
            ("gateway", false),
            ("route", false),
            ("load", true),
            ("availability", true),
            ("p50/p95/p99 ms", true),
        ],
    );
    for r in &plan.routes {
        s.rows.push(vec![
            r.gateway.clone(),
            r.route.clone(),
            rps(r.load_rps),
            percent(r.availability),
            latency(&r.latency_ms),
        ]);
    }
    out.push(s);
    let mut s = Section::new(
        "Caches",
        &[
            ("cache", false),
            ("hit ratio", true),
            ("memory", true),
            ("nodes", true),
            ("monthly", true),
        ],
    );
    for c in &plan.caches {
        s.rows.push(vec![
            c.name.clone(),
            percent(c.hit_ratio),
            bytes(c.memory_bytes),
            c.nodes.to_string(),
            money(c.monthly_cost, cur),
        ]);
    }
    out.push(s);
    let mut s = Section::new(
        "Databases",
        &[
            ("database", false),
            ("reads", true),
            ("writes", true),
            ("shards", true),
            ("replicas", true),
            ("storage at horizon", true),
            ("monthly", true),
        ],
    );
    for d in &plan.databases {
        s.rows.push(vec![
            d.name.clone(),
            rps(d.reads_rps),
            rps(d.writes_rps),
            d.shards_needed.to_string(),
            d.replicas_needed.to_string(),
            bytes(d.storage_bytes_at_horizon),
            money(d.monthly_cost, cur),
        ]);
    }
    out.push(s);
    let mut s = Section::new(
        "Queues",
        &[
            ("queue", false),
            ("rate", true),
            ("consumers", true),
            ("partitions", true),
            ("storage", true),
            ("monthly", true),
        ],
    );
    for q in &plan.queues {
        s.rows.push(vec![
            q.name.clone(),
            rate(q.rate),
            q.consumers_needed.to_string(),
            q.partitions_needed.to_string(),
            bytes(q.storage_bytes),
            money(q.monthly_cost, cur),
        ]);
    }
    out.push(s);
    let mut s = Section::new(
        "Cost by component",
        &[
            ("component", false),
            ("kind", false),
            ("monthly", true),
            ("share", true),
        ],
    );
    let total = plan.cost.monthly_total;
    for c in &plan.cost.by_component {
        let share = if total > 0.0 {
            c.monthly / total * 100.0
        } else {
            0.0
        };
        s.rows.push(vec![
            c.name.clone(),
            c.kind.clone(),
            money(c.monthly, cur),
            format!("{share:.1}%"),
        ]);
    }
    out.push(s);
    let mut s = Section::new(
        "Horizon",
        &[("month", true), ("peak", true), ("monthly cost", true)],
    );
    for (i, h) in plan.horizon.iter().enumerate() {
        let last = i + 1 == plan.horizon.len();
        let step = plan.horizon.len().div_ceil(7).max(1);
        if !compact || i % step == 0 || last {
            s.rows.push(vec![
                h.month.to_string(),
                rps(h.peak_rps),
                money(h.monthly_cost, cur),
            ]);
        }
    }
    out.push(s);
    let mut s = Section::new(
        "Saturation",
        &[("#", true), ("component", false), ("saturates at", true)],
    );
    for (i, b) in plan.bottlenecks.iter().enumerate() {
        s.rows.push(vec![
            (i + 1).to_string(),
            b.component.clone(),
            format!("{} today's peak", multiple(b.saturates_at)),
        ]);
    }
    out.push(s);
    out.retain(|s| !s.rows.is_empty());
    out
}
