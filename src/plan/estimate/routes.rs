//! Routes (plan-model.md §2 latency, §6 availability) and the system's availability.
//!
//! A route's latency quantile is a documented conservative bound: the sum of the hop
//! quantiles along its synchronous chain plus `hop_latency` per hop. The gateway's hop is
//! its own M/M/c quantile; each endpoint's hop is its service's quantile plus that
//! endpoint's `wait`; every `calls` edge (endpoint or service level) adds its callee's
//! chain and one hop, as if the calls were made one after another. A route reaching
//! several endpoints reports the slowest (largest p99). Sums of quantiles bound the
//! quantile of the sum from above. Availability comes from `topology` unchanged.

use std::collections::BTreeMap;

use crate::model::{Endpoint, Program, Service};
use crate::plan::availability::downtime_per_month_s;
use crate::plan::load::{call_edges, endpoint_key, MAX_CALL_DEPTH};
use crate::plan::report::{AvailabilityPlan, Latency, RoutePlan, Trace};
use crate::plan::topology::{format_percent, SystemAvailability};

use super::services::Sizing;
use super::trace::{self, ms, num, rps, trace};
use super::Ctx;

/// Calls followed in total per route (guards against pathological call graphs).
const MAX_STEPS: usize = 10_000;

/// A latency along a chain, the hops it crossed and what it is made of (for the trace).
#[derive(Default)]
struct Acc {
    lat: Latency,
    hops: u32,
    parts: Vec<(String, String)>,
}

impl Acc {
    fn add(&mut self, l: &Latency) {
        self.lat.p50 += l.p50;
        self.lat.p95 += l.p95;
        self.lat.p99 += l.p99;
    }

    fn add_ms(&mut self, x: f64) {
        self.add(&Latency {
            p50: x,
            p95: x,
            p99: x,
        });
    }
}

struct Walker<'a> {
    endpoints: BTreeMap<String, (&'a Service, &'a Endpoint)>,
    edges: BTreeMap<String, Vec<String>>,
    services: &'a BTreeMap<String, Sizing>,
    hop_ms: f64,
}

impl Walker<'_> {
    fn chain(&self, key: &str, path: &mut Vec<String>, budget: &mut usize) -> Acc {
        let mut acc = Acc::default();
        let Some((s, e)) = self.endpoints.get(key) else {
            return acc;
        };
        if let Some(sz) = self.services.get(&s.name.value) {
            acc.add(&sz.response);
            acc.add_ms(e.wait.value.0);
            acc.parts.push((
                key.to_string(),
                format!(
                    "{} + wait {}",
                    trace::latency(&sz.response),
                    ms(e.wait.value.0)
                ),
            ));
        }
        self.calls(
            self.edges.get(key).map_or(&[][..], Vec::as_slice),
            path,
            budget,
            &mut acc,
        );
        acc
    }

    fn calls(&self, callees: &[String], path: &mut Vec<String>, budget: &mut usize, acc: &mut Acc) {
        for callee in callees {
            if path.contains(callee) || path.len() > MAX_CALL_DEPTH || *budget == 0 {
                continue;
            }
            *budget -= 1;
            path.push(callee.clone());
            let sub = self.chain(callee, path, budget);
            path.pop();
            acc.add(&sub.lat);
            acc.add_ms(self.hop_ms);
            acc.hops += 1 + sub.hops;
            acc.parts.extend(sub.parts);
        }
    }
}

/// Every route with its load, availability and latency, in the order `topology` lists them
/// (gateways and routes in declaration order, or the entry endpoints of a program without
/// gateway routes, whose `gateway` is then empty).
pub fn routes(
    ctx: &Ctx,
    services: &BTreeMap<String, Sizing>,
    gateways: &BTreeMap<String, Sizing>,
    avail: &SystemAvailability,
) -> Vec<RoutePlan> {
    let program: &Program = ctx.program;
    let walker = Walker {
        endpoints: program
            .services
            .iter()
            .flat_map(|s| {
                s.endpoints
                    .iter()
                    .map(move |e| (endpoint_key(s, e), (s, e)))
            })
            .collect(),
        edges: call_edges(program),
        services,
        hop_ms: ctx.catalogue.defaults.hop_latency_ms,
    };
    let by_gateway_routes = !ctx.loads.routes.is_empty();
    avail
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let starts: Vec<String> = if by_gateway_routes {
                ctx.loads
                    .routes
                    .get(i)
                    .map(|l| l.endpoints.clone())
                    .unwrap_or_default()
            } else {
                vec![r.route.clone()]
            };
            let gateway = r.gateway.as_deref().and_then(|g| gateways.get(g));
            let mut acc = Acc::default();
            if let Some(g) = gateway {
                acc.add(&g.response);
                acc.parts
                    .push((format!("gateway {}", g.name), trace::latency(&g.response)));
            }
            let mut budget = MAX_STEPS;
            let entry = if starts.is_empty() {
                r.service
                    .as_deref()
                    .and_then(|s| services.get(s).map(|sz| (s, sz)))
                    .map(|(s, sz)| whole_service(&walker, program, s, sz, &mut budget))
            } else {
                starts
                    .iter()
                    .map(|k| walker.chain(k, &mut vec![k.clone()], &mut budget))
                    .reduce(|a, b| if b.lat.p99 > a.lat.p99 { b } else { a })
            };
            if let Some(e) = entry {
                if gateway.is_some() {
                    acc.add_ms(walker.hop_ms);
                    acc.hops += 1;
                }
                acc.add(&e.lat);
                acc.hops += e.hops;
                acc.parts.extend(e.parts);
            }
            let traces = if ctx.traces {
                let mut inputs: Vec<(&str, String)> = acc
                    .parts
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                inputs.push((
                    "hops × hop_latency",
                    format!("{} × {}", acc.hops, ms(walker.hop_ms)),
                ));
                vec![
                    trace(
                        "latency_ms",
                        "conservative bound: Σ hop quantiles + hop_latency × hops",
                        inputs,
                        trace::latency(&acc.lat),
                    ),
                    availability_trace(r, avail.hot_dr),
                ]
            } else {
                Vec::new()
            };
            RoutePlan {
                gateway: r.gateway.clone().unwrap_or_default(),
                route: r.route.clone(),
                load_rps: r.load_rps,
                availability: r.availability,
                latency_ms: acc.lat,
                traces,
            }
        })
        .collect()
}

/// A route to a service whose endpoints it does not reach first: the service's mean
/// latency (with its mean `wait`) and its service-level calls.
fn whole_service(
    walker: &Walker,
    program: &Program,
    name: &str,
    sz: &Sizing,
    budget: &mut usize,
) -> Acc {
    let mut acc = Acc::default();
    acc.add(&sz.latency);
    acc.parts
        .push((name.to_string(), trace::latency(&sz.latency)));
    let callees: Vec<String> = program
        .service(name)
        .map(|s| {
            s.calls
                .iter()
                .filter_map(|p| program.endpoint(p))
                .map(|(cs, ce)| endpoint_key(cs, ce))
                .collect()
        })
        .unwrap_or_default();
    walker.calls(&callees, &mut Vec::new(), budget, &mut acc);
    acc
}

fn availability_trace(r: &crate::plan::topology::RouteAvailability, hot: bool) -> Trace {
    let mut inputs: Vec<(&str, String)> = r
        .factors
        .iter()
        .map(|f| {
            (
                f.component.as_str(),
                format!("{} = {}", f.detail, format_percent(f.availability)),
            )
        })
        .collect();
    if hot {
        inputs.push(("dr", "hot standby region: 1 − (1 − A)²".into()));
    }
    trace(
        "availability",
        "product of what the synchronous chain needs: A = Π aᵢ, replicas 1 − (1 − a)ⁿ",
        inputs,
        format_percent(r.availability),
    )
}

/// The system's availability, its target and downtime, and the weakest component; their
/// traces only when `traces`.
pub fn availability(
    program: &Program,
    avail: &SystemAvailability,
    traces: bool,
) -> AvailabilityPlan {
    let target = program.slo().map(|s| s.value.fraction());
    let downtime = downtime_per_month_s(avail.system);
    let traces = if traces {
        availability_traces(avail, downtime)
    } else {
        Vec::new()
    };
    AvailabilityPlan {
        system: avail.system,
        target,
        downtime_per_month_s: downtime,
        weakest: avail.weakest.as_ref().map(|w| w.component.clone()),
        traces,
    }
}

/// How the system availability, its downtime and its weakest factor were obtained.
fn availability_traces(avail: &SystemAvailability, downtime: f64) -> Vec<Trace> {
    let mut inputs: Vec<(&str, String)> = avail
        .routes
        .iter()
        .map(|r| {
            (
                r.route.as_str(),
                format!("{} at {}", rps(r.load_rps), format_percent(r.availability)),
            )
        })
        .collect();
    if avail.routes.is_empty() {
        inputs.push(("region", "no route: the region alone".into()));
    }
    let mut traces = vec![
        trace(
            "system",
            "traffic-weighted mean of the routes: A = Σ λᵣ·Aᵣ / Σ λᵣ",
            inputs,
            format_percent(avail.system),
        ),
        trace(
            "downtime_per_month_s",
            "(1 − A) × 30 days",
            vec![("A", format_percent(avail.system))],
            format!("{} s", num(downtime)),
        ),
    ];
    if let Some(w) = &avail.weakest {
        traces.push(trace(
            "weakest",
            "the least available factor of the heaviest route",
            vec![
                ("route", w.route.clone()),
                ("route load", rps(w.load_rps)),
                (
                    "factor",
                    format!("{} = {}", w.detail, format_percent(w.availability)),
                ),
            ],
            w.component.clone(),
        ));
    }
    traces
}
