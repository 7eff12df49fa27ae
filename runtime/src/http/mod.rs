//! HTTP plumbing shared by generated services and the gateway: Prometheus metrics,
//! explicit refusals (429/503/504/401/403/413/400 with JSON bodies), request ids, JSON
//! logs, the listening port and graceful shutdown.

pub mod log;
pub mod metrics;
pub mod request_id;
pub mod respond;
pub(crate) mod server;
pub mod shutdown;
pub(crate) mod status_counters;

pub use metrics::Metrics;
pub(crate) use server::InFlight;
pub(crate) use status_counters::StatusCounters;

/// The port to listen on: `PORT` when it is set to a valid port, else `default`.
pub fn listen_port(default: u16) -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("PORT={text:?} is not a port number (1-65535)")),
        Err(_) => Ok(default),
    }
}

/// `X-Forwarded-For`, parsed once.
pub(crate) const X_FORWARDED_FOR: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-forwarded-for");

/// The client's address: the first `X-Forwarded-For` entry (set by the edge balancer or
/// the gateway in front), else the peer of the connection.
pub(crate) fn client_ip(req: &axum::http::Request<axum::body::Body>) -> Option<std::net::IpAddr> {
    let forwarded = req
        .headers()
        .get(X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok());
    forwarded.or_else(|| {
        req.extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// The whole of a request's `body`, or `None` when it is longer than `limit` bytes (0: no
/// limit) or breaks off.
pub(crate) async fn body_within(body: axum::body::Body, limit: u64) -> Option<bytes::Bytes> {
    // Most requests (every GET) have no body: nothing to collect.
    if hyper::body::Body::is_end_stream(&body) {
        return Some(bytes::Bytes::new());
    }
    let max = match limit {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    axum::body::to_bytes(body, max).await.ok()
}

/// The request headers the rate limits of `limiters` key on (`key = header NAME`), as
/// [`crate::limit::RequestInfo::headers`] wants them; the others are not copied.
pub(crate) fn limit_headers(
    limiters: &[crate::limit::Limiter],
    headers: &axum::http::HeaderMap,
) -> Vec<(String, String)> {
    limiters
        .iter()
        .filter_map(|l| match &l.policy().key {
            crate::limit::LimitKey::Header(name) => Some(name),
            _ => None,
        })
        .filter_map(|name| {
            let value = headers.get(name.as_str())?.to_str().ok()?;
            Some((name.to_ascii_lowercase(), value.to_string()))
        })
        .collect()
}
