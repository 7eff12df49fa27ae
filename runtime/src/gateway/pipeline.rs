//! One request through the gateway: built-in paths, edge checks, routing, shedding, the
//! body limit, auth, limits, the response cache, canary choice, the breaker and the
//! forward with retries, then the edge headers, request id, metrics and access log.

use super::auth::{authorize, AuthError, Identity};
use super::edge::{accepts_gzip, gzip, worth_gzip};
use super::error_pages::ErrorPages;
use super::routes::{self, Match};
use super::upstream::{Outgoing, SendError, Transport, HOPS, HOP_BY_HOP};
use super::{websocket, Gateway, RouteState};
use crate::http::{log, request_id, respond, InFlight};
use crate::limit::{check_all, RequestInfo};
use crate::retry::Failure;
use crate::rng::XorShift64;
use axum::body::Body;
use axum::http::header::{
    CONNECTION, CONTENT_LENGTH, COOKIE, SET_COOKIE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const X_CANARY: HeaderName = HeaderName::from_static("x-canary");
const X_USER_ID: HeaderName = HeaderName::from_static("x-user-id");

/// Largest upstream body buffered to compress or cache; larger ones stream through.
const BUFFER_MAX: usize = 8 << 20;

fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

fn auth_refusal(error: AuthError) -> Response {
    match error {
        AuthError::Unauthorized(why) => {
            let mut r = respond::error(StatusCode::UNAUTHORIZED, "unauthorized", why);
            r.headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
            r
        }
        AuthError::Forbidden(why) => respond::error(StatusCode::FORBIDDEN, "forbidden", why),
    }
}

/// The answer to a forward that got no answer from the upstream.
fn refusal(route: &RouteState, why: SendError) -> Response {
    match why {
        SendError::Timeout => respond::timeout(route.spec.timeout_ms),
        SendError::NoHealthy => respond::unavailable(
            "no_healthy_upstream",
            format!("no instance of `{}` passes its health check", route.spec.to),
            5,
        ),
        SendError::ShuttingDown => respond::unavailable(
            "shutting_down",
            "the gateway is shutting down: retry, and another instance will answer",
            1,
        ),
        SendError::Connect(why) => respond::error(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            format!("`{}` could not be reached: {why}", route.spec.to),
        ),
    }
}

/// `ip` as a header value. IPv4 addresses, nearly every client's, are written by hand:
/// `Display` goes through the formatter's padding machinery on every request.
fn address_value(ip: std::net::IpAddr) -> Option<HeaderValue> {
    let std::net::IpAddr::V4(v4) = ip else {
        return HeaderValue::try_from(ip.to_string()).ok();
    };
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        let digits = [octet / 100, octet / 10 % 10, octet % 10];
        let skip = if octet >= 100 {
            0
        } else if octet >= 10 {
            1
        } else {
            2
        };
        for d in &digits[skip..] {
            text[len] = b'0' + d;
            len += 1;
        }
    }
    HeaderValue::from_bytes(&text[..len]).ok()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

thread_local! {
    static RNG: std::cell::RefCell<XorShift64> = std::cell::RefCell::new(XorShift64::from_entropy());
}

fn random_f64() -> f64 {
    RNG.with(|r| r.borrow_mut().next_f64())
}

impl Gateway {
    /// Answers one request (what the router does, callable in process).
    pub async fn handle(&self, req: Request<Body>) -> Response {
        self.handle_via(req, Transport::Pooled(&self.inner.client))
            .await
    }

    /// Answers one request, forwarding it through `transport`.
    pub(crate) async fn handle_via(
        &self,
        req: Request<Body>,
        transport: Transport<'_>,
    ) -> Response {
        let inner = &self.inner;
        let started = Instant::now();
        let id = inner
            .spec
            .request_id
            .then(|| request_id::from_headers(req.headers()));
        let origin = inner.edge.origin_allowed(req.headers()).cloned();
        let logging = inner.access_log.load(Ordering::Relaxed);
        let (method, path) = if logging {
            (req.method().clone(), req.uri().path().to_string())
        } else {
            (Method::GET, String::new())
        };
        let cdn_path = inner
            .spec
            .cdn
            .is_some()
            .then(|| req.uri().path().to_string());
        let (mut response, route) = self.dispatch(req, id.as_deref(), transport).await;
        if let Some(pages) = &inner.error_pages {
            response = self
                .error_page(
                    pages,
                    response,
                    cdn_path.as_deref().unwrap_or(""),
                    transport,
                )
                .await;
        }
        let status = response.status();
        let headers = response.headers_mut();
        inner
            .edge
            .decorate(origin, cdn_path.as_deref().unwrap_or(""), status, headers);
        if let Some(v) = id.as_deref().and_then(|id| HeaderValue::try_from(id).ok()) {
            headers.insert(request_id::NAME, v);
        }
        let status = response.status().as_u16();
        let (counters, label) = match route {
            Some(i) => (&inner.routes[i].statuses, inner.routes[i].label.as_str()),
            None => (&inner.unrouted, "none"),
        };
        counters.record(&inner.metrics, status);
        if let Some(i) = route {
            inner.routes[i].latency.observe(started.elapsed());
        }
        if logging {
            log::info(
                &inner.spec.name,
                "request",
                &[
                    ("request_id", id.unwrap_or_default().into()),
                    ("method", method.as_str().into()),
                    ("path", path.into()),
                    ("route", label.into()),
                    ("status", status.into()),
                    ("ms", (started.elapsed().as_micros() as f64 / 1000.0).into()),
                ],
            );
        }
        response
    }

    /// `response`, with the CDN's error page for its status as its body when there is one.
    async fn error_page(
        &self,
        pages: &ErrorPages,
        response: Response,
        path: &str,
        transport: Transport<'_>,
    ) -> Response {
        let status = response.status().as_u16();
        let Some(page_path) = pages.path_for(status, path) else {
            return response;
        };
        let page = match pages.kept(status) {
            Some(page) => Some(page),
            None => {
                let request = Request::get(page_path).body(Body::empty());
                match request {
                    Ok(request) => {
                        let (answer, _) = self.dispatch(request, None, transport).await;
                        pages.read(status, answer).await
                    }
                    Err(_) => None,
                }
            }
        };
        match page {
            Some(page) => pages.apply(response, page),
            None => response,
        }
    }

    fn builtin(&self, path: &str) -> Option<Response> {
        let inner = &self.inner;
        match path {
            "/health" => Some(axum::Json(json!({"status": "ok"})).into_response()),
            "/ready" => {
                let down: Vec<&str> = inner
                    .backends
                    .iter()
                    .filter(|b| !b.any_healthy())
                    .map(|b| b.spec.name.as_str())
                    .collect();
                let body = json!({
                    "status": if down.is_empty() { "ready" } else { "degraded" },
                    "backends": inner.described,
                    "unhealthy": down,
                });
                let status = if down.is_empty() {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                Some((status, axum::Json(body)).into_response())
            }
            "/metrics" => {
                let mut r = inner.metrics.render().into_response();
                r.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                Some(r)
            }
            _ => None,
        }
    }

    async fn dispatch(
        &self,
        req: Request<Body>,
        id: Option<&str>,
        transport: Transport<'_>,
    ) -> (Response, Option<usize>) {
        let inner = &self.inner;
        let path = req.uri().path();
        if let Some(r) = self.builtin(path) {
            return (r, None);
        }
        if let Some(preflight) = inner.edge.preflight(req.method(), req.headers()) {
            return match preflight {
                Ok(headers) => {
                    let mut r = StatusCode::NO_CONTENT.into_response();
                    r.headers_mut().extend(headers);
                    (r, None)
                }
                Err(()) => (
                    respond::error(StatusCode::FORBIDDEN, "cors", "the origin is not allowed"),
                    None,
                ),
            };
        }
        if let Err(why) = inner
            .edge
            .admit(path, req.uri().query().unwrap_or(""), req.headers())
        {
            return (
                respond::error(StatusCode::FORBIDDEN, "forbidden", why),
                None,
            );
        }
        match routes::find(&inner.patterns, req.method().as_str(), path) {
            Match::Route(i) => (self.serve_route(i, req, id, transport).await, Some(i)),
            Match::WrongMethod => {
                let message = format!("{} is not routed on {path}", req.method());
                (
                    respond::error(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                        message,
                    ),
                    None,
                )
            }
            Match::None => {
                let message = format!("no route serves {path}");
                (respond::not_found(message), None)
            }
        }
    }

    async fn serve_route(
        &self,
        index: usize,
        req: Request<Body>,
        id: Option<&str>,
        transport: Transport<'_>,
    ) -> Response {
        let inner = &self.inner;
        let route = &inner.routes[index];
        let (_guard, in_flight) = InFlight::enter(&inner.in_flight);
        if let Some(shed) = &inner.spec.shed {
            if !route.spec.critical && shed.max_in_flight > 0 && in_flight >= shed.max_in_flight {
                return respond::unavailable("overloaded", "load is being shed", 1);
            }
        }
        let deprecated = inner.spec.versioning.as_ref().and_then(|v| {
            let found = routes::version(v, req.uri().path(), req.headers())?;
            v.deprecated
                .iter()
                .any(|d| d == found)
                .then(|| found.to_string())
        });
        let limit = inner.spec.body_limit;
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if limit > 0 && declared.is_some_and(|n| n > limit) {
            return respond::too_large(limit);
        }
        let ip = crate::http::client_ip(&req);
        let (mut parts, body) = req.into_parts();
        let Some(body) = crate::http::body_within(body, limit).await else {
            return respond::too_large(limit);
        };
        let identity = match self.authenticate(route, &parts.headers, &body) {
            Ok(identity) => identity,
            Err(refusal) => return auth_refusal(refusal),
        };
        let mut rate_headers = Vec::new();
        if !route.limiters.is_empty() {
            let mut info = RequestInfo::new(route.label.clone());
            info.ip = ip;
            info.user = identity.user.clone();
            info.api_key = identity.api_key.clone();
            let country = inner
                .spec
                .cdn
                .as_ref()
                .map_or("x-country", |c| c.country_header.as_str());
            info.country = parts
                .headers
                .get(country)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            info.headers = crate::http::limit_headers(&route.limiters, &parts.headers);
            match check_all(&route.limiters, &info).await {
                Ok(crate::limit::Outcome::Denylisted) => {
                    return respond::error(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "the client is refused",
                    )
                }
                Ok(crate::limit::Outcome::Checked(d)) if !d.allowed => {
                    let name = route
                        .limiters
                        .iter()
                        .find(|l| d.limit == l.rate_for(&info).count() || route.limiters.len() == 1)
                        .map_or_else(|| "limit".to_string(), |l| l.policy().name.clone());
                    inner
                        .metrics
                        .counter(
                            "rate_limit_rejections_total",
                            "Requests refused by a rate limit.",
                            &[
                                ("service", inner.spec.name.as_str()),
                                ("limit", name.as_str()),
                            ],
                        )
                        .inc();
                    return respond::rate_limited(&name, &d);
                }
                Ok(crate::limit::Outcome::Checked(d)) => rate_headers = d.headers(),
                Ok(crate::limit::Outcome::Allowlisted) => {}
                Err(why) => return respond::unavailable("limiter_unavailable", why.to_string(), 1),
            }
        }
        let query = parts.uri.query().unwrap_or("");
        let query = if route.spec.strip_query.is_empty() {
            std::borrow::Cow::Borrowed(query)
        } else {
            std::borrow::Cow::Owned(routes::strip_query(query, &route.spec.strip_query))
        };
        // A WebSocket handshake is never answered from the cache.
        let upgrade = route.spec.websocket && websocket::is_upgrade(&parts.headers);
        let cache_key = route
            .cache
            .as_ref()
            .filter(|_| parts.method == Method::GET && !upgrade)
            .map(|c| {
                c.key(
                    parts.method.as_str(),
                    parts.uri.path(),
                    &query,
                    &parts.headers,
                    identity.user.as_deref(),
                )
            });
        if let (Some(cache), Some(key)) = (&route.cache, &cache_key) {
            if let Some(hit) = cache.get(key).await {
                let mut r = Response::new(Body::from(hit.body.clone()));
                *r.status_mut() = hit.status;
                r.headers_mut().extend(hit.headers.iter().cloned());
                r.headers_mut()
                    .insert("x-cache", HeaderValue::from_static("HIT"));
                respond::add_headers(&mut r, &rate_headers);
                return r;
            }
        }
        let Some(mut backend) = route.backend else {
            return respond::error(
                StatusCode::BAD_GATEWAY,
                "no_upstream",
                format!(
                    "`{}` is not a service this gateway can reach",
                    route.spec.to
                ),
            );
        };
        let mut set_cookie = None;
        if let Some(c) = &route.canary {
            let forced = parts
                .headers
                .get(X_CANARY)
                .and_then(|v| v.to_str().ok())
                .map(|v| matches!(v, "1" | "true" | "always" | "yes"));
            let sticky = c
                .sticky
                .then(|| cookie(&parts.headers, &c.cookie))
                .flatten()
                .map(|v| v == "canary");
            let chosen = forced.or(sticky).unwrap_or_else(|| random_f64() < c.weight);
            if chosen {
                backend = c.backend;
            }
            if c.sticky && sticky.is_none() && forced.is_none() {
                set_cookie = if chosen { &c.pin_canary } else { &c.pin_stable }.clone();
            }
        }
        let wants_gzip = inner.spec.compression && accepts_gzip(&parts.headers);
        // The request's own map, minus its hop-by-hop headers, is the forward's: copying
        // the others into a new map would hash and clone every one of them.
        let mut headers = std::mem::take(&mut parts.headers);
        // One pass over the few headers a request has finds the hop-by-hop ones, where
        // removing each of the ten names would be ten lookups.
        let mut present = [false; HOPS];
        for name in headers.keys() {
            if let Some(i) = HOP_BY_HOP.iter().position(|hop| hop == name) {
                present[i] = true;
            }
        }
        for (name, _) in HOP_BY_HOP.iter().zip(present).filter(|(_, found)| *found) {
            headers.remove(name);
        }
        for (name, value) in &route.set_headers {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(id) = id.and_then(|id| HeaderValue::try_from(id).ok()) {
            headers.insert(request_id::NAME, id);
        }
        if let Some(ip) = ip.and_then(address_value) {
            headers.insert(crate::http::X_FORWARDED_FOR, ip);
        }
        if let Some(user) = identity
            .user
            .as_deref()
            .and_then(|u| HeaderValue::try_from(u).ok())
        {
            headers.insert(X_USER_ID, user);
        }
        let mut path_and_query = String::with_capacity(parts.uri.path().len() + query.len() + 1);
        path_and_query.push_str(parts.uri.path());
        if !query.is_empty() {
            path_and_query.push('?');
            path_and_query.push_str(&query);
        }
        if upgrade {
            if let Some(inbound) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() {
                let handshake = websocket::Handshake {
                    inbound,
                    method: parts.method.clone(),
                    path_and_query: &path_and_query,
                    headers,
                    lease: parts.extensions.remove::<super::conn::TunnelLease>(),
                };
                let budget = Some(Duration::from_millis(if route.spec.timeout_ms > 0 {
                    route.spec.timeout_ms
                } else {
                    3_600_000
                }));
                let upgraded = inner.backends[backend].upgrade(ip, handshake, budget);
                return match upgraded.await {
                    Ok(mut response) => {
                        respond::add_headers(&mut response, &rate_headers);
                        response
                    }
                    Err(why) => refusal(route, why),
                };
            }
        }
        let outgoing = Outgoing {
            method: parts.method.clone(),
            path_and_query: &path_and_query,
            body,
            client_ip: ip,
        };
        let forwarded = self.forward(route, backend, transport, &outgoing, headers);
        let mut response = match forwarded.await {
            Ok(r) => r,
            Err(refusal) => return refusal,
        };
        let gzip_ok = wants_gzip && worth_gzip(response.headers());
        if gzip_ok || cache_key.is_some() {
            response = self.buffered(response, gzip_ok, route, cache_key).await;
        }
        let h = response.headers_mut();
        if let Some(version) = deprecated {
            h.insert("deprecation", HeaderValue::from_static("true"));
            if let Ok(v) = HeaderValue::try_from(version) {
                h.insert("api-version", v);
            }
        }
        if let Some(c) = set_cookie {
            h.append(SET_COOKIE, c);
        }
        respond::add_headers(&mut response, &rate_headers);
        response
    }

    fn authenticate(
        &self,
        route: &RouteState,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Identity, AuthError> {
        let Some(i) = route.scheme else {
            return Ok(Identity::default());
        };
        let scheme = &self.inner.schemes[i];
        if !route.required && !scheme.present(headers) {
            return Ok(Identity::default());
        }
        let identity = scheme.verify(headers, body)?;
        authorize(&identity, &route.spec.permissions)?;
        Ok(identity)
    }

    /// Tries the upstream within the route's budget, retrying what the route's retry
    /// policy allows (idempotent methods only), through the route's breaker.
    async fn forward(
        &self,
        route: &RouteState,
        backend: usize,
        transport: Transport<'_>,
        out: &Outgoing<'_>,
        mut headers: HeaderMap,
    ) -> Result<Response, Response> {
        let inner = &self.inner;
        let budget_ms = route.spec.timeout_ms;
        let deadline = (budget_ms > 0).then(|| Instant::now() + Duration::from_millis(budget_ms));
        let can_retry = idempotent(&out.method);
        // Without a retry the one try takes the headers instead of a copy.
        let may_retry = can_retry && route.retry.is_some();
        let mut retries = 0;
        loop {
            let permit = match &route.breaker {
                Some((b, gauge)) => match b.try_acquire() {
                    Ok(p) => Some((p, gauge)),
                    Err(open) => {
                        gauge.set(1);
                        let secs = crate::limit::ceil_secs(open.retry_after);
                        return Err(respond::unavailable(
                            "circuit_open",
                            format!("the breaker towards `{}` is open", route.spec.to),
                            secs,
                        ));
                    }
                },
                None => None,
            };
            // Without a route timeout a forward still gives up after an hour.
            let left = Some(deadline.map_or(Duration::from_secs(3600), |d| {
                d.saturating_duration_since(Instant::now())
            }));
            let headers = if may_retry {
                headers.clone()
            } else {
                std::mem::take(&mut headers)
            };
            let result = inner.backends[backend]
                .send(transport, out, headers, left)
                .await;
            let failure = match &result {
                Ok(r) if r.status().is_server_error() => Some(Failure::Status(r.status().as_u16())),
                Ok(_) => None,
                Err(SendError::Timeout) => Some(Failure::Timeout),
                Err(SendError::Connect(_)) => Some(Failure::Connect),
                Err(SendError::NoHealthy | SendError::ShuttingDown) => Some(Failure::Other),
            };
            if let Some((permit, gauge)) = permit {
                if failure.is_some() {
                    permit.failure();
                } else {
                    permit.success();
                }
                if let Some((b, _)) = &route.breaker {
                    gauge.set(i64::from(b.state() == crate::breaker::BreakerState::Open));
                }
            }
            let delay = match (&route.retry, failure) {
                (Some(policy), Some(f)) => {
                    RNG.with(|r| policy.next_delay(retries, f, can_retry, &mut r.borrow_mut()))
                }
                _ => None,
            };
            let fits = |d: Duration| deadline.map_or(true, |end| Instant::now() + d < end);
            match (result, delay) {
                (Err(_) | Ok(_), Some(d)) if fits(d) => {
                    retries += 1;
                    tokio::time::sleep(d).await;
                }
                (Ok(r), _) => return Ok(self.relay(r)),
                (Err(why), _) => return Err(refusal(route, why)),
            }
        }
    }

    /// The upstream answer as the gateway's, streamed, without hop-by-hop headers.
    fn relay(&self, upstream: hyper::Response<hyper::body::Incoming>) -> Response {
        let (mut parts, body) = upstream.into_parts();
        for name in [CONNECTION, KEEP_ALIVE, TRANSFER_ENCODING, UPGRADE, TRAILER] {
            parts.headers.remove(name);
        }
        Response::from_parts(parts, Body::new(body))
    }

    /// Reads the answer into memory to compress and/or cache it.
    async fn buffered(
        &self,
        response: Response,
        gzip_ok: bool,
        route: &RouteState,
        key: Option<String>,
    ) -> Response {
        let (mut parts, body) = response.into_parts();
        let bytes = match http_body_util::Limited::new(body, BUFFER_MAX)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return respond::error(
                    StatusCode::BAD_GATEWAY,
                    "bad_gateway",
                    "the upstream answer broke off or is too large",
                )
            }
        };
        if let (Some(cache), Some(key)) = (&route.cache, key) {
            cache
                .put(key, parts.status, &parts.headers, bytes.clone())
                .await;
            parts
                .headers
                .insert("x-cache", HeaderValue::from_static("MISS"));
            if let Ok(v) = HeaderValue::try_from(cache.vary().join(", ")) {
                if !cache.vary().is_empty() {
                    parts.headers.append("vary", v);
                }
            }
        }
        let body = if gzip_ok && bytes.len() >= super::edge::COMPRESS_MIN {
            match gzip(&bytes) {
                Some(z) => {
                    parts
                        .headers
                        .insert("content-encoding", HeaderValue::from_static("gzip"));
                    parts.headers.remove("content-length");
                    parts
                        .headers
                        .append("vary", HeaderValue::from_static("Accept-Encoding"));
                    Bytes::from(z)
                }
                None => bytes,
            }
        } else {
            bytes
        };
        Response::from_parts(parts, Body::from(body))
    }
}

#[cfg(test)]
mod tests {
    use super::address_value;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let octets = [0u8, 7, 9, 10, 42, 99, 100, 199, 255];
        for a in octets {
            for b in octets {
                let ip = IpAddr::V4(Ipv4Addr::new(a, b, 255 - a, b / 2));
                let value = address_value(ip).expect("a header value");
                assert_eq!(value.to_str().ok(), Some(ip.to_string().as_str()));
            }
        }
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_eq!(
            address_value(v6).as_ref().and_then(|v| v.to_str().ok()),
            Some("2001:db8::1")
        );
    }
}
