//! The edge model nginx.conf and haproxy.cfg share: per gateway its listener, upstreams
//! (balancing, weights, health), routes in declaration order (method, path regex, timeout,
//! retries, limits, cache with its vary key, set headers, websocket, auth presence), limit
//! zones with the rate each tool can express, CORS and security headers.

use super::{conv, dns, Model};
use crate::model::*;
use archc_runtime::spec::{AlgorithmSpec, GatewaySpec, LimitKeySpec, LimitSpec};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub weight: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Upstream {
    pub name: String,
    /// The runtime's algorithm name (`least_connections`, ...).
    pub balance: String,
    pub servers: Vec<Server>,
    pub health_path: String,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub fall: u32,
    pub rise: u32,
    /// Passive health (nginx): failures before a server is skipped, and for how long.
    pub max_fails: u32,
    pub fail_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    pub name: String,
    pub limit: String,
    /// nginx `limit_req_zone` key (a variable; empty means not counted).
    pub nginx_key: String,
    /// nginx rate (`5r/m`): nginx cannot go below one request a minute.
    pub nginx_rate: String,
    pub nginx_burst: u64,
    /// haproxy fetch the stick table is keyed on.
    pub haproxy_key: String,
    /// haproxy `http_req_rate(PERIOD)` period and the count allowed in it.
    pub period: String,
    pub count: u64,
    /// Requests in the window beyond the rate (the declared burst).
    pub burst: u64,
    pub block: Option<String>,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// What neither tool can express (tiers, countries, adaptive, cost).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteCtx {
    pub id: String,
    pub method: Option<String>,
    pub path: String,
    /// `^/api/products/[^/]+$`.
    pub regex: String,
    pub upstream: String,
    pub timeout: String,
    pub timeout_ms: u64,
    pub connect_timeout: String,
    /// Tries including the first (1 = no retry).
    pub tries: u32,
    /// nginx `proxy_next_upstream` conditions.
    pub next_upstream: Vec<String>,
    /// haproxy `retry-on` conditions.
    pub retry_on: Vec<String>,
    pub zones: Vec<String>,
    pub cache_ttl: Option<String>,
    pub cache_ttl_s: u64,
    /// Request headers the cache key varies on, as nginx variables.
    pub cache_vary: Vec<String>,
    pub vary_header: Vec<String>,
    pub set_headers: Vec<(String, String)>,
    pub strip_query: Vec<String>,
    pub websocket: bool,
    /// Header that must be present (`Authorization` for jwt, the API-key header, ...).
    pub require_header: Option<String>,
    pub require_var: Option<String>,
    pub critical: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cors {
    pub origins: Vec<String>,
    pub methods: String,
    pub headers: String,
    pub credentials: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EdgeGateway {
    pub name: String,
    pub listen: u32,
    pub tls: bool,
    pub body_limit: u64,
    pub compression: bool,
    pub request_id: bool,
    pub upstreams: Vec<Upstream>,
    pub zones: Vec<Zone>,
    pub gateway_zones: Vec<String>,
    pub routes: Vec<RouteCtx>,
    /// Distinct paths in first-declaration order, each with its routes (by method).
    pub paths: Vec<PathGroup>,
    pub cors: Option<Cors>,
    pub headers: Vec<(String, String)>,
    pub has_cache: bool,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathGroup {
    pub regex: String,
    pub routes: Vec<(Option<String>, String)>,
}

/// `/api/products/:id` → `^/api/products/[^/]+$`; `/docs/*` → `^/docs/.*$`.
pub fn path_regex(path: &str) -> String {
    let mut out = String::from("^");
    let trimmed = path.strip_suffix('*');
    let body = trimmed.unwrap_or(path);
    for (i, seg) in body.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if seg.starts_with(':') {
            out.push_str("[^/]+");
        } else {
            for c in seg.chars() {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~') {
                    out.push(c);
                } else {
                    out.push('\\');
                    out.push(c);
                }
            }
        }
    }
    if trimmed.is_some() {
        out.push_str(".*");
    }
    out.push('$');
    out
}

fn header_var(h: &str) -> String {
    format!("$http_{}", h.to_ascii_lowercase().replace('-', "_"))
}

fn zone(spec: &LimitSpec, api_key_header: &str) -> Zone {
    let count = spec.rate.count.max(1);
    let per_ms = spec.rate.per_ms.max(1);
    // nginx takes whole requests per second or per minute.
    let per_minute = (count as f64) * 60_000.0 / per_ms as f64;
    let nginx_rate = if per_ms == 1000 {
        format!("{count}r/s")
    } else if per_minute.fract() == 0.0 && per_minute >= 1.0 {
        format!("{}r/m", per_minute as u64)
    } else if per_minute >= 1.0 {
        format!("{}r/m", per_minute.round() as u64)
    } else {
        "1r/m".into()
    };
    // A window limit admits its whole quota at once (nginx counts the first request outside
    // `burst`); `burst` is a bucket's capacity and means nothing to a window (as in the runtime).
    let (nginx_burst, burst) = match spec.algorithm {
        AlgorithmSpec::FixedWindow | AlgorithmSpec::SlidingWindow => (count - 1, 0),
        AlgorithmSpec::TokenBucket | AlgorithmSpec::LeakyBucket => (spec.burst, spec.burst),
    };
    let (nginx_key, haproxy_key) = match &spec.key {
        LimitKeySpec::Ip => ("$binary_remote_addr".to_string(), "src".to_string()),
        // The edge cannot verify a JWT: the bearer token stands for the user.
        LimitKeySpec::User => (
            "$http_authorization".into(),
            "req.hdr(authorization)".into(),
        ),
        LimitKeySpec::ApiKey => (
            header_var(api_key_header),
            format!("req.hdr({})", api_key_header.to_ascii_lowercase()),
        ),
        LimitKeySpec::Endpoint => ("$request_method$uri".into(), "path".into()),
        LimitKeySpec::Global => ("$server_name".into(), "str(global)".into()),
        LimitKeySpec::Header(h) => (
            header_var(h),
            format!("req.hdr({})", h.to_ascii_lowercase()),
        ),
    };
    let mut notes = Vec::new();
    if !spec.tiers.is_empty() {
        notes.push(format!(
            "tiers ({}) are enforced by the gateway binary; the edge applies the base rate",
            spec.tiers
                .iter()
                .map(|t| t.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !spec.countries.is_empty() {
        notes.push("per-country rates are enforced by the gateway binary".into());
    }
    if spec.adaptive.is_some() {
        notes.push("adaptive rates are enforced by the gateway binary".into());
    }
    if spec.cost > 1 {
        notes.push(format!(
            "cost {} per request is enforced by the gateway binary",
            spec.cost
        ));
    }
    Zone {
        name: format!("limit_{}", spec.name),
        limit: spec.name.clone(),
        nginx_key,
        nginx_rate,
        nginx_burst,
        haproxy_key,
        period: super::duration(per_ms),
        count,
        burst,
        block: (spec.block_ms > 0).then(|| super::duration(spec.block_ms)),
        allow: spec.allow.clone(),
        deny: spec.deny.clone(),
        notes,
    }
}

pub fn gateways(model: &Model) -> Vec<EdgeGateway> {
    model
        .program
        .gateways
        .iter()
        .map(|g| gateway(model, g, &super::spec::gateway_spec(model.program, g)))
        .collect()
}

fn upstream(model: &Model, s: &Service, spec: &GatewaySpec) -> Upstream {
    let routes_to: Vec<_> = spec
        .routes
        .iter()
        .filter(|r| r.to == s.name.value)
        .collect();
    let breaker = routes_to
        .iter()
        .filter_map(|r| r.breaker.as_ref())
        .min_by_key(|b| b.failures);
    let weights: Vec<u32> = s
        .weights
        .as_ref()
        .map(|w| w.value.iter().map(|x| x.value.max(1) as u32).collect())
        .unwrap_or_default();
    let host = dns(&s.name.value);
    let port = u16::try_from(s.port.value).unwrap_or(8080);
    let servers = if s.balance.value == Balance::Weighted && !weights.is_empty() {
        weights
            .iter()
            .map(|w| Server {
                host: host.clone(),
                port,
                weight: *w,
            })
            .collect()
    } else {
        vec![Server {
            host,
            port,
            weight: 1,
        }]
    };
    let _ = model;
    Upstream {
        name: s.name.value.clone(),
        balance: s.balance.value.to_string(),
        servers,
        health_path: conv::health_path(s),
        interval_ms: conv::ms(s.health.interval.value).max(1000),
        timeout_ms: conv::ms(s.health.timeout.value).max(1),
        fall: s.health.unhealthy_after.max(1),
        rise: s.health.healthy_after.max(1),
        max_fails: breaker
            .map(|b| b.failures)
            .unwrap_or(s.health.unhealthy_after)
            .max(1),
        fail_timeout_ms: breaker
            .map(|b| b.reset_ms)
            .unwrap_or(conv::ms(s.health.interval.value))
            .max(1000),
    }
}

fn gateway(model: &Model, g: &Gateway, spec: &GatewaySpec) -> EdgeGateway {
    let program = model.program;
    let api_key_header = spec
        .auth
        .iter()
        .find(|a| a.kind == "api_key")
        .and_then(|a| a.header.clone())
        .unwrap_or_else(|| "X-API-Key".into());
    let hmac_header = spec
        .auth
        .iter()
        .find(|a| a.kind == "hmac")
        .and_then(|a| a.header.clone())
        .unwrap_or_else(|| "X-Signature".into());
    let mut notes = Vec::new();
    // A route to a CDN goes to the CDN's origin service.
    let target = |to: &str| -> Option<String> {
        if program.service(to).is_some() {
            return Some(to.to_string());
        }
        program
            .cdn(to)
            .and_then(|c| c.origin.as_ref())
            .filter(|o| program.service(&o.name).is_some())
            .map(|o| o.name.clone())
    };
    let mut upstream_names: Vec<String> = Vec::new();
    let mut routes = Vec::new();
    for (i, r) in g.routes.iter().enumerate() {
        let Some(to) = r.to.as_ref().and_then(|t| target(&t.name)) else {
            continue;
        };
        if !upstream_names.contains(&to) {
            upstream_names.push(to.clone());
        }
        let rs = spec.routes.iter().find(|x| {
            x.path == r.http.path
                && Some(x.method.as_str())
                    == r.http
                        .method
                        .map(|m| m.to_string())
                        .as_deref()
                        .or(Some("*"))
        });
        let timeout_ms = conv::ms(r.timeout.value).max(1);
        let retry = r
            .retry
            .as_ref()
            .filter(|x| x.attempts.value > 0)
            .map(|x| conv::retry(x, archc_runtime::spec::BackoffSpec::Fixed { base_ms: 0 }));
        let (mut next_upstream, mut retry_on) = (Vec::new(), Vec::new());
        if let Some(rt) = &retry {
            if rt.on_connect {
                next_upstream.push("error".to_string());
                retry_on.push("conn-failure".to_string());
            }
            if rt.on_timeout {
                next_upstream.push("timeout".into());
                retry_on.push("response-timeout".into());
            }
            for s in &rt.statuses {
                if [500, 502, 503, 504, 403, 404, 429].contains(s) {
                    next_upstream.push(format!("http_{s}"));
                }
                if [401, 403, 404, 408, 425, 500, 501, 502, 503, 504].contains(s) {
                    retry_on.push(s.to_string());
                }
            }
            if matches!(r.http.method, Some(Method::Post) | Some(Method::Patch)) {
                next_upstream.push("non_idempotent".into());
            }
        }
        let cache = r.cache.as_ref();
        let mut cache_vary: Vec<String> = cache
            .map(|c| c.vary.iter().map(|h| header_var(h)).collect())
            .unwrap_or_default();
        let per_user = cache.is_some_and(|c| c.per_user.value);
        if per_user && !cache_vary.contains(&"$http_authorization".to_string()) {
            cache_vary.push("$http_authorization".into());
        }
        let cache_ttl_ms = cache
            .and_then(|c| c.ttl.as_ref())
            .map(|t| conv::ms(t.value));
        let require_header = match r.auth.value {
            RouteAuth::Required(AuthKind::Jwt) => Some("Authorization".to_string()),
            RouteAuth::Required(AuthKind::ApiKey) => Some(api_key_header.clone()),
            RouteAuth::Required(AuthKind::Hmac) => Some(hmac_header.clone()),
            _ => None,
        };
        let mut zones: Vec<String> = Vec::new();
        for l in r.limits.iter() {
            zones.push(format!("limit_{}", l.name));
        }
        routes.push(RouteCtx {
            id: format!("r{i}"),
            method: r.http.method.map(|m| m.to_string()),
            path: r.http.path.clone(),
            regex: path_regex(&r.http.path),
            upstream: to,
            timeout: super::duration(timeout_ms),
            timeout_ms,
            connect_timeout: super::duration(timeout_ms.min(5000)),
            tries: retry.as_ref().map(|x| x.attempts + 1).unwrap_or(1),
            next_upstream,
            retry_on,
            zones,
            cache_ttl: cache_ttl_ms.filter(|t| *t > 0).map(super::duration),
            cache_ttl_s: cache_ttl_ms.map(super::secs).unwrap_or(0),
            cache_vary,
            vary_header: cache
                .map(|c| {
                    let mut v = c.vary.clone();
                    if per_user && !v.iter().any(|h| h.eq_ignore_ascii_case("authorization")) {
                        v.push("Authorization".into());
                    }
                    v
                })
                .unwrap_or_default(),
            set_headers: rs.map(|x| x.set_headers.clone()).unwrap_or_default(),
            strip_query: rs.map(|x| x.strip_query.clone()).unwrap_or_default(),
            websocket: r.websocket.value,
            require_var: require_header.as_deref().map(header_var),
            require_header,
            critical: r.critical.value,
        });
    }
    let mut paths: Vec<PathGroup> = Vec::new();
    for r in &routes {
        match paths.iter_mut().find(|p| p.regex == r.regex) {
            Some(p) => p.routes.push((r.method.clone(), r.id.clone())),
            None => paths.push(PathGroup {
                regex: r.regex.clone(),
                routes: vec![(r.method.clone(), r.id.clone())],
            }),
        }
    }
    let upstreams = upstream_names
        .iter()
        .filter_map(|n| program.service(n))
        .map(|s| upstream(model, s, spec))
        .collect();
    let zones: Vec<Zone> = spec
        .limit_specs
        .iter()
        .map(|l| zone(l, &api_key_header))
        .collect();
    for z in &zones {
        notes.extend(z.notes.iter().map(|n| format!("limit {}: {n}", z.limit)));
    }
    if !g.canaries.is_empty() {
        notes.push(
            "canary releases are routed by the gateway binary, not by this edge config".into(),
        );
    }
    if !g.auth.is_empty() {
        notes.push("tokens, keys and signatures are verified by the gateway binary; the edge only refuses requests without the credential header (401)".into());
    }
    let mut headers = Vec::new();
    if g.headers.hsts.value {
        headers.push((
            "Strict-Transport-Security".to_string(),
            "max-age=31536000; includeSubDomains".to_string(),
        ));
    }
    if let Some(csp) = &g.headers.csp {
        headers.push(("Content-Security-Policy".into(), csp.clone()));
    }
    headers.push((
        "X-Frame-Options".into(),
        g.headers.frame.value.to_string().to_uppercase(),
    ));
    if g.headers.nosniff.value {
        headers.push(("X-Content-Type-Options".into(), "nosniff".into()));
    }
    EdgeGateway {
        name: g.name.value.clone(),
        listen: g.listen.value,
        tls: g.tls.value,
        body_limit: conv::bytes(g.body_limit.value),
        compression: g.compression.value,
        request_id: g.request_id.value,
        upstreams,
        zones,
        gateway_zones: g
            .limits
            .iter()
            .map(|l| format!("limit_{}", l.name))
            .collect(),
        routes,
        paths,
        cors: g.cors.as_ref().map(|c| Cors {
            origins: c.origins.value.clone(),
            methods: c.methods.join(", "),
            headers: c.headers.join(", "),
            credentials: c.credentials.value,
        }),
        headers,
        has_cache: g.routes.iter().any(|r| r.cache.is_some()),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_anchored_regexes() {
        assert_eq!(path_regex("/api/products/:id"), "^/api/products/[^/]+$");
        assert_eq!(path_regex("/docs/*"), "^/docs/.*$");
        assert_eq!(path_regex("/a.b"), "^/a\\.b$");
    }
}
