//! `infra/haproxy/haproxy.cfg`: each gateway as an haproxy frontend with one backend per
//! route (balance algorithm, active health checks, timeouts, retries, response cache) and a
//! stick table per limit (`http_req_rate` over the declared window).

use super::edge::{EdgeGateway, RouteCtx, Zone};
use super::{duration, InfraFile, Model};
use crate::generate::templates::Templates;
use serde::Serialize;

#[derive(Serialize)]
struct HRoute<'a> {
    r: &'a RouteCtx,
    backend: String,
    balance: &'static str,
    servers: Vec<(String, String, u32)>,
    health_path: String,
    inter: String,
    check_timeout: String,
    fall: u32,
    rise: u32,
    /// `(sticky counter, table, count)` checks after tracking.
    limits: Vec<(usize, String, u64)>,
    /// haproxy's cache varies only on a few headers: routes varying on others, or per user,
    /// are not cached at this edge.
    cached: bool,
    method_acl: Option<String>,
}

#[derive(Serialize)]
struct HGateway<'a> {
    g: &'a EdgeGateway,
    routes: Vec<HRoute<'a>>,
    tables: Vec<HTable<'a>>,
}

#[derive(Serialize)]
struct HTable<'a> {
    z: &'a Zone,
    name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct HCtx<'a> {
    gateways: Vec<HGateway<'a>>,
}

/// haproxy's name for a balancing algorithm; it has no response-time balancing, and
/// `leastconn` is the nearest.
pub fn balance(b: &str) -> &'static str {
    match b {
        "least_connections" | "least_response_time" => "leastconn",
        "ip_hash" => "source",
        "random" => "random",
        _ => "roundrobin",
    }
}

pub fn files(
    model: &Model,
    templates: &Templates,
    gateways: &[EdgeGateway],
    out: &mut Vec<InfraFile>,
) -> Result<(), String> {
    let ctx = HCtx {
        gateways: gateways
            .iter()
            .map(|g| {
                let tables: Vec<HTable> = g
                    .zones
                    .iter()
                    .map(|z| HTable {
                        z,
                        name: format!("st_{}_{}", g.name, z.name),
                        kind: if z.haproxy_key == "src" {
                            "ip"
                        } else {
                            "string len 256"
                        },
                    })
                    .collect();
                let routes = g
                    .routes
                    .iter()
                    .map(|r| {
                        let u = g.upstreams.iter().find(|u| u.name == r.upstream);
                        // The gateway-wide limits first (counter 0), then the route's.
                        let mut limits = Vec::new();
                        for z in g.gateway_zones.iter().chain(r.zones.iter()) {
                            if limits.len() >= 3 {
                                break;
                            }
                            if let Some(t) = tables.iter().find(|t| &t.z.name == z) {
                                if !limits
                                    .iter()
                                    .any(|(_, n, _): &(usize, String, u64)| n == &t.name)
                                {
                                    limits.push((
                                        limits.len(),
                                        t.name.clone(),
                                        t.z.count + t.z.burst,
                                    ));
                                }
                            }
                        }
                        HRoute {
                            r,
                            backend: format!("{}_{}", g.name, r.id),
                            balance: balance(u.map(|u| u.balance.as_str()).unwrap_or("")),
                            servers: u
                                .map(|u| {
                                    u.servers
                                        .iter()
                                        .enumerate()
                                        .map(|(i, s)| {
                                            (
                                                format!("s{i}"),
                                                format!("{}:{}", s.host, s.port),
                                                s.weight,
                                            )
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                            health_path: u
                                .map(|u| u.health_path.clone())
                                .unwrap_or_else(|| "/health".into()),
                            inter: duration(u.map(|u| u.interval_ms).unwrap_or(10_000)),
                            check_timeout: duration(u.map(|u| u.timeout_ms).unwrap_or(2000)),
                            fall: u.map(|u| u.fall).unwrap_or(3),
                            rise: u.map(|u| u.rise).unwrap_or(2),
                            limits,
                            cached: r.cache_ttl.is_some() && r.cache_vary.is_empty(),
                            method_acl: r.method.clone(),
                        }
                    })
                    .collect();
                HGateway { g, routes, tables }
            })
            .collect(),
    };
    model.render(
        templates,
        "infra/haproxy.cfg.j2",
        &ctx,
        "infra/haproxy/haproxy.cfg".into(),
        out,
    )
}
