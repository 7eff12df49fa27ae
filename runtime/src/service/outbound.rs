//! Outbound calls to other services: HTTP over a pooled hyper client to the upstream's
//! base URL (its `url_env` variable, else its default URL), with retries only for
//! idempotent calls and a circuit breaker per endpoint and upstream.

use crate::breaker::{BreakerConfig, CircuitBreaker};
use crate::clock::SystemClock;
use crate::http::metrics::{Gauge, Metrics};
use crate::retry::{jittered, Backoff};
use crate::rng::XorShift64;
use crate::spec::{BackoffSpec, CallSpec, EndpointSpec, ServiceSpec};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why an upstream call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The breaker is open; retry after this many seconds.
    Open(u64),
    /// The call could not be made or answered.
    Failed(String),
}

#[derive(Debug)]
struct Guarded {
    breaker: CircuitBreaker,
    open: Arc<Gauge>,
}

/// The outbound side of a service.
#[derive(Debug)]
pub(crate) struct Outbound {
    client: Client<HttpConnector, Full<Bytes>>,
    bases: HashMap<String, String>,
    breakers: HashMap<(String, String), Guarded>,
    rng: Mutex<XorShift64>,
}

/// The first base URL of `env` (comma separated), else `default`, without a trailing `/`.
pub(crate) fn base_url(env: &str, default: &str) -> String {
    let from_env = std::env::var(env).ok();
    let text = from_env
        .as_deref()
        .and_then(|v| v.split(',').map(str::trim).find(|s| !s.is_empty()))
        .unwrap_or(default);
    text.trim_end_matches('/').to_string()
}

/// `path` with each `:name` segment replaced by `params[name]` (kept when absent).
pub(crate) fn fill_path(path: &str, params: &BTreeMap<String, String>) -> String {
    path.split('/')
        .map(|seg| match seg.strip_prefix(':') {
            Some(name) => params.get(name).cloned().unwrap_or_else(|| seg.to_string()),
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn backoff(spec: &BackoffSpec) -> Backoff {
    match *spec {
        BackoffSpec::Fixed { base_ms } => Backoff::Fixed(Duration::from_millis(base_ms)),
        BackoffSpec::Exponential { base_ms, max_ms } => Backoff::Exponential {
            base: Duration::from_millis(base_ms),
            max: Duration::from_millis(max_ms),
        },
    }
}

impl Outbound {
    pub(crate) fn new(spec: &ServiceSpec, metrics: &Metrics) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        let bases = spec
            .upstreams
            .iter()
            .map(|u| (u.name.clone(), base_url(&u.url_env, &u.default_url)))
            .collect();
        let mut breakers = HashMap::new();
        for e in &spec.endpoints {
            let Some(b) = e.breaker else { continue };
            for c in &e.calls {
                let config = BreakerConfig {
                    failures: b.failures.max(1),
                    reset: Duration::from_millis(b.reset_ms),
                    half_open: b.half_open.max(1),
                };
                let open = metrics.gauge(
                    "breaker_open",
                    "1 while the circuit breaker towards an upstream is open.",
                    &[
                        ("service", spec.name.as_str()),
                        ("upstream", c.service.as_str()),
                    ],
                );
                let breaker = CircuitBreaker::new(config, Arc::new(SystemClock));
                breakers.insert(
                    (e.name.clone(), c.service.clone()),
                    Guarded { breaker, open },
                );
            }
        }
        Self {
            client,
            bases,
            breakers,
            rng: Mutex::new(XorShift64::from_entropy()),
        }
    }

    /// One HTTP request to `service`; the status and body.
    pub(crate) async fn send_once(
        &self,
        service: &str,
        method: &str,
        path: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let base = self
            .bases
            .get(service)
            .ok_or_else(|| format!("`{service}` is not an upstream of this service"))?;
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }

    /// The call of `endpoint`, through its breaker and (idempotent calls only) retries.
    pub(crate) async fn call(
        &self,
        endpoint: &EndpointSpec,
        call: &CallSpec,
        params: &BTreeMap<String, String>,
        body: Bytes,
    ) -> Result<(u16, Bytes), CallError> {
        let path = fill_path(&call.path, params);
        let guarded = self
            .breakers
            .get(&(endpoint.name.clone(), call.service.clone()));
        let retry = endpoint.retry.as_ref().filter(|_| call.idempotent);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let permit = match guarded.map(|g| g.breaker.try_acquire()) {
                Some(Err(open)) => {
                    if let Some(g) = guarded {
                        g.open.set(1);
                    }
                    return Err(CallError::Open(
                        crate::limit::ceil_secs(open.retry_after).max(1),
                    ));
                }
                Some(Ok(p)) => Some(p),
                None => None,
            };
            let result = self
                .send_once(&call.service, &call.method, &path, body.clone())
                .await;
            let failed = !matches!(&result, Ok((s, _)) if *s < 500);
            if let Some(p) = permit {
                if failed {
                    p.failure();
                } else {
                    p.success();
                }
            }
            if let Some(g) = guarded {
                let open = matches!(g.breaker.state(), crate::breaker::BreakerState::Open);
                g.open.set(i64::from(open));
            }
            let retryable = match (&result, retry) {
                (_, None) => false,
                (Ok((status, _)), Some(r)) => r.statuses.contains(status),
                (Err(_), Some(r)) => r.on_connect,
            };
            match retry {
                Some(r) if retryable && attempt <= r.attempts => {
                    let base = backoff(&r.backoff).delay(attempt);
                    let delay = {
                        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                        jittered(base, r.jitter, &mut rng)
                    };
                    tokio::time::sleep(delay).await;
                }
                _ => return result.map_err(CallError::Failed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_take_their_parameters() {
        let params = BTreeMap::from([("id".to_string(), "42".to_string())]);
        assert_eq!(fill_path("/users/:id/orders", &params), "/users/42/orders");
        assert_eq!(fill_path("/x/:other", &params), "/x/:other");
    }

    #[test]
    fn the_base_url_falls_back_to_the_default() {
        assert_eq!(
            base_url("ARCHC_TEST_SURELY_UNSET_URL", "http://localhost:8081/"),
            "http://localhost:8081"
        );
    }
}
