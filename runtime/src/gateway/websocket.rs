//! WebSocket routes. An `Upgrade: websocket` request on a route declared `websocket` is
//! forwarded with its upgrade headers on an upstream connection of its own; when the
//! upstream switches protocols (101), the gateway answers 101 with the upstream's headers
//! and copies bytes both ways until either side closes. A refusal (any other status) is
//! relayed as it is. Other requests on the route are plain HTTP.
//!
//! A tunnel counts as one of its I/O thread's connections, so shutdown waits for it, but
//! only for the grace [`TunnelLease`] carries: then both ends are closed.

use super::conn::TunnelLease;
use super::upstream::SendError;
use axum::body::Body;
use axum::http::header::{CONNECTION, HOST, TRANSFER_ENCODING, UPGRADE};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use bytes::Bytes;
use http_body_util::Empty;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

/// True for a WebSocket handshake: `Upgrade: websocket` with `Connection: upgrade`.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    upgrade
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// One handshake to forward: the inbound side's pending upgrade and what to send.
pub(crate) struct Handshake<'a> {
    pub(crate) inbound: OnUpgrade,
    pub(crate) method: Method,
    pub(crate) path_and_query: &'a str,
    /// The forwarded headers, hop-by-hop ones already removed.
    pub(crate) headers: HeaderMap,
    /// The inbound connection's terms for tunnels (None outside the gateway's own server).
    pub(crate) lease: Option<TunnelLease>,
}

/// Sends the handshake to `authority` (`host:port`, `Host: host`), waiting at most `budget`
/// for the answer; on 101 starts the tunnel and returns the 101 to send back.
pub(crate) async fn tunnel(
    authority: &str,
    host: HeaderValue,
    handshake: Handshake<'_>,
    budget: Option<Duration>,
) -> Result<Response<Body>, SendError> {
    let Handshake {
        inbound,
        method,
        path_and_query,
        mut headers,
        lease,
    } = handshake;
    headers.insert(HOST, host);
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    let mut request = Request::new(Empty::<Bytes>::new());
    *request.method_mut() = method;
    *request.uri_mut() = Uri::try_from(path_and_query)
        .map_err(|_| SendError::Connect(format!("bad path {path_and_query}")))?;
    *request.headers_mut() = headers;
    let exchange = async {
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|why| SendError::Connect(format!("connect {authority}: {why}")))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|why| SendError::Connect(why.to_string()))?;
        // Runs until the upgrade hands the socket over (or the refusal is read).
        tokio::spawn(connection.with_upgrades());
        sender
            .send_request(request)
            .await
            .map_err(|why| SendError::Connect(why.to_string()))
    };
    let answered = async {
        match budget {
            Some(budget) => tokio::time::timeout(budget, exchange)
                .await
                .unwrap_or(Err(SendError::Timeout)),
            None => exchange.await,
        }
    };
    // A handshake still waiting when the shutdown grace ends must not hold the drain up.
    let mut response = match &lease {
        Some(lease) => tokio::select! {
            answer = answered => answer?,
            () = lease.expired() => return Err(SendError::ShuttingDown),
        },
        None => answered.await?,
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let headers = response.headers_mut();
        for name in [CONNECTION, UPGRADE, TRANSFER_ENCODING] {
            headers.remove(name);
        }
        return Ok(response.map(Body::new));
    }
    let outbound = hyper::upgrade::on(&mut response);
    // Counted from the 101 on, so the inbound connection ending hands its place over.
    let hold = lease.as_ref().map(TunnelLease::hold);
    tokio::spawn(async move {
        let _hold = hold;
        let (Ok(client), Ok(upstream)) = tokio::join!(inbound, outbound) else {
            return;
        };
        let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
        let copied = tokio::io::copy_bidirectional(&mut client, &mut upstream);
        let expired = async {
            match &lease {
                Some(lease) => lease.expired().await,
                None => std::future::pending().await,
            }
        };
        // Dropping both ends closes them.
        tokio::select! {
            _ = copied => {}
            () = expired => {}
        }
    });
    let (parts, _) = response.into_parts();
    Ok(Response::from_parts(parts, Body::empty()))
}
