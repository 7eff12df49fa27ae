//! `infra/nginx/nginx.conf`: each gateway as an nginx edge (upstream method, passive
//! health, per-route timeouts and retries, `limit_req`, `proxy_cache` keyed on the vary
//! headers, CORS, security headers, TLS). The shared edge model is in `edge.rs`; the
//! nginx spelling of balancing is decided here.

use super::edge::{self, EdgeGateway};
use super::{InfraFile, Model};
use crate::generate::templates::Templates;
use serde::Serialize;

#[derive(Serialize)]
struct NginxUpstream<'a> {
    name: String,
    /// `least_conn;`, `ip_hash;`, `random;`, ... (empty for round robin).
    method: &'static str,
    u: &'a edge::Upstream,
    fail_timeout: String,
}

#[derive(Serialize)]
struct NginxGateway<'a> {
    g: &'a EdgeGateway,
    upstreams: Vec<NginxUpstream<'a>>,
}

#[derive(Serialize)]
struct NginxCtx<'a> {
    gateways: Vec<NginxGateway<'a>>,
}

/// nginx's directive for a balancing algorithm. nginx OSS has no response-time balancing:
/// `random two least_conn` (power of two choices) is the nearest.
pub fn method(balance: &str) -> &'static str {
    match balance {
        "least_connections" => "least_conn;",
        "ip_hash" => "ip_hash;",
        "random" => "random;",
        "least_response_time" => "random two least_conn;",
        _ => "",
    }
}

pub fn files(model: &Model, templates: &Templates, out: &mut Vec<InfraFile>) -> Result<(), String> {
    let gateways = edge::gateways(model);
    if gateways.is_empty() {
        return Ok(());
    }
    let ctx = NginxCtx {
        gateways: gateways
            .iter()
            .map(|g| NginxGateway {
                g,
                upstreams: g
                    .upstreams
                    .iter()
                    .map(|u| NginxUpstream {
                        name: format!("{}__{}", g.name, u.name),
                        method: method(&u.balance),
                        u,
                        fail_timeout: super::duration(u.fail_timeout_ms),
                    })
                    .collect(),
            })
            .collect(),
    };
    model.render(
        templates,
        "infra/nginx.conf.j2",
        &ctx,
        "infra/nginx/nginx.conf".into(),
        out,
    )?;
    super::haproxy::files(model, templates, &gateways, out)
}
