//! The gateway a generated gateway crate runs: [`spec_from_json`] reads its embedded
//! [`GatewaySpec`], [`build`] turns it into a [`Gateway`] (an axum router in front of
//! pooled upstream clients) and [`serve`] runs it on its port until Ctrl-C or SIGTERM.
//!
//! Per request, in order: `/health`, `/ready`, `/metrics`; CORS preflight; CDN geo and
//! signed-URL checks; the route table (first match wins); load shedding; the body limit;
//! authentication and permissions; the gateway-wide and route limits; the response cache;
//! canary choice; the route's circuit breaker; the forward with its time budget and
//! retries. Every refusal is an explicit answer (403, 404, 405, 413, 401, 429, 503, 504).

mod auth;
mod cache;
mod conn;
mod edge;
mod error_pages;
mod pipeline;
mod routes;
mod upstream;
mod websocket;

pub use auth::{authorize, hex, sign_hex, AuthError, Identity, Scheme};

use crate::breaker::{BreakerConfig, CircuitBreaker};
use crate::clock::SystemClock;
use crate::http::metrics::{Gauge, Histogram};
use crate::http::StatusCounters;
use crate::http::{log, Metrics};
use crate::limit::{Limiter, LimiterStore, MemoryStore, TierMap};
use crate::retry::{Backoff, RetryOn, RetryPolicy};
use crate::spec::{BackoffSpec, GatewaySpec, RouteSpec};
use axum::http::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Arc;
use std::time::Duration;

/// Parses the JSON spec a generated gateway crate embeds.
pub fn spec_from_json(text: &str) -> Result<GatewaySpec, serde_json::Error> {
    serde_json::from_str(text)
}

/// A canary split of one route's traffic.
#[derive(Debug)]
struct Canary {
    backend: usize,
    weight: f64,
    sticky: bool,
    cookie: String,
    /// The `Set-Cookie` values pinning a client to the canary and to the stable side.
    pin_canary: Option<HeaderValue>,
    pin_stable: Option<HeaderValue>,
}

/// Everything one route needs per request, prepared at start-up.
struct RouteState {
    spec: RouteSpec,
    label: String,
    limiters: Vec<Limiter>,
    backend: Option<usize>,
    canary: Option<Canary>,
    breaker: Option<(CircuitBreaker, Arc<Gauge>)>,
    retry: Option<RetryPolicy>,
    cache: Option<cache::RouteCache>,
    set_headers: Vec<(HeaderName, HeaderValue)>,
    scheme: Option<usize>,
    required: bool,
    statuses: StatusCounters,
    latency: Arc<Histogram>,
}

struct Inner {
    spec: GatewaySpec,
    patterns: Vec<routes::Pattern>,
    routes: Vec<RouteState>,
    schemes: Vec<Scheme>,
    backends: Vec<upstream::Backend>,
    client: upstream::HttpClient,
    edge: edge::Edge,
    error_pages: Option<error_pages::ErrorPages>,
    metrics: Metrics,
    in_flight: AtomicU32,
    access_log: AtomicBool,
    described: Vec<String>,
    unrouted: StatusCounters,
    checks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.checks {
            task.abort();
        }
    }
}

/// A built gateway. Cloning shares it.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("name", &self.inner.spec.name)
            .field("routes", &self.inner.routes.len())
            .finish()
    }
}

fn retry_policy(spec: &crate::spec::RetrySpec) -> RetryPolicy {
    RetryPolicy {
        attempts: spec.attempts,
        backoff: match spec.backoff {
            BackoffSpec::Fixed { base_ms } => Backoff::Fixed(Duration::from_millis(base_ms)),
            BackoffSpec::Exponential { base_ms, max_ms } => Backoff::Exponential {
                base: Duration::from_millis(base_ms),
                max: Duration::from_millis(max_ms),
            },
        },
        jitter: spec.jitter,
        on: RetryOn {
            statuses: spec.statuses.iter().copied().collect(),
            timeout: spec.on_timeout,
            connect: spec.on_connect,
        },
    }
}

/// Builds the gateway: backends and their health checks (started here, stopped when the
/// last clone is dropped), auth schemes from the environment, limiters, breakers, caches.
/// Distributed limits use Redis when `REDIS_URL` is set (a Redis Cluster when the
/// program's Redis is one).
pub async fn build(spec: GatewaySpec) -> Result<Gateway, String> {
    let (shared_store, store_line): (Arc<dyn LimiterStore>, String) =
        match crate::backend::limits_from_env(spec.redis_cluster).await {
            Ok(Some((store, line))) => (store, line),
            Ok(None) => (Arc::new(MemoryStore::new()), "limits: memory".into()),
            Err(why) => return Err(why.to_string()),
        };
    build_with(spec, shared_store, vec![store_line])
}

fn build_with(
    spec: GatewaySpec,
    distributed: Arc<dyn LimiterStore>,
    mut described: Vec<String>,
) -> Result<Gateway, String> {
    let metrics = Metrics::new();
    let client = upstream::client();
    let mut backends = Vec::new();
    for b in &spec.backends {
        backends.push(upstream::Backend::new(b)?);
    }
    let backend_index: HashMap<&str, usize> = spec
        .backends
        .iter()
        .enumerate()
        .map(|(i, b)| (b.name.as_str(), i))
        .collect();
    let schemes: Vec<Scheme> = spec
        .auth
        .iter()
        .map(|a| {
            let env = a.secret_env.as_ref().and_then(|v| std::env::var(v).ok());
            Scheme::new(a.clone(), env)
        })
        .collect();
    for s in schemes.iter().filter(|s| !s.configured()) {
        log::warn(
            &spec.name,
            "auth scheme has no keys: its routes answer 401",
            &[("scheme", s.kind().into())],
        );
    }
    let tiers: HashMap<String, String> = spec
        .auth
        .iter()
        .filter(|a| a.kind == "api_key")
        .filter_map(|a| a.secret_env.as_ref().and_then(|v| std::env::var(v).ok()))
        .flat_map(|text| {
            text.split(',')
                .filter_map(|k| k.trim().split_once(':'))
                .map(|(k, p)| (k.to_string(), p.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let tiers = Arc::new(TierMap(tiers));
    let local: Arc<dyn LimiterStore> = Arc::new(MemoryStore::new());
    let make_limiter = |name: &str| -> Result<Limiter, String> {
        let l = spec
            .limit_specs
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| format!("unknown limit `{name}`"))?;
        let store = if l.distributed {
            distributed.clone()
        } else {
            local.clone()
        };
        let p =
            crate::limit::policy_from_spec(l).map_err(|why| format!("limit `{name}`: {why}"))?;
        Ok(Limiter::new(p, store, Arc::new(SystemClock))
            .map_err(|e| format!("limit `{name}`: {e}"))?
            .with_tiers(tiers.clone()))
    };
    let mut routes = Vec::new();
    for r in &spec.routes {
        let mut limiters = Vec::new();
        for name in spec.limits.iter().chain(&r.limits) {
            limiters.push(make_limiter(name)?);
        }
        let backend = backend_index.get(r.to.as_str()).copied();
        if backend.is_none() {
            log::warn(
                &spec.name,
                "route has no upstream service: it answers 502",
                &[
                    ("route", format!("{} {}", r.method, r.path).into()),
                    ("to", r.to.clone().into()),
                ],
            );
        }
        let canary = spec.canaries.iter().find(|c| c.from == r.to).and_then(|c| {
            let cookie = format!("canary_{}", c.from);
            let pin = |side: &str| {
                HeaderValue::try_from(format!("{cookie}={side}; Path=/; HttpOnly")).ok()
            };
            Some(Canary {
                backend: *backend_index.get(c.to.as_str())?,
                weight: c.weight.clamp(0.0, 1.0),
                sticky: c.sticky == "cookie",
                pin_canary: pin("canary"),
                pin_stable: pin("stable"),
                cookie,
            })
        });
        let breaker = r.breaker.map(|b| {
            let gauge = metrics.gauge(
                "breaker_open",
                "1 while the circuit breaker towards an upstream is open.",
                &[
                    ("service", spec.name.as_str()),
                    ("upstream", r.to.as_str()),
                    ("route", &r.path),
                ],
            );
            let config = BreakerConfig {
                failures: b.failures.max(1),
                reset: Duration::from_millis(b.reset_ms),
                half_open: b.half_open.max(1),
            };
            (CircuitBreaker::new(config, Arc::new(SystemClock)), gauge)
        });
        let (scheme, required) = match r.auth.as_str() {
            "none" => (None, false),
            "optional" => ((!schemes.is_empty()).then_some(0), false),
            kind => {
                let i = schemes
                    .iter()
                    .position(|s| s.kind() == kind)
                    .ok_or_else(|| {
                        format!(
                            "route {} {} needs `auth {kind}`, which is not declared",
                            r.method, r.path
                        )
                    })?;
                (Some(i), true)
            }
        };
        let set_headers = r
            .set_headers
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    HeaderName::try_from(n.as_str()).ok()?,
                    HeaderValue::try_from(v.as_str()).ok()?,
                ))
            })
            .collect();
        let label = format!("{} {}", r.method, r.path);
        let latency = metrics.histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests.",
            &[("service", spec.name.as_str()), ("endpoint", &label)],
        );
        let statuses =
            StatusCounters::new(&[("service", spec.name.as_str()), ("endpoint", &label)]);
        routes.push(RouteState {
            spec: r.clone(),
            label,
            limiters,
            backend,
            canary,
            breaker,
            retry: r.retry.as_ref().map(retry_policy),
            cache: r.cache.as_ref().map(cache::RouteCache::new),
            set_headers,
            scheme,
            required,
            statuses,
            latency,
        });
    }
    let checks = backends
        .iter()
        .map(|b| upstream::spawn_checks(b, client.clone()))
        .collect();
    for b in &backends {
        let urls: Vec<&str> = b
            .balancer
            .upstreams()
            .iter()
            .map(|u| u.id.as_str())
            .collect();
        described.push(format!(
            "{}: {} via {}",
            b.spec.name,
            urls.join(","),
            b.spec.balance
        ));
    }
    let unrouted = StatusCounters::new(&[("service", spec.name.as_str()), ("endpoint", "none")]);
    Ok(Gateway {
        inner: Arc::new(Inner {
            patterns: spec.routes.iter().map(routes::Pattern::new).collect(),
            edge: edge::Edge::new(spec.cors.as_ref(), spec.headers.as_ref(), spec.cdn.as_ref()),
            error_pages: error_pages::ErrorPages::new(spec.cdn.as_ref()),
            spec,
            routes,
            schemes,
            backends,
            client,
            metrics,
            in_flight: AtomicU32::new(0),
            access_log: AtomicBool::new(false),
            described,
            unrouted,
            checks,
        }),
    })
}

impl Gateway {
    /// Turns the JSON access log on or off (off by default; [`serve`] turns it on unless
    /// `ACCESS_LOG=off`).
    pub fn with_access_log(self, on: bool) -> Self {
        self.inner
            .access_log
            .store(on, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &GatewaySpec {
        &self.inner.spec
    }

    /// The metrics it records.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// One line per backend: the limit store and each upstream's instances.
    pub fn described(&self) -> &[String] {
        &self.inner.described
    }

    /// The axum router serving every request.
    pub fn router(&self) -> axum::Router {
        let gateway = self.clone();
        axum::Router::new().fallback(move |req: axum::http::Request<axum::body::Body>| {
            let gateway = gateway.clone();
            async move { gateway.handle(req).await }
        })
    }
}

/// Runs the gateway on its port (`PORT` overrides it) until Ctrl-C or SIGTERM, then stops
/// accepting and drains the requests in flight.
pub async fn serve(spec: GatewaySpec) -> ExitCode {
    let name = spec.name.clone();
    let port = match crate::http::listen_port(spec.port) {
        Ok(port) => port,
        Err(why) => {
            log::error(&name, &why, &[]);
            return ExitCode::FAILURE;
        }
    };
    let gateway = match build(spec).await {
        Ok(g) => g.with_access_log(crate::http::server::access_log_from_env()),
        Err(why) => {
            log::error(&name, "cannot start", &[("error", why.into())]);
            return ExitCode::FAILURE;
        }
    };
    conn::serve(&name, port, gateway).await
}

#[cfg(test)]
mod tests;
