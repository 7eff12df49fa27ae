//! `service`: instances, scaling, balancing, health, endpoints and queue consumers.

use super::common::*;
use crate::model::reader::{list_items, Member, Reader, Sink};
use crate::model::value::*;
use crate::model::{Kind, Name};
use crate::syntax::ast::{Block, ValueKind};
use schemars::JsonSchema;
use serde::Serialize;

keyword_enum! {
    /// Load-balancing algorithms (seed §1).
    Balance {
        RoundRobin = "round_robin",
        LeastConnections = "least_connections",
        Weighted = "weighted",
        IpHash = "ip_hash",
        LeastResponseTime = "least_response_time",
        Random = "random",
    }
}
keyword_enum! {
    /// Balancer layer.
    Layer { L4 = "l4", L7 = "l7" }
}

/// `autoscale { cpu rps queue depth cooldown }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Autoscale {
    /// Target utilisation in percent; parsed without the 0..100 clamp so A103 can report it.
    /// None: the catalogue's `target_utilization`.
    pub cpu: Option<Spanned<f64>>,
    pub rps: Option<Spanned<Rate>>,
    pub queue: Option<Ref>,
    pub depth: Option<Spanned<u32>>,
    pub cooldown: Spanned<Millis>,
}

/// `health { path interval timeout unhealthy_after healthy_after }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Health {
    pub path: String,
    pub interval: Spanned<Millis>,
    pub timeout: Spanned<Millis>,
    pub unhealthy_after: u32,
    pub healthy_after: u32,
}

/// An operation a service implements.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Endpoint {
    pub name: Name,
    pub route: Option<Spanned<String>>,
    pub http: Option<HttpRoute>,
    pub share: Option<Spanned<Percent>>,
    pub rps: Option<Spanned<Rate>>,
    pub work: Option<Spanned<Millis>>,
    pub wait: Spanned<Millis>,
    pub reads: Vec<Target>,
    pub writes: Vec<Target>,
    pub publishes: Vec<Ref>,
    pub calls: Vec<PathRef>,
    pub timeout: Spanned<Millis>,
    pub retry: Option<Retry>,
    pub breaker: Option<Breaker>,
    pub idempotent: Spanned<bool>,
    pub limits: Vec<Ref>,
    pub latency: Option<Spanned<Millis>>,
    pub critical: Spanned<bool>,
}

/// `consumes name { from concurrency work batch }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Consumer {
    pub name: Name,
    pub from: Option<Ref>,
    pub concurrency: Spanned<u32>,
    pub work: Option<Spanned<Millis>>,
    pub batch: Spanned<u32>,
}

/// A service.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Service {
    pub name: Name,
    pub port: Spanned<u32>,
    pub instance: Spanned<String>,
    pub replicas: Spanned<Replicas>,
    pub autoscale: Option<Autoscale>,
    pub balance: Spanned<Balance>,
    pub weights: Option<Spanned<Vec<Spanned<i64>>>>,
    pub layer: Spanned<Layer>,
    pub health: Health,
    pub availability: Option<Spanned<Percent>>,
    pub endpoints: Vec<Endpoint>,
    pub consumers: Vec<Consumer>,
    pub calls: Vec<PathRef>,
}

const READABLE: &[Kind] = &[Kind::Cache, Kind::Database];

fn paths(r: &Reader, name: &'static str) -> Vec<PathRef> {
    r.targets(name, &[], &[Member::Endpoint])
        .map(|t| {
            t.value
                .into_iter()
                .filter_map(|t| match t {
                    Target::Member(p) => Some(p),
                    Target::Component(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn lower_service(block: &Block, sink: &Sink, index: usize) -> Service {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let weights = r.attr("weights").and_then(|a| {
        let items = list_items(&r, "weights", &a.value)?;
        let out = items
            .iter()
            .filter_map(|v| match &v.kind {
                ValueKind::Quantity(q)
                    if q.integral
                        && q.per_seconds.is_none()
                        && q.dimension == crate::syntax::literal::Dimension::Count =>
                {
                    Some(Spanned::new(q.value as i64, v.span))
                }
                _ => {
                    r.wrong_type("weights", v, "a list of whole numbers");
                    None
                }
            })
            .collect();
        Some(Spanned::new(out, a.value.span))
    });
    let service = Service {
        name,
        port: r
            .int("port", 1)
            .unwrap_or_else(|| dflt(&r, 8081 + index as u32)),
        instance: r
            .word("instance")
            .unwrap_or_else(|| dflt(&r, "medium".to_string())),
        replicas: replicas(&r, 1, 2),
        autoscale: sub(&r, "autoscale", |a| Autoscale {
            cpu: a.attr("cpu").and_then(|attr| match &attr.value.kind {
                ValueKind::Quantity(q)
                    if q.dimension == crate::syntax::literal::Dimension::Percent
                        && q.per_seconds.is_none() =>
                {
                    Some(Spanned::new(q.value, attr.value.span))
                }
                _ => {
                    a.wrong_type("cpu", &attr.value, "a percent such as 70%");
                    None
                }
            }),
            rps: a.rate("rps", RateUnit::Count),
            queue: a.reference("queue", &[Kind::Queue]),
            depth: a.int("depth", 1),
            cooldown: a
                .duration("cooldown")
                .unwrap_or_else(|| dflt(a, Millis(300_000.0))),
        }),
        balance: r
            .keyword("balance")
            .unwrap_or_else(|| dflt(&r, Balance::RoundRobin)),
        weights,
        layer: r.keyword("layer").unwrap_or_else(|| dflt(&r, Layer::L7)),
        health: sub(&r, "health", health).unwrap_or_else(|| Health {
            path: "/health".into(),
            interval: dflt(&r, Millis(10_000.0)),
            timeout: dflt(&r, Millis(2_000.0)),
            unhealthy_after: 3,
            healthy_after: 2,
        }),
        availability: r.percent("availability"),
        endpoints: subs(&r, "endpoint", endpoint),
        consumers: subs(&r, "consumes", |c| Consumer {
            name: member_name(c),
            from: required(
                c,
                "from",
                "order_events",
                c.reference("from", &[Kind::Queue]),
            ),
            concurrency: c.int("concurrency", 1).unwrap_or_else(|| dflt(c, 1)),
            work: required(c, "work", "5ms", c.duration("work")),
            batch: c.int("batch", 1).unwrap_or_else(|| dflt(c, 1)),
        }),
        calls: paths(&r, "calls"),
    };
    r.finish();
    service
}

fn health(h: &Reader) -> Health {
    Health {
        path: h
            .string("path")
            .map(|s| s.value)
            .unwrap_or_else(|| "/health".into()),
        interval: h
            .positive_duration("interval")
            .unwrap_or_else(|| dflt(h, Millis(10_000.0))),
        timeout: h
            .positive_duration("timeout")
            .unwrap_or_else(|| dflt(h, Millis(2_000.0))),
        unhealthy_after: h.int("unhealthy_after", 1).map(|v| v.value).unwrap_or(3),
        healthy_after: h.int("healthy_after", 1).map(|v| v.value).unwrap_or(2),
    }
}

fn endpoint(e: &Reader) -> Endpoint {
    let route = required(e, "route", "\"GET /api/items/:id\"", e.string("route"));
    let http = route.as_ref().map(|t| http_route(e, "route", t));
    let idempotent_default = http
        .as_ref()
        .and_then(|h| h.method)
        .map(|m| m.is_idempotent())
        .unwrap_or(true);
    Endpoint {
        name: member_name(e),
        share: e.percent("share"),
        rps: e.rate("rps", RateUnit::Count),
        work: required(e, "work", "2ms", e.duration("work")),
        wait: e.duration("wait").unwrap_or_else(|| dflt(e, Millis(0.0))),
        reads: e
            .targets("reads", READABLE, &[Member::Table])
            .map(|t| t.value)
            .unwrap_or_default(),
        writes: e
            .targets("writes", READABLE, &[Member::Table])
            .map(|t| t.value)
            .unwrap_or_default(),
        publishes: e
            .references("publishes", &[Kind::Queue])
            .map(|t| t.value)
            .unwrap_or_default(),
        calls: paths(e, "calls"),
        timeout: e
            .positive_duration("timeout")
            .unwrap_or_else(|| dflt(e, Millis(10_000.0))),
        retry: sub(e, "retry", |x| retry(x, 0, None)),
        breaker: sub(e, "breaker", breaker),
        idempotent: e
            .bool("idempotent")
            .unwrap_or_else(|| dflt(e, idempotent_default)),
        limits: e.limits(),
        latency: e.positive_duration("latency"),
        critical: e.bool("critical").unwrap_or_else(|| dflt(e, false)),
        route,
        http,
    }
}
