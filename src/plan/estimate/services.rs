//! Services and gateways sized as M/M/c per instance (plan-model.md §2).
//!
//! - Demand: a service's λ is the load of its endpoints (from `load`) plus the messages its
//!   consumers read (each `consumes` block adds its queue's rate); its CPU demand λ·S is
//!   Σ λₑ·workₑ + Σ r·work_c (`batch` does not change the CPU per message). A gateway's λ is
//!   the sum of its routes' loads at the catalogue's `gateway_work` per request.
//! - Instances: `replicas = N` written is a fixed count (ρ ≥ 1 shows as utilisation ≥ 1 and
//!   infinite latency); a range `min..max` is autoscaled, n = max(min, ⌈λ·S/(c·u)⌉); an
//!   unwritten (defaulted) `replicas` is a minimum only, sized the same way with no ceiling.
//! - Per instance λᵢ = λ/n, μ = 1/S, c = vCPU; Erlang C mean wait and the response-time
//!   quantiles of `queueing`, plus the endpoints' traffic-weighted `wait`.
//! - Ceiling: the fixed count or the autoscale maximum; the saturation multiple is the k at
//!   which ⌈k·λ·S/(c·u)⌉ exceeds it, k = ceiling·c·u/(λ·S) (the load is linear in k).

use crate::model::{Gateway, Replicas, Service, Spanned};
use crate::plan::load::ServiceLoad;
use crate::plan::queueing::{
    erlang_c, instances_needed, mean_wait, response_quantile, zone_loss_instances,
};
use crate::plan::report::{Latency, Trace};

use super::trace::{self, money, ms, num, pct, rps, trace, Notes};
use super::Ctx;

/// A sized service or gateway.
#[derive(Debug, Clone)]
pub struct Sizing {
    pub name: String,
    pub load_rps: f64,
    pub vcpu: u32,
    pub instances: u32,
    pub utilization: f64,
    /// Quantiles of queueing + service time, without `wait`.
    pub response: Latency,
    /// `response` plus the mean `wait`.
    pub latency: Latency,
    pub zone_down: u32,
    pub saturates_at: Option<f64>,
    pub monthly_cost: f64,
    pub traces: Vec<Trace>,
}

/// The demand on one service or gateway.
struct Demand {
    load_rps: f64,
    busy_cores: f64,
    wait_ms: f64,
    /// Mean work when there is no load (the plain mean of the declared `work`).
    idle_work_ms: f64,
}

/// Sizes a service from its endpoint load and the queues its consumers read.
pub fn size_service(ctx: &Ctx, s: &Service, sl: &ServiceLoad, notes: &mut Notes) -> Sizing {
    let mut demand = Demand {
        load_rps: sl.load_rps,
        busy_cores: sl.busy_cores,
        wait_ms: sl.wait_ms,
        idle_work_ms: sl.work_ms,
    };
    let mut consumed = 0.0;
    for c in &s.consumers {
        let rate = c
            .from
            .as_ref()
            .and_then(|q| ctx.loads.queues.get(&q.name))
            .copied()
            .unwrap_or(0.0);
        let work = c.work.as_ref().map_or(0.0, |w| w.value.0);
        consumed += rate;
        demand.load_rps += rate;
        demand.busy_cores += rate * work / 1000.0;
    }
    let target_default = sl.target_is_default;
    if target_default && ctx.detail {
        notes.add(
            format!(
                "the catalogue default target utilisation {}",
                pct(sl.target_utilization)
            ),
            &s.name.value,
        );
    }
    let vcpu = ctx
        .catalogue
        .instance(&s.instance.value)
        .map_or(1, |c| c.vcpu);
    let hourly = ctx
        .catalogue
        .instance(&s.instance.value)
        .map_or(0.0, |c| c.hourly);
    let mut sizing = size(
        ctx,
        &s.name.value,
        &s.instance.value,
        &demand,
        (vcpu, sl.target_utilization, hourly),
        &s.replicas,
        notes,
    );
    if consumed > 0.0 && ctx.traces {
        sizing.traces.insert(
            0,
            trace(
                "load_rps",
                "requests plus consumed messages: λ = Σ λₑ + Σ r_queue",
                vec![
                    ("Σ λₑ (endpoints)", rps(sl.load_rps)),
                    ("Σ r (consumers)", rps(consumed)),
                ],
                rps(demand.load_rps),
            ),
        );
    }
    sizing
}

/// Sizes a gateway from the load of its routes at the catalogue's `gateway_work`.
pub fn size_gateway(ctx: &Ctx, g: &Gateway, load_rps: f64, notes: &mut Notes) -> Sizing {
    let work = ctx.catalogue.defaults.gateway_work_ms;
    let u = ctx.catalogue.defaults.target_utilization / 100.0;
    if ctx.detail {
        notes.add(
            format!("the catalogue gateway work {} per request", ms(work)),
            &g.name.value,
        );
        notes.add(
            format!("the catalogue default target utilisation {}", pct(u)),
            &g.name.value,
        );
    }
    let class = ctx.catalogue.instance(&g.instance.value);
    let demand = Demand {
        load_rps,
        busy_cores: load_rps * work / 1000.0,
        wait_ms: 0.0,
        idle_work_ms: work,
    };
    size(
        ctx,
        &g.name.value,
        &g.instance.value,
        &demand,
        (
            class.map_or(1, |c| c.vcpu),
            u,
            class.map_or(0.0, |c| c.hourly),
        ),
        &g.replicas,
        notes,
    )
}

fn size(
    ctx: &Ctx,
    name: &str,
    class: &str,
    d: &Demand,
    (vcpu, u, hourly): (u32, f64, f64),
    replicas: &Spanned<Replicas>,
    notes: &mut Notes,
) -> Sizing {
    let work_ms = if d.load_rps > 0.0 && d.busy_cores > 0.0 {
        d.busy_cores * 1000.0 / d.load_rps
    } else {
        d.idle_work_ms
    };
    let r = replicas.value;
    let needed = instances_needed(d.load_rps, work_ms / 1000.0, vcpu, u, r.min);
    let (instances, ceiling, rule) = if replicas.defaulted {
        if ctx.detail {
            notes.add(
                format!(
                    "no `replicas` declared: sized to the load, at least the default {}",
                    r.min
                ),
                name,
            );
        }
        (needed, None, "n = max(min, ⌈λ·S / (c·u)⌉)")
    } else if r.is_autoscaled() {
        (needed, Some(r.max), "n = max(min, ⌈λ·S / (c·u)⌉)")
    } else {
        (r.min, Some(r.min), "n = the fixed `replicas`")
    };
    let c = f64::from(vcpu);
    let n = f64::from(instances.max(1));
    let utilization = d.busy_cores / (n * c);
    let lambda_i = d.load_rps / n;
    let mu = if work_ms > 0.0 {
        1000.0 / work_ms
    } else {
        f64::INFINITY
    };
    // Latency feeds no cost: horizon months (no `detail`) leave it at zero.
    let (wait_prob, mean_wait_ms, response) = if work_ms > 0.0 && ctx.detail {
        let q = |p| response_quantile(vcpu, lambda_i, mu, p) * 1000.0;
        (
            erlang_c(vcpu, lambda_i / mu),
            mean_wait(vcpu, lambda_i, mu) * 1000.0,
            Latency {
                p50: q(0.5),
                p95: q(0.95),
                p99: q(0.99),
            },
        )
    } else {
        (0.0, 0.0, Latency::default())
    };
    let latency = Latency {
        p50: response.p50 + d.wait_ms,
        p95: response.p95 + d.wait_ms,
        p99: response.p99 + d.wait_ms,
    };
    let zones = ctx.zones.unwrap_or(1);
    let zone_down = zone_loss_instances(instances, zones);
    let saturates_at = ceiling
        .filter(|_| d.busy_cores > 0.0)
        .map(|m| f64::from(m) * c * u / d.busy_cores);
    let monthly_cost = f64::from(instances) * hourly * ctx.catalogue.hours_per_month;
    let cur = &ctx.catalogue.currency;
    let mut traces = Vec::new();
    if ctx.traces {
        traces.extend([
            trace(
                "instances",
                &format!("instances at the target utilisation: {rule}"),
                vec![
                    ("λ", rps(d.load_rps)),
                    ("S", ms(work_ms)),
                    ("c", format!("{} vCPU ({class})", num(c))),
                    ("u", pct(u)),
                    ("replicas", replicas_text(r, replicas.defaulted)),
                ],
                num(f64::from(instances)),
            ),
            trace(
                "utilization",
                "utilisation per core: ρ = λ·S / (n·c)",
                vec![
                    ("λ·S", format!("{} busy cores", num(d.busy_cores))),
                    ("n", num(n)),
                    ("c", num(c)),
                ],
                pct(utilization),
            ),
            trace(
                "mean_wait",
                "Erlang C mean queueing delay: Wq = C(c, a) / (c·μ − λᵢ), a = λᵢ/μ",
                vec![
                    ("λᵢ = λ/n", rps(lambda_i)),
                    ("μ = 1/S", format!("{}/s", num(mu))),
                    ("c", num(c)),
                    ("C(c, a)", num(wait_prob)),
                ],
                ms(mean_wait_ms),
            ),
            trace(
                "latency_ms",
                "M/M/c response-time quantiles: solve P(Wq + S > t) = 1 − p, then add `wait`",
                vec![
                    ("queueing + service", trace::latency(&response)),
                    ("wait (traffic-weighted)", ms(d.wait_ms)),
                ],
                trace::latency(&latency),
            ),
        ]);
        traces.push(trace(
            "instances_zone_down",
            "instances so that losing one zone leaves n: ⌈n·z / (z − 1)⌉",
            vec![
                ("n", num(n)),
                (
                    "z (zones of the primary region)",
                    ctx.zones
                        .map_or("none declared".into(), |z| num(f64::from(z))),
                ),
            ],
            num(f64::from(zone_down)),
        ));
        if let (Some(k), Some(m)) = (saturates_at, ceiling) {
            traces.push(trace(
                "saturates_at",
                "multiple of today's peak at which the ceiling is needed: k = ceiling·c·u / (λ·S)",
                vec![
                    ("ceiling", format!("{m} instances")),
                    ("c", num(c)),
                    ("u", pct(u)),
                    ("λ·S", format!("{} busy cores", num(d.busy_cores))),
                ],
                format!("{}×", num(k)),
            ));
        }
        traces.push(trace(
            "monthly_cost",
            "instances × hourly price × hours per month",
            vec![
                ("n", num(n)),
                ("hourly", money(hourly, cur)),
                ("hours", num(ctx.catalogue.hours_per_month)),
            ],
            money(monthly_cost, cur),
        ));
    }
    Sizing {
        name: name.to_string(),
        load_rps: d.load_rps,
        vcpu,
        instances,
        utilization,
        response,
        latency,
        zone_down,
        saturates_at,
        monthly_cost,
        traces,
    }
}

fn replicas_text(r: Replicas, defaulted: bool) -> String {
    match (defaulted, r.is_autoscaled()) {
        (true, _) => format!("not declared (minimum {})", r.min),
        (false, true) => format!("{}..{}", r.min, r.max),
        (false, false) => format!("{} (fixed)", r.min),
    }
}
