//! The gateway's upstream services: one balancer per backend over its instances (the
//! comma-separated URLs of its `url_env` variable, else its default URL), active health
//! checks of each instance's health path, and the two ways a request reaches an instance:
//! the connections of the inbound connection it came on (see `conn`), or one pooled
//! keep-alive hyper client (health checks and in-process calls).

use super::conn::ConnUpstreams;
use crate::balance::{Algorithm, Balancer, HealthPolicy, Probe, Upstream};
use crate::spec::BackendSpec;
use crate::BoxFuture;
use axum::http::header::{self, HOST};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The HTTP client every forwarded request and health check shares.
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A pooled keep-alive client with Nagle off (small proxied answers must not wait).
pub(crate) fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_keepalive(Some(Duration::from_secs(60)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(connector)
}

/// The balancing algorithm a spec names (`round_robin` when unknown).
pub(crate) fn algorithm(name: &str) -> Algorithm {
    match name {
        "least_connections" | "least_conn" => Algorithm::LeastConnections,
        "weighted" => Algorithm::Weighted,
        "ip_hash" => Algorithm::IpHash,
        "least_response_time" | "least_time" => Algorithm::LeastResponseTime,
        "random" => Algorithm::Random,
        _ => Algorithm::RoundRobin,
    }
}

/// The instance base URLs of a backend: `url_env` (comma separated) or the default,
/// each without a trailing `/`.
pub(crate) fn instance_urls(spec: &BackendSpec, env: Option<String>) -> Vec<String> {
    let listed: Vec<String> = env
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().trim_end_matches('/').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if listed.is_empty() {
        vec![spec.default_url.trim_end_matches('/').to_string()]
    } else {
        listed
    }
}

/// How a forwarded request reaches the instance the balancer picked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Transport<'a> {
    /// The pooled client the whole gateway shares.
    Pooled(&'a HttpClient),
    /// The upstream connections held by the inbound connection the request came on.
    Held(&'a ConnUpstreams),
}

/// Where one instance listens, prepared once.
#[derive(Debug)]
struct Instance {
    /// `host:port`, the port defaulting to 80.
    authority: String,
    /// The `Host` header forwarded requests carry.
    host: HeaderValue,
    /// The base URL's path (`/api` of `http://orders:8080/api`), put before every path.
    base: String,
}

impl Instance {
    /// `path_and_query` under the instance's base path (built by hand: `format!` goes
    /// through the formatter on every forward).
    fn path(&self, path_and_query: &str) -> String {
        let mut path = String::with_capacity(self.base.len() + path_and_query.len());
        path.push_str(&self.base);
        path.push_str(path_and_query);
        path
    }
}

/// One backend service.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) spec: BackendSpec,
    pub(crate) balancer: Arc<Balancer>,
    instances: Vec<Instance>,
}

/// Why a forwarded request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendError {
    /// Every instance is out of rotation.
    NoHealthy,
    /// The connection failed or broke.
    Connect(String),
    /// No answer within the time left.
    Timeout,
    /// The gateway's shutdown grace ended first (a WebSocket handshake still waiting).
    ShuttingDown,
}

impl Backend {
    pub(crate) fn new(spec: &BackendSpec) -> Result<Self, String> {
        let urls = instance_urls(spec, std::env::var(&spec.url_env).ok());
        let algorithm = algorithm(&spec.balance);
        let upstreams = urls
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let weight = spec.weights.get(i).copied().unwrap_or(1).max(1);
                Upstream::weighted(u.clone(), weight)
            })
            .collect::<Vec<_>>();
        let mut instances = Vec::with_capacity(upstreams.len());
        for u in &upstreams {
            let instance =
                u.id.parse::<Uri>()
                    .ok()
                    .filter(|uri| uri.scheme_str() == Some("http"))
                    .and_then(|uri| {
                        let authority = uri.authority()?;
                        Some(Instance {
                            authority: format!(
                                "{}:{}",
                                authority.host(),
                                authority.port_u16().unwrap_or(80)
                            ),
                            host: HeaderValue::try_from(match authority.port() {
                                Some(port) => format!("{}:{port}", authority.host()),
                                None => authority.host().to_string(),
                            })
                            .ok()?,
                            base: uri.path().trim_end_matches('/').to_string(),
                        })
                    })
                    .ok_or_else(|| {
                        format!(
                            "{}: `{}` is not an http:// base URL (from {} or the default)",
                            spec.name, u.id, spec.url_env
                        )
                    })?;
            instances.push(instance);
        }
        let balancer = Balancer::new(algorithm, upstreams)
            .map_err(|e| format!("{}: {e}", spec.name))?
            .with_health(HealthPolicy {
                healthy_after: spec.healthy_after.max(1),
                unhealthy_after: spec.unhealthy_after.max(1),
            });
        Ok(Self {
            spec: spec.clone(),
            balancer: Arc::new(balancer),
            instances,
        })
    }

    /// Sends one request with `headers` to an instance picked by the balancer, waiting at
    /// most `budget` (when there is one) for the answer's head.
    pub(crate) async fn send(
        &self,
        transport: Transport<'_>,
        parts: &Outgoing<'_>,
        mut headers: HeaderMap,
        budget: Option<Duration>,
    ) -> Result<Response<Incoming>, SendError> {
        let pick = self
            .balancer
            .pick(parts.client_ip)
            .ok_or(SendError::NoHealthy)?;
        let instance = &self.instances[pick.index()];
        headers.insert(HOST, instance.host.clone());
        let mut request = Request::new(Full::new(parts.body.clone()));
        *request.method_mut() = parts.method.clone();
        *request.headers_mut() = headers;
        let started = Instant::now();
        let answer = match transport {
            Transport::Pooled(client) => {
                let uri = format!("{}{}", pick.upstream().id, parts.path_and_query);
                *request.uri_mut() = uri
                    .parse()
                    .map_err(|_| SendError::Connect(format!("bad upstream URI {uri}")))?;
                let answer = client.request(request);
                match budget {
                    Some(budget) => match tokio::time::timeout(budget, answer).await {
                        Ok(answer) => answer.map_err(|why| SendError::Connect(why.to_string())),
                        Err(_) => Err(SendError::Timeout),
                    },
                    None => answer
                        .await
                        .map_err(|why| SendError::Connect(why.to_string())),
                }
            }
            Transport::Held(connections) => {
                *request.uri_mut() = Uri::try_from(instance.path(parts.path_and_query))
                    .map_err(|why| SendError::Connect(format!("bad path: {why}")))?;
                connections.send(&instance.authority, request, budget).await
            }
        };
        if answer.is_ok() {
            pick.finish(started.elapsed());
        }
        answer
    }

    /// Forwards a WebSocket handshake to an instance picked by the balancer; on 101 the
    /// tunnel runs in its own task and the 101 is returned.
    pub(crate) async fn upgrade(
        &self,
        client_ip: Option<IpAddr>,
        handshake: super::websocket::Handshake<'_>,
        budget: Option<Duration>,
    ) -> Result<axum::response::Response, SendError> {
        let pick = self.balancer.pick(client_ip).ok_or(SendError::NoHealthy)?;
        let instance = &self.instances[pick.index()];
        let path = instance.path(handshake.path_and_query);
        let handshake = super::websocket::Handshake {
            path_and_query: &path,
            ..handshake
        };
        let started = Instant::now();
        let answer = super::websocket::tunnel(
            &instance.authority,
            instance.host.clone(),
            handshake,
            budget,
        )
        .await;
        if answer.is_ok() {
            pick.finish(started.elapsed());
        }
        answer
    }

    /// True while some instance is in rotation.
    pub(crate) fn any_healthy(&self) -> bool {
        self.balancer.status().iter().any(|s| s.healthy)
    }
}

/// What is forwarded, shared by every try (the headers are passed to each).
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    pub(crate) method: Method,
    pub(crate) path_and_query: &'a str,
    pub(crate) body: Bytes,
    pub(crate) client_ip: Option<IpAddr>,
}

/// `GET base + health_path` answering 2xx.
#[derive(Debug)]
pub(crate) struct HttpProbe {
    pub(crate) client: HttpClient,
    pub(crate) path: String,
}

impl Probe for HttpProbe {
    fn check<'a>(&'a self, upstream: &'a Upstream) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Ok(uri) = format!("{}{}", upstream.id, self.path).parse::<Uri>() else {
                return false;
            };
            let mut request = Request::new(Full::new(Bytes::new()));
            *request.uri_mut() = uri;
            match self.client.request(request).await {
                Ok(r) => r.status().is_success(),
                Err(_) => false,
            }
        })
    }
}

/// Runs the active health checks of `backend` until the task is aborted.
pub(crate) fn spawn_checks(backend: &Backend, client: HttpClient) -> tokio::task::JoinHandle<()> {
    let probe: Arc<dyn Probe> = Arc::new(HttpProbe {
        client,
        path: backend.spec.health_path.clone(),
    });
    let interval = Duration::from_millis(backend.spec.health_interval_ms.max(100));
    let timeout = Duration::from_millis(backend.spec.health_timeout_ms.max(10));
    tokio::spawn(crate::balance::run_checks(
        backend.balancer.clone(),
        probe,
        interval,
        timeout,
    ))
}

/// How many [`HOP_BY_HOP`] names there are.
pub(crate) const HOPS: usize = 10;

/// Request headers that belong to one hop and are not forwarded.
pub(crate) const HOP_BY_HOP: [HeaderName; HOPS] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
];
