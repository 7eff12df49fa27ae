//! How a service serves HTTP: listen on the port, answer on hyper's HTTP/1 connections
//! until Ctrl-C or SIGTERM, drain, and log each step as JSON. Also what the gateway's own
//! server (`gateway/conn.rs`) shares with it: the access-log switch, the HTTP/1 settings
//! and the in-flight count load shedding reads.

use super::log;
use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;

/// Whether the JSON access log is on: it is unless `ACCESS_LOG` is `off`, `0` or `false`.
pub(crate) fn access_log_from_env() -> bool {
    !matches!(
        std::env::var("ACCESS_LOG").as_deref(),
        Ok("off" | "0" | "false")
    )
}

/// Binds `0.0.0.0:port`, logging why when it cannot.
pub(crate) async fn listen(name: &str, port: u16) -> Result<tokio::net::TcpListener, ExitCode> {
    tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .map_err(|why| {
            log::error(
                name,
                "cannot listen",
                &[("port", port.into()), ("error", why.to_string().into())],
            );
            ExitCode::FAILURE
        })
}

/// How long a client may take to send a request's head (slow-loris clients are closed).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP/1 server settings services and the gateway share: hyper's timer, so that the
/// header read timeout holds.
pub(crate) fn http1() -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
}

/// Serves `handle` on `listener` until a shutdown signal (then `on_signal` runs and the
/// requests in flight finish), awaits `drained`, and logs how it ended.
pub(crate) async fn run<H, F>(
    name: &str,
    listener: tokio::net::TcpListener,
    handle: H,
    on_signal: impl FnOnce(),
    drained: impl Future<Output = ()>,
) -> ExitCode
where
    H: Fn(Request<Body>) -> F + Clone + Send + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    serve_until(name, listener, handle, async move {
        super::shutdown::signal().await;
        on_signal();
    })
    .await;
    drained.await;
    log::info(name, "stopped", &[]);
    ExitCode::SUCCESS
}

/// Accepts on `listener`, answering each request with `handle`, until `stop` completes;
/// then stops accepting, lets every connection finish the request it is answering (idle
/// keep-alive connections close at once), and returns when all have closed.
///
/// Each request goes straight from hyper to `handle`: a router holding one fallback would
/// only add a route lookup and a boxed copy of the handler's future per request.
pub(crate) async fn serve_until<H, F>(
    name: &str,
    listener: tokio::net::TcpListener,
    handle: H,
    stop: impl Future<Output = ()>,
) where
    H: Fn(Request<Body>) -> F + Clone + Send + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let shutdown = super::shutdown::Shutdown::new();
    // Every connection holds a sender; `recv` answers `None` once all have closed.
    let (open, mut closed) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let task = connection(stream, peer, handle.clone(), shutdown.clone());
                    let open = open.clone();
                    tokio::spawn(async move {
                        task.await;
                        drop(open);
                    });
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(why) => {
                    log::warn(name, "accept failed", &[("error", why.to_string().into())]);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    shutdown.trigger();
    drop(open);
    let _ = closed.recv().await;
}

/// Serves one HTTP/1 connection until the client closes it, or until shutdown once the
/// request in progress is answered.
async fn connection<H, F>(
    stream: TcpStream,
    peer: SocketAddr,
    handle: H,
    shutdown: super::shutdown::Shutdown,
) where
    H: Fn(Request<Body>) -> F + Clone + Send + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    // Answers written in parts (streamed bodies) must not wait for an ACK between parts.
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(Body::new);
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let answer = handle(request);
        async move { Ok::<Response, Infallible>(answer.await) }
    });
    let served = http1().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    tokio::select! {
        biased;
        _ = served.as_mut() => {}
        () = shutdown.wait() => {
            served.as_mut().graceful_shutdown();
            let _ = served.await;
        }
    }
}

/// Counts a request in flight until dropped (load shedding reads the count).
pub(crate) struct InFlight<'a>(&'a AtomicU32);

impl<'a> InFlight<'a> {
    /// Counts one more request; returns the guard and how many were in flight before.
    pub(crate) fn enter(count: &'a AtomicU32) -> (Self, u32) {
        let before = count.fetch_add(1, Ordering::Relaxed);
        (Self(count), before)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends one request on a new connection and reads the answer until the server closes.
    async fn get(addr: SocketAddr) -> String {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /who HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer
    }

    /// Serves `handle` on a loopback port until the returned sender is used or dropped.
    async fn start<H, F>(
        handle: H,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )
    where
        H: Fn(Request<Body>) -> F + Clone + Send + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_until("test", listener, handle, async move {
            let _ = stopped.await;
        }));
        (addr, stop, server)
    }

    #[tokio::test]
    async fn answers_with_the_peer_address_in_the_request() {
        let handle = |request: Request<Body>| async move {
            let peer = request
                .extensions()
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map_or_else(|| "none".to_string(), |c| c.0.ip().to_string());
            Response::new(Body::from(format!("{} {peer}", request.uri().path())))
        };
        let (addr, stop, server) = start(handle).await;
        let answer = get(addr).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("/who 127.0.0.1"), "{answer}");
        let _ = stop.send(());
        server.await.expect("server");
    }

    #[tokio::test]
    async fn stopping_finishes_the_request_in_flight_and_accepts_no_more() {
        let (entered, release) = (
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(tokio::sync::Notify::new()),
        );
        let (inside, go) = (entered.clone(), release.clone());
        let handle = move |_request: Request<Body>| {
            let (inside, go) = (inside.clone(), go.clone());
            async move {
                inside.notify_one();
                go.notified().await;
                Response::new(Body::from("finished"))
            }
        };
        let (addr, stop, server) = start(handle).await;
        let in_flight = tokio::spawn(get(addr));
        entered.notified().await;
        let _ = stop.send(());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!server.is_finished(), "returned with a request in flight");
        assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
        release.notify_one();
        let answer = in_flight.await.expect("client");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("finished"), "{answer}");
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("drained")
            .expect("server");
    }
}
