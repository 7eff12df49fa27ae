//! The service as an axum app: routing by the spec's endpoint paths, then per request
//! load shedding, rate limits, the body limit, the time budget, the handler (or the
//! generated behaviour), metrics, the request id and a JSON access log line.

use super::behaviour;
use super::cache::RowCache;
use super::data::{DataError, Tables};
use super::outbound::Outbound;
use super::workers::Workers;
use super::{Context, Handlers, Outcome, Request};
use crate::backend::Backends;
use crate::clock::SystemClock;
use crate::http::metrics::Histogram;
use crate::http::{log, request_id, respond, InFlight, Metrics, StatusCounters};
use crate::limit::{check_all, Limiter, RequestInfo};
use crate::queue::{Broker, Message};
use crate::spec::{EndpointSpec, ServiceSpec};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

const LATENCY: &str = "http_request_duration_seconds";
const LATENCY_HELP: &str = "Time to answer HTTP requests.";

/// What every request and background task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) spec: ServiceSpec,
    pub(crate) tables: Tables,
    pub(crate) caches: HashMap<String, RowCache>,
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) outbound: Outbound,
    pub(crate) metrics: Metrics,
}

impl Shared {
    pub(crate) async fn publish(&self, queue: &str, payload: &Value) -> Result<(), DataError> {
        let spec = self
            .spec
            .queues
            .iter()
            .find(|q| q.name == queue)
            .ok_or_else(|| DataError::Unknown(format!("queue `{queue}`")))?;
        let mut message = Message::new(payload.to_string().into_bytes());
        if let Some(key) = spec.key.as_ref().and_then(|k| payload.get(k)) {
            message = message.with_key(match key {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
        if spec.delay_ms > 0 {
            message = message.with_delay(Duration::from_millis(spec.delay_ms));
        }
        self.broker
            .publish(queue, message)
            .await
            .map(|_| ())
            .map_err(|e| DataError::Backend(e.to_string()))
    }
}

struct Endpoint {
    spec: EndpointSpec,
    method: String,
    segments: Vec<String>,
    limiters: Vec<Limiter>,
    statuses: StatusCounters,
    latency: Arc<Histogram>,
}

struct Inner {
    ctx: Context,
    handlers: Arc<dyn Handlers>,
    endpoints: Vec<Endpoint>,
    in_flight: AtomicU32,
    unrouted_latency: Arc<Histogram>,
    access_log: AtomicBool,
    /// The backends, pinged by `/ready`; `described` names them.
    backends: Backends,
    workers: Workers,
}

/// How long `/ready` waits for each backend's ping.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// A built service: an axum [`axum::Router`] plus its background workers.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("service", &self.inner.ctx.spec().name)
            .finish()
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `path` matches the pattern segments (nothing is allocated: most endpoints
/// tried do not match).
fn fits(pattern: &[String], path: &str) -> bool {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    for p in pattern {
        if p == "*" {
            return true;
        }
        let Some(seg) = segments.next() else {
            return false;
        };
        if !p.starts_with(':') && p != seg {
            return false;
        }
    }
    segments.next().is_none()
}

/// The parameters of `path` under a pattern it [`fits`].
fn params(pattern: &[String], path: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    let segments = path.split('/').filter(|s| !s.is_empty());
    for (p, seg) in pattern.iter().zip(segments) {
        if let Some(name) = p.strip_prefix(':') {
            let value = if seg.contains('%') {
                seg.replace("%2F", "/").replace("%2f", "/")
            } else {
                seg.to_string()
            };
            params.insert(name.to_string(), value);
        }
    }
    params
}

/// The parameters when `path` matches the pattern segments.
#[cfg(test)]
fn matches(pattern: &[String], path: &str) -> Option<BTreeMap<String, String>> {
    fits(pattern, path).then(|| params(pattern, path))
}

fn query(text: Option<&str>) -> BTreeMap<String, String> {
    text.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

/// A response for `outcome` of a custom handler.
pub(crate) fn answer(outcome: Outcome) -> Response {
    let status = |s: u16| StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match outcome {
        Outcome::Json(s, v) => (status(s), axum::Json(v)).into_response(),
        Outcome::Status(s) => status(s).into_response(),
        Outcome::Text(s, t) => (status(s), t).into_response(),
        Outcome::Default => StatusCode::NO_CONTENT.into_response(),
    }
}

impl App {
    /// Builds the service over `backends`: routers, caches, limiters, the outbound client.
    pub async fn build(
        spec: ServiceSpec,
        handlers: Arc<dyn Handlers>,
        backends: Backends,
    ) -> Result<Self, String> {
        let metrics = Metrics::new();
        let tables = Tables::new(&spec.tables, backends.tables.clone());
        tables.ensure().await.map_err(|e| e.to_string())?;
        let caches = spec
            .caches
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    RowCache::new(c, backends.remote_cache.clone(), &metrics),
                )
            })
            .collect();
        let local: Arc<dyn crate::limit::LimiterStore> = Arc::new(crate::limit::MemoryStore::new());
        let mut endpoints = Vec::new();
        for e in &spec.endpoints {
            let (Some(method), Some(path)) = (&e.method, &e.path) else {
                continue;
            };
            let mut limiters = Vec::new();
            for name in &e.limits {
                let l = spec
                    .limits
                    .iter()
                    .find(|l| &l.name == name)
                    .ok_or_else(|| format!("endpoint `{}` uses unknown limit `{name}`", e.name))?;
                let store = if l.distributed {
                    backends.limits.clone()
                } else {
                    local.clone()
                };
                let p = crate::limit::policy_from_spec(l)
                    .map_err(|why| format!("limit `{name}`: {why}"))?;
                limiters.push(
                    Limiter::new(p, store, Arc::new(SystemClock)).map_err(|e| e.to_string())?,
                );
            }
            let method = method.to_ascii_uppercase();
            let labels = [
                ("service", spec.name.as_str()),
                ("endpoint", e.name.as_str()),
            ];
            let statuses = StatusCounters::new(&[
                ("service", spec.name.as_str()),
                ("endpoint", e.name.as_str()),
                ("method", method.as_str()),
            ]);
            endpoints.push(Endpoint {
                spec: e.clone(),
                segments: segments(path),
                limiters,
                statuses,
                latency: metrics.histogram(LATENCY, LATENCY_HELP, &labels),
                method,
            });
        }
        let outbound = Outbound::new(&spec, &metrics);
        let shared = Arc::new(Shared {
            spec,
            tables,
            caches,
            broker: backends.broker.clone(),
            outbound,
            metrics,
        });
        let unrouted_latency = shared.metrics.histogram(
            LATENCY,
            LATENCY_HELP,
            &[("service", shared.spec.name.as_str()), ("endpoint", "none")],
        );
        let ctx = Context { shared };
        Ok(Self {
            inner: Arc::new(Inner {
                workers: Workers::new(ctx.clone(), handlers.clone()),
                ctx,
                handlers,
                endpoints,
                in_flight: AtomicU32::new(0),
                unrouted_latency,
                access_log: AtomicBool::new(false),
                backends,
            }),
        })
    }

    /// Turns the JSON access log on or off (off by default, on in [`super::serve`]).
    pub fn with_access_log(self, on: bool) -> Self {
        self.inner.access_log.store(on, Ordering::Relaxed);
        self
    }

    /// The context handlers get.
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.ctx.shared
    }

    /// One line per backend.
    pub fn backends_described(&self) -> Vec<String> {
        self.inner.backends.described.clone()
    }

    /// The shutdown switch of the background workers.
    pub fn shutdown(&self) -> crate::http::shutdown::Shutdown {
        self.inner.workers.shutdown()
    }

    /// Starts the consumers, jobs and write-behind flushers.
    pub fn start_workers(&self) {
        self.inner.workers.start();
    }

    /// Stops the workers and waits for what they are doing.
    pub async fn drain(&self) {
        self.inner.workers.drain().await;
    }

    /// The axum router serving every request.
    pub fn router(&self) -> axum::Router {
        let app = self.clone();
        axum::Router::new().fallback(move |req: axum::http::Request<Body>| {
            let app = app.clone();
            async move { app.handle(req).await }
        })
    }

    /// Answers one request (what the router does, callable in process).
    pub async fn handle(&self, req: axum::http::Request<Body>) -> Response {
        let started = Instant::now();
        let id = request_id::from_headers(req.headers());
        let method = req.method().clone();
        let logging = self.inner.access_log.load(Ordering::Relaxed);
        let path = if logging {
            req.uri().path().to_string()
        } else {
            String::new()
        };
        let (mut response, endpoint) = self.route(req, &id).await;
        if let Ok(v) = HeaderValue::try_from(id.as_str()) {
            response.headers_mut().insert(request_id::NAME, v);
        }
        let status = response.status().as_u16();
        let metrics = &self.shared().metrics;
        let service = self.shared().spec.name.as_str();
        let endpoint = endpoint.map(|i| &self.inner.endpoints[i]);
        match endpoint {
            Some(e) => {
                e.statuses.record(metrics, status);
                e.latency.observe(started.elapsed());
            }
            None => {
                // Unrouted answers carry the request's method: no prepared handle.
                let code = status.to_string();
                metrics
                    .counter(
                        "http_requests_total",
                        "HTTP requests answered.",
                        &[
                            ("service", service),
                            ("endpoint", "none"),
                            ("method", method.as_str()),
                            ("status", &code),
                        ],
                    )
                    .inc();
                self.inner.unrouted_latency.observe(started.elapsed());
            }
        }
        if logging {
            let name = endpoint.map_or("none", |e| e.spec.name.as_str());
            log::info(
                service,
                "request",
                &[
                    ("request_id", id.into()),
                    ("method", method.as_str().into()),
                    ("path", path.into()),
                    ("endpoint", name.into()),
                    ("status", status.into()),
                    ("ms", (started.elapsed().as_micros() as f64 / 1000.0).into()),
                ],
            );
        }
        response
    }

    async fn route(&self, req: axum::http::Request<Body>, id: &str) -> (Response, Option<usize>) {
        let spec = &self.shared().spec;
        let path = req.uri().path();
        if path == spec.health_path || path == "/health" {
            return (axum::Json(json!({"status": "ok"})).into_response(), None);
        }
        if path == "/ready" {
            let down = self.inner.backends.unreachable(READY_TIMEOUT).await;
            let (status, word) = if down.is_empty() {
                (StatusCode::OK, "ready")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "degraded")
            };
            let body = json!({
                "status": word,
                "backends": self.inner.backends.described,
                "unhealthy": down,
            });
            return ((status, axum::Json(body)).into_response(), None);
        }
        if path == "/metrics" {
            let text = self.shared().metrics.render();
            let mut r = text.into_response();
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            return (r, None);
        }
        let mut path_matched = false;
        let mut found = None;
        for (i, e) in self.inner.endpoints.iter().enumerate() {
            if !fits(&e.segments, path) {
                continue;
            }
            path_matched = true;
            if e.method == req.method().as_str() {
                found = Some(i);
                break;
            }
        }
        if let Some(i) = found {
            let params = params(&self.inner.endpoints[i].segments, path);
            return (self.run(i, params, req, id).await, Some(i));
        }
        let response = if path_matched {
            respond::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} is not served on {path}", req.method()),
            )
        } else {
            respond::not_found(format!("no endpoint serves {path}"))
        };
        (response, None)
    }

    async fn run(
        &self,
        index: usize,
        params: BTreeMap<String, String>,
        req: axum::http::Request<Body>,
        id: &str,
    ) -> Response {
        let e = &self.inner.endpoints[index];
        let spec = &self.shared().spec;
        let (_guard, in_flight) = InFlight::enter(&self.inner.in_flight);
        if let Some(shed) = &spec.shed {
            if !e.spec.critical && shed.max_in_flight > 0 && in_flight >= shed.max_in_flight {
                return respond::unavailable("overloaded", "load is being shed", 1);
            }
        }
        let mut rate_headers = Vec::new();
        if !e.limiters.is_empty() {
            let info = request_info(e, &req);
            match check_all(&e.limiters, &info).await {
                Ok(crate::limit::Outcome::Denylisted) => {
                    return respond::error(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "the client is refused",
                    );
                }
                Ok(crate::limit::Outcome::Checked(d)) if !d.allowed => {
                    let refusing = self.refusing_limit(e, &info).await;
                    self.shared()
                        .metrics
                        .counter(
                            "rate_limit_rejections_total",
                            "Requests refused by a rate limit.",
                            &[
                                ("service", spec.name.as_str()),
                                ("limit", refusing.as_str()),
                            ],
                        )
                        .inc();
                    return respond::rate_limited(&refusing, &d);
                }
                Ok(crate::limit::Outcome::Checked(d)) => {
                    // A leaky bucket's smoothing delay is not applied: the request is
                    // served at once and overflow is refused.
                    rate_headers = d.headers();
                }
                Ok(crate::limit::Outcome::Allowlisted) => {}
                Err(why) => {
                    return respond::unavailable("limiter_unavailable", why.to_string(), 1);
                }
            }
        }
        let limit = spec.body_limit;
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if limit > 0 && declared.is_some_and(|n| n > limit) {
            return respond::too_large(limit);
        }
        let (parts, body) = req.into_parts();
        let Some(body) = crate::http::body_within(body, limit).await else {
            return respond::too_large(limit);
        };
        let request = Request {
            method: parts.method,
            path: parts.uri.path().to_string(),
            params,
            query: query(parts.uri.query()),
            headers: parts.headers,
            body,
            request_id: id.to_string(),
        };
        let budget = e.spec.timeout_ms;
        let (handlers, ctx, endpoint) = (&self.inner.handlers, &self.inner.ctx, &e.spec);
        // The handler runs in this task (a spawn per request costs a cross-thread wake);
        // a panic in it is caught and answered 500, like a failed task would be.
        // The default behaviour reads the method, parameters, query and body only: the
        // headers, path and id (a HeaderMap clone is most of a request's copy) stay out.
        let basis = Request {
            method: request.method.clone(),
            path: String::new(),
            params: request.params.clone(),
            query: request.query.clone(),
            headers: HeaderMap::new(),
            body: request.body.clone(),
            request_id: String::new(),
        };
        let answered = AssertUnwindSafe(async move {
            match handlers.endpoint(&endpoint.name, ctx, request).await {
                Outcome::Default => behaviour::run(ctx, endpoint, basis).await,
                other => answer(other),
            }
        })
        .catch_unwind();
        let mut response = if budget == 0 {
            unpanicked(answered.await)
        } else {
            // Most answers (a cache hit, an in-memory store) are ready at the first poll;
            // only the others pay for a timer.
            let mut answered = std::pin::pin!(answered);
            let first = std::future::poll_fn(|cx| Poll::Ready(answered.as_mut().poll(cx))).await;
            match first {
                Poll::Ready(r) => unpanicked(r),
                Poll::Pending => {
                    match tokio::time::timeout(Duration::from_millis(budget), answered).await {
                        Ok(r) => unpanicked(r),
                        Err(_) => respond::timeout(budget),
                    }
                }
            }
        };
        respond::add_headers(&mut response, &rate_headers);
        response
    }

    /// The name of the first limit that refuses `info` (for the metric label and body).
    async fn refusing_limit(&self, e: &Endpoint, _info: &RequestInfo) -> String {
        e.limiters
            .first()
            .map_or_else(String::new, |l| l.policy().name.clone())
    }
}

/// What the rate limits of `e` look at in `req`.
fn request_info(e: &Endpoint, req: &axum::http::Request<Body>) -> RequestInfo {
    let mut info = RequestInfo::new(format!(
        "{} {}",
        e.method,
        e.spec.path.as_deref().unwrap_or("")
    ));
    info.ip = crate::http::client_ip(req);
    info.headers = crate::http::limit_headers(&e.limiters, req.headers());
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    info.api_key = header("x-api-key");
    info.user = header("x-user-id");
    info.country = header("x-country");
    info
}

fn unpanicked(r: std::thread::Result<Response>) -> Response {
    r.unwrap_or_else(|_| {
        respond::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the handler failed",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_bind_parameters_and_need_every_segment() {
        let p = segments("/users/:id");
        let got = matches(&p, "/users/7").expect("matches");
        assert_eq!(got.get("id").map(String::as_str), Some("7"));
        assert!(matches(&p, "/users").is_none());
        assert!(matches(&p, "/users/7/x").is_none());
        assert!(
            matches(&p, "/users//7/").is_some(),
            "empty segments are skipped"
        );
        let encoded = matches(&p, "/users/a%2Fb").expect("matches");
        assert_eq!(encoded.get("id").map(String::as_str), Some("a/b"));
        assert!(matches(&segments("/files/*"), "/files/a/b").is_some());
    }

    /// `slow` sleeps past its budget, `quick` answers at once, `later` answers after a
    /// pause within its budget.
    struct Timed;

    #[async_trait::async_trait]
    impl Handlers for Timed {
        async fn endpoint(&self, endpoint: &str, _ctx: &Context, _req: Request) -> Outcome {
            match endpoint {
                "slow" => tokio::time::sleep(Duration::from_millis(500)).await,
                "later" => tokio::time::sleep(Duration::from_millis(20)).await,
                _ => {}
            }
            Outcome::Text(200, endpoint.to_string())
        }
    }

    /// Answers are ready at once or go through the endpoint's timer: both keep the budget.
    #[tokio::test]
    async fn handlers_are_held_to_the_endpoint_timeout() {
        let endpoint = |name: &str| {
            json!({
                "name": name, "method": "GET", "path": format!("/{name}"), "reads": [],
                "writes": [], "publishes": [], "calls": [], "timeout_ms": 100,
                "retry": null, "breaker": null, "idempotent": true, "limits": [],
                "critical": false
            })
        };
        let spec: ServiceSpec = serde_json::from_value(json!({
            "name": "svc", "port": 0, "health_path": "/health",
            "endpoints": [endpoint("slow"), endpoint("quick"), endpoint("later")],
            "consumers": [], "jobs": [], "limits": [], "caches": [], "tables": [],
            "upstreams": [], "shed": null, "body_limit": 0, "queues": [],
        }))
        .expect("a service spec");
        let app = App::build(spec, Arc::new(Timed), Backends::embedded())
            .await
            .expect("builds");
        let status = |path: &'static str| {
            let app = app.clone();
            async move {
                let req = axum::http::Request::get(path).body(Body::empty()).unwrap();
                app.handle(req).await.status().as_u16()
            }
        };
        let started = Instant::now();
        assert_eq!(status("/slow").await, 504);
        assert!(started.elapsed() < Duration::from_millis(400));
        assert_eq!(status("/quick").await, 200);
        assert_eq!(status("/later").await, 200);
    }

    /// A body past the service's `body_limit` is refused with 413, whether or not the
    /// request declares its length; one within it, or none, is served.
    #[tokio::test]
    async fn bodies_over_the_limit_are_413() {
        let spec: ServiceSpec = serde_json::from_value(json!({
            "name": "svc", "port": 0, "health_path": "/health",
            "endpoints": [{
                "name": "quick", "method": "POST", "path": "/quick", "reads": [],
                "writes": [], "publishes": [], "calls": [], "timeout_ms": 0,
                "retry": null, "breaker": null, "idempotent": false, "limits": [],
                "critical": false
            }],
            "consumers": [], "jobs": [], "limits": [], "caches": [], "tables": [],
            "upstreams": [], "shed": null, "body_limit": 64, "queues": [],
        }))
        .expect("a service spec");
        let app = App::build(spec, Arc::new(Timed), Backends::embedded())
            .await
            .expect("builds");
        let status = |body: Body, declared: Option<usize>| {
            let app = app.clone();
            async move {
                let mut req = axum::http::Request::post("/quick");
                if let Some(n) = declared {
                    req = req.header("content-length", n);
                }
                app.handle(req.body(body).unwrap()).await.status().as_u16()
            }
        };
        assert_eq!(status(Body::from(vec![b'a'; 65]), None).await, 413);
        assert_eq!(status(Body::from(vec![b'a'; 65]), Some(65)).await, 413);
        assert_eq!(status(Body::from(vec![b'a'; 64]), None).await, 200);
        assert_eq!(status(Body::empty(), None).await, 200);
    }

    #[test]
    fn queries_split_on_ampersands() {
        let q = query(Some("a=1&b&a=2"));
        assert_eq!(q.get("a").map(String::as_str), Some("2"));
        assert_eq!(q.get("b").map(String::as_str), Some(""));
    }
}
