//! The spec of one gateway crate: listener, auth, CORS, headers, routes, canaries,
//! versioning, the CDN behaviours in front of it, its limits and its upstream services.

use super::common::{self, ms};
use crate::model::*;
use archc_runtime::spec::*;
use std::collections::BTreeSet;

/// The header the gateway reads the client's country from (set by the CDN or load balancer).
pub const COUNTRY_HEADER: &str = "X-Country";

/// Builds the spec of `gateway`.
pub fn gateway_spec(program: &Program, gateway: &Gateway) -> GatewaySpec {
    let mut limits: BTreeSet<String> = gateway.limits.iter().map(|l| l.name.clone()).collect();
    let mut upstreams: BTreeSet<String> = BTreeSet::new();
    let routes = gateway
        .routes
        .iter()
        .filter_map(|r| {
            let to = forward_target(program, &r.to.as_ref()?.name);
            upstreams.insert(to.clone());
            limits.extend(r.limits.iter().map(|l| l.name.clone()));
            Some(route(r, to))
        })
        .collect();
    let canaries: Vec<CanarySpec> = gateway
        .canaries
        .iter()
        .filter_map(|c| {
            let of = c.of.as_ref()?.name.clone();
            Some(CanarySpec {
                to: canary_backend(&of, c),
                from: of,
                weight: c.weight.as_ref().map(|w| w.value / 100.0).unwrap_or(0.0),
                sticky: c.sticky.value.to_string(),
            })
        })
        .collect();
    let replicated = gateway.replicas.value.max > 1;
    let mut backends: Vec<BackendSpec> = upstreams
        .iter()
        .filter_map(|s| program.service(s))
        .map(|s| backend(s, s.name.value.clone(), common::url_env(&s.name.value)))
        .collect();
    for c in &canaries {
        if let Some(s) = program.service(&c.from) {
            let env = format!("{}_URL", c.to.to_uppercase());
            backends.push(backend(s, c.to.clone(), env));
        }
    }
    GatewaySpec {
        name: gateway.name.value.clone(),
        port: binary_port(gateway.listen.value),
        tls: gateway.tls.value,
        body_limit: common::bytes(gateway.body_limit.value),
        compression: gateway.compression.value,
        request_id: gateway.request_id.value,
        limits: gateway.limits.iter().map(|l| l.name.clone()).collect(),
        auth: gateway.auth.iter().map(auth).collect(),
        cors: gateway.cors.as_ref().map(|c| CorsSpec {
            origins: c.origins.value.clone(),
            methods: c.methods.clone(),
            headers: c.headers.clone(),
            credentials: c.credentials.value,
        }),
        headers: Some(SecurityHeadersSpec {
            hsts: gateway.headers.hsts.value,
            csp: gateway.headers.csp.clone(),
            frame: gateway.headers.frame.value.to_string().to_uppercase(),
            nosniff: gateway.headers.nosniff.value,
        }),
        routes,
        canaries,
        versioning: gateway.version.as_ref().map(|v| VersioningSpec {
            by: v.by.value.to_string(),
            header: Some(v.header.clone()),
            versions: Vec::new(),
            default: None,
            deprecated: v.deprecated.clone(),
        }),
        cdn: program
            .cdns
            .iter()
            .find(|c| {
                c.origin
                    .as_ref()
                    .is_some_and(|o| o.name == gateway.name.value)
            })
            .map(cdn),
        limit_specs: limits
            .iter()
            .filter_map(|l| program.limit(l))
            .map(|l| common::limit(l, replicated))
            .collect(),
        backends,
        shed: program
            .system
            .as_ref()
            .and_then(|s| s.shed.as_ref())
            .map(|s| ShedSpec {
                at_cpu: s.at_cpu.value.fraction().clamp(0.0, 1.0),
                // The gateway only forwards: a generous bound per instance.
                max_in_flight: (s.at_cpu.value.fraction().clamp(0.0, 1.0) * 4096.0).ceil() as u32,
            }),
        redis_cluster: program.redis_cluster(),
    }
}

/// Where the gateway forwards a route's requests. A route may target a CDN (`to = docs_cdn`):
/// the CDN caches at the edge, so what reaches the gateway is a miss, which goes to the CDN's
/// origin service. A CDN whose origin is not a service stays the target (and is reported as an
/// unknown upstream by the gateway) rather than looping back through the gateway.
fn forward_target(program: &Program, to: &str) -> String {
    program
        .cdns
        .iter()
        .find(|c| c.name.value == to)
        .and_then(|c| c.origin.as_ref())
        .filter(|origin| program.service(&origin.name).is_some())
        .map(|origin| origin.name.clone())
        .unwrap_or_else(|| to.to_string())
}

/// The port the gateway binary binds. A privileged port (below 1024, such as 443 with
/// `tls = true`) is served by the TLS terminator or edge balancer in front of the binary
/// (`infra/nginx`, `infra/haproxy`), so the binary itself binds 8000 + port (443 → 8443) and
/// runs without root.
pub fn binary_port(listen: u32) -> u16 {
    let port = u16::try_from(listen).unwrap_or(8080);
    if port < 1024 {
        8000 + port
    } else {
        port
    }
}

/// The backend name of a canary: `orders-v2` for `canary v2 { of = orders version = "v2" }`.
fn canary_backend(of: &str, c: &Canary) -> String {
    let version = c
        .version
        .as_ref()
        .map(|v| v.value.clone())
        .unwrap_or_else(|| c.name.value.clone());
    let version: String = version
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
        .collect();
    format!("{of}_{version}")
}

fn backend(s: &Service, name: String, url_env: String) -> BackendSpec {
    BackendSpec {
        name,
        url_env,
        default_url: common::local_url(s),
        balance: s.balance.value.to_string(),
        weights: s
            .weights
            .as_ref()
            .map(|w| w.value.iter().map(|x| x.value.max(0) as u32).collect())
            .unwrap_or_default(),
        health_path: common::health_path(s),
        health_interval_ms: ms(s.health.interval.value),
        health_timeout_ms: ms(s.health.timeout.value),
        unhealthy_after: s.health.unhealthy_after,
        healthy_after: s.health.healthy_after,
    }
}

fn route(r: &Route, to: String) -> RouteSpec {
    let route_backoff = BackoffSpec::Exponential {
        base_ms: 50,
        max_ms: 800,
    };
    RouteSpec {
        method: r
            .http
            .method
            .map(|m| m.to_string())
            .unwrap_or_else(|| "*".into()),
        path: r.http.path.clone(),
        to,
        auth: match r.auth.value {
            RouteAuth::None => "none".into(),
            RouteAuth::Optional => "optional".into(),
            RouteAuth::Required(kind) => kind.to_string(),
        },
        permissions: r.permissions.clone(),
        limits: r.limits.iter().map(|l| l.name.clone()).collect(),
        timeout_ms: ms(r.timeout.value),
        retry: r
            .retry
            .as_ref()
            .filter(|x| x.attempts.value > 0)
            .map(|x| common::retry(x, route_backoff)),
        breaker: r.breaker.as_ref().map(common::breaker),
        cache: r.cache.as_ref().map(|c| RouteCacheSpec {
            ttl_ms: c.ttl.as_ref().map(|t| ms(t.value)).unwrap_or(0),
            vary: c.vary.clone(),
            per_user: c.per_user.value,
        }),
        set_headers: r
            .transform
            .as_ref()
            .map(|t| {
                t.set_headers
                    .iter()
                    .map(|h| (h.name.clone(), h.value.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        strip_query: r
            .transform
            .as_ref()
            .map(|t| t.strip_query.clone())
            .unwrap_or_default(),
        critical: r.critical.value,
        websocket: r.websocket.value,
    }
}

fn secret_env(s: &Secret) -> Option<String> {
    match s {
        Secret::Env(name) => Some(name.clone()),
        Secret::File(_) => None,
    }
}

fn auth(a: &Auth) -> AuthSpec {
    let kind = a.kind.value;
    AuthSpec {
        kind: kind.to_string(),
        issuer: a.issuer.as_ref().map(|s| s.value.clone()),
        audience: a.audience.as_ref().map(|s| s.value.clone()),
        // Without a declared secret, the keys come from a conventional variable.
        secret_env: a
            .secret
            .as_ref()
            .and_then(|s| secret_env(&s.value))
            .or_else(|| Some(format!("{}_KEYS", kind.to_string().to_uppercase()))),
        header: a.header.as_ref().map(|h| h.value.clone()),
        window_ms: a.window.as_ref().map(|w| ms(w.value)),
    }
}

fn cdn(c: &Cdn) -> CdnSpec {
    let signed_key_env = c
        .signed
        .as_ref()
        .and_then(|s| s.key.as_ref())
        .and_then(|k| secret_env(&k.value));
    CdnSpec {
        name: c.name.value.clone(),
        behaviors: c
            .behaviors
            .iter()
            .map(|b| {
                let ttl = b.ttl.as_ref().map(|t| ms(t.value)).unwrap_or(0);
                CdnBehaviorSpec {
                    pattern: b.pattern.value.clone(),
                    ttl_ms: ttl,
                    max_ttl_ms: b.max_ttl.as_ref().map(|t| ms(t.value)).unwrap_or(ttl),
                    immutable: b.immutable,
                    private: b.private.value,
                    stale_while_revalidate_ms: b
                        .stale_while_revalidate
                        .as_ref()
                        .map(|t| ms(t.value)),
                    vary: b.headers.clone(),
                    signed_key_env: signed_key_env.clone(),
                }
            })
            .collect(),
        geo_allow: c.geo.as_ref().map(|g| g.allow.clone()).unwrap_or_default(),
        geo_deny: c.geo.as_ref().map(|g| g.deny.clone()).unwrap_or_default(),
        country_header: COUNTRY_HEADER.to_string(),
        error_pages: c
            .errors
            .iter()
            .map(|e| (e.status, e.page.clone()))
            .collect(),
        error_ttl_ms: c.error_ttl.as_ref().map(|t| ms(t.value)),
    }
}
