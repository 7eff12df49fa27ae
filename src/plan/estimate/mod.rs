//! The estimate engine of `archc plan` (plan-model.md §1–§7): from a checked program and
//! the price catalogue, the capacity each component needs at peak, the latency it adds,
//! the availability of every route and of the system, the monthly cost, the horizon table
//! and the saturation multiples. Every figure carries a [`Trace`](crate::plan::report::Trace).
//!
//! The whole estimate is a function of the traffic multiple k (the peak times k): today is
//! k = 1, month m of the horizon is k = (1 + g)^m, and [`plan_scaled`] runs it at any k.
//! Sections follow declaration order; every map is a `BTreeMap`.
//!
//! Latency figures of a saturated component (a fixed replica count at ρ ≥ 1) are
//! `f64::INFINITY`; serde_json writes them as `null`, which the JSON output documents as
//! "unbounded".

mod caches;
mod cost;
mod databases;
mod horizon;
mod inputs;
pub use inputs::unknown_classes;
mod queues;
mod routes;
mod saturation;
mod services;
mod trace;

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::model::{Program, QueueEngine};
use crate::plan::catalogue::Catalogue;
use crate::plan::load::{self, Loads};
use crate::plan::report::{CostLine, Plan, ServicePlan};
use crate::plan::topology;

use caches::CacheSizing;
use databases::DatabaseSizing;
use queues::QueueSizing;
use services::Sizing;
use trace::{bytes, ms, pct, Notes};

/// Options of `archc plan`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Months in the horizon table; None: `system.traffic.horizon`, else 12.
    pub horizon_months: Option<u32>,
    /// Skip the traces (formula and inputs of each figure): the JSON and table outputs
    /// without `--explain` never show them, and building them is most of the estimate's
    /// allocation on large programs. Every figure is the same either way.
    pub without_traces: bool,
}

/// The plan of `program` at its declared peak, or the inputs it lacks (A004 unknown class,
/// A007 missing `work`, A103 unusable autoscale target).
pub fn plan(
    program: &Program,
    catalogue: &Catalogue,
    options: &PlanOptions,
) -> Result<Plan, Vec<Diagnostic>> {
    plan_scaled(program, catalogue, options, 1.0)
}

/// The plan with every rate of the program multiplied by `multiple` (its saturation
/// multiples are then relative to that scaled peak). A multiple that is negative or not
/// finite is taken as 1.
pub fn plan_scaled(
    program: &Program,
    catalogue: &Catalogue,
    options: &PlanOptions,
    multiple: f64,
) -> Result<Plan, Vec<Diagnostic>> {
    let base = load::compute(program, catalogue);
    let errors = inputs::validate(program, catalogue, &base);
    if !errors.is_empty() {
        return Err(errors);
    }
    let multiple = if multiple.is_finite() && multiple >= 0.0 {
        multiple
    } else {
        1.0
    };
    let horizon_months = inputs::horizon_months(program, options);
    let g = inputs::monthly_growth(program);
    let loads = horizon::scaled(&base, multiple);
    let ctx = Ctx {
        program,
        catalogue,
        loads: &loads,
        zones: inputs::primary_region(program).map(|r| r.zones.value),
        month: 0,
        horizon: horizon_months,
        multiple,
        detail: true,
        traces: !options.without_traces,
    };
    let mut notes = Notes::default();
    let est = estimate(&ctx, &mut notes);
    let avail = topology::system_availability(program, catalogue, &loads);
    let routes = routes::routes(&ctx, &est.services, &est.gateways, &avail);
    let availability = routes::availability(program, &avail, ctx.traces);
    let cost = cost::cost_plan(&ctx, cost_lines(program, &est));
    let peak = program
        .peak_rps()
        .unwrap_or_else(|| base.entry.values().sum())
        * multiple;
    let horizon = horizon::table(peak, horizon_months, g, |m, k| {
        if m == 0 {
            return cost.monthly_total;
        }
        let loads_m = horizon::scaled(&base, multiple * k);
        let ctx_m = Ctx {
            loads: &loads_m,
            month: m,
            multiple: multiple * k,
            detail: false,
            traces: false,
            ..ctx
        };
        let est_m = estimate(&ctx_m, &mut Notes::muted());
        cost_lines(program, &est_m).iter().map(|l| l.monthly).sum()
    });
    general_notes(&ctx, &est, g, &mut notes);
    let bottlenecks = saturation::bottlenecks(saturation_rows(program, &est));
    let services = program
        .services
        .iter()
        .filter_map(|s| est.services.get(&s.name.value))
        .map(service_plan)
        .collect();
    let mut assumptions = avail.assumptions.clone();
    assumptions.extend(notes.lines());
    Ok(Plan {
        services,
        caches: est.caches.into_iter().map(|c| c.plan).collect(),
        databases: est.databases.into_iter().map(|d| d.plan).collect(),
        queues: est.queues.into_iter().map(|q| q.plan).collect(),
        routes,
        availability,
        cost,
        horizon,
        bottlenecks,
        assumptions,
    })
}

/// What every part of the estimate reads: the program, the catalogue, the loads at the
/// multiple being estimated, and the month (for storage).
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub program: &'a Program,
    pub catalogue: &'a Catalogue,
    /// Loads at `multiple` × the program's peak.
    pub loads: &'a Loads,
    /// Zones of the primary region; None when no region is declared.
    pub zones: Option<u32>,
    /// The month being estimated (0: today).
    pub month: u32,
    /// Months in the horizon.
    pub horizon: u32,
    /// The traffic multiple of `loads`.
    pub multiple: f64,
    /// Whether to build traces, notes and latency quantiles. Horizon months only read the
    /// monthly cost, so they skip that work (most of a month's time otherwise); every
    /// figure that feeds a cost is computed the same way either way.
    pub detail: bool,
    /// Whether to build traces; only when `detail` is.
    pub traces: bool,
}

/// Every component sized at one multiple.
struct Estimate {
    gateways: BTreeMap<String, Sizing>,
    services: BTreeMap<String, Sizing>,
    caches: Vec<CacheSizing>,
    databases: Vec<DatabaseSizing>,
    queues: Vec<QueueSizing>,
    cdns: Vec<(String, f64)>,
}

fn estimate(ctx: &Ctx, notes: &mut Notes) -> Estimate {
    let p = ctx.program;
    let mut gateway_load: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &ctx.loads.routes {
        *gateway_load.entry(r.gateway.as_str()).or_insert(0.0) += r.load_rps;
    }
    Estimate {
        gateways: p
            .gateways
            .iter()
            .map(|g| {
                let load = gateway_load.get(g.name.value.as_str()).copied();
                let sizing = services::size_gateway(ctx, g, load.unwrap_or(0.0), notes);
                (g.name.value.clone(), sizing)
            })
            .collect(),
        services: p
            .services
            .iter()
            .filter_map(|s| {
                let sl = ctx.loads.services.get(&s.name.value)?;
                Some((
                    s.name.value.clone(),
                    services::size_service(ctx, s, sl, notes),
                ))
            })
            .collect(),
        caches: p
            .caches
            .iter()
            .map(|c| caches::size_cache(ctx, c, notes))
            .collect(),
        databases: p
            .databases
            .iter()
            .map(|d| databases::size_database(ctx, d, notes))
            .collect(),
        queues: queues::size_queues(ctx, notes),
        cdns: p
            .cdns
            .iter()
            .map(|c| (c.name.value.clone(), cost::cdn_cost(ctx, c, notes)))
            .collect(),
    }
}

/// One cost line per component, in declaration order.
fn cost_lines(program: &Program, est: &Estimate) -> Vec<CostLine> {
    let mut lines = Vec::new();
    for g in &program.gateways {
        if let Some(s) = est.gateways.get(&g.name.value) {
            lines.push(cost::line(&s.name, "gateway", s.monthly_cost));
        }
    }
    for s in &program.services {
        if let Some(s) = est.services.get(&s.name.value) {
            lines.push(cost::line(&s.name, "service", s.monthly_cost));
        }
    }
    for d in &est.databases {
        lines.push(cost::line(&d.plan.name, "database", d.plan.monthly_cost));
    }
    for c in &est.caches {
        lines.push(cost::line(&c.plan.name, "cache", c.plan.monthly_cost));
    }
    for q in &est.queues {
        lines.push(cost::line(&q.plan.name, "queue", q.plan.monthly_cost));
    }
    for (name, monthly) in &est.cdns {
        lines.push(cost::line(name, "cdn", *monthly));
    }
    lines
}

/// (component, saturation multiple) in declaration order.
fn saturation_rows<'e>(program: &Program, est: &'e Estimate) -> Vec<(&'e str, Option<f64>)> {
    let mut rows = Vec::new();
    for g in &program.gateways {
        if let Some(s) = est.gateways.get(&g.name.value) {
            rows.push((s.name.as_str(), s.saturates_at));
        }
    }
    for s in &program.services {
        if let Some(s) = est.services.get(&s.name.value) {
            rows.push((s.name.as_str(), s.saturates_at));
        }
    }
    rows.extend(
        est.databases
            .iter()
            .map(|d| (d.plan.name.as_str(), d.saturates_at)),
    );
    rows.extend(
        est.caches
            .iter()
            .map(|c| (c.plan.name.as_str(), c.saturates_at)),
    );
    rows.extend(
        est.queues
            .iter()
            .map(|q| (q.plan.name.as_str(), q.saturates_at)),
    );
    rows
}

fn service_plan(s: &Sizing) -> ServicePlan {
    ServicePlan {
        name: s.name.clone(),
        load_rps: s.load_rps,
        instances: s.instances,
        vcpu: s.vcpu,
        utilization: s.utilization,
        latency_ms: s.latency,
        instances_zone_down: s.zone_down,
        saturates_at: s.saturates_at,
        monthly_cost: s.monthly_cost,
        traces: s.traces.clone(),
    }
}

/// Assumptions about the whole program: zones, hop latency, growth, saturated services.
fn general_notes(ctx: &Ctx, est: &Estimate, g: f64, notes: &mut Notes) {
    let d = &ctx.catalogue.defaults;
    if ctx.zones.is_none() {
        notes.add(
            "no region declared: zone loss is not modelled (instances_zone_down = instances)",
            "",
        );
    }
    if !ctx.program.gateways.is_empty()
        || ctx
            .program
            .services
            .iter()
            .any(|s| !s.calls.is_empty() || s.endpoints.iter().any(|e| !e.calls.is_empty()))
    {
        notes.add(
            format!(
                "route latency is a conservative bound: the sum of hop quantiles plus the catalogue hop latency {} per hop",
                ms(d.hop_latency_ms)
            ),
            "",
        );
    }
    if ctx
        .program
        .queues
        .iter()
        .any(|q| q.engine.value == QueueEngine::Kafka)
    {
        notes.add(
            format!(
                "the catalogue partition throughput {}/s",
                bytes(d.partition_throughput_bytes_per_s)
            ),
            "",
        );
    }
    if ctx.program.caches.iter().any(|c| !c.layers.is_empty()) {
        notes.add("redis nodes are filled to 75% of their memory", "");
    }
    notes.add(
        format!(
            "horizon of {} months at {} traffic growth a month, compounded",
            ctx.horizon,
            pct(g)
        ),
        "",
    );
    for s in est.gateways.values().chain(est.services.values()) {
        if s.utilization >= 1.0 {
            notes.add(
                "saturated: the fixed `replicas` run at a utilisation of 100% or more, so latency is unbounded (null in JSON)",
                &s.name,
            );
        }
    }
}
