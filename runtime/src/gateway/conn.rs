//! The gateway's HTTP/1 server: an accept loop in which every inbound connection keeps its
//! own keep-alive connections to the upstream instances it forwards to.
//!
//! Requests on one HTTP/1 connection come one at a time, so one upstream connection per
//! instance is enough, and nothing is shared between inbound connections: a forward is a
//! write and a read on a socket the connection already holds, with no pool lock, checkout
//! or wake-up of another thread. This is how nginx's `keepalive` upstreams behave, and it
//! is what lets the gateway keep up with nginx on the same machine (docs/benchmarks.md).

use super::upstream::SendError;
use super::Gateway;
use crate::http::log;
use axum::body::Body;
use axum::http::{Request, Response};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::AtomicWaker;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::Poll;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// A held upstream connection's I/O, driven by the inbound connection's task.
type Driven = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An upstream connection waiting for the next request: its instance address, and since
/// when it waits.
struct Idle {
    authority: String,
    sender: SendRequest<Full<Bytes>>,
    since: std::time::Instant,
}

/// The upstream connections one inbound connection holds, by instance address.
pub(crate) struct ConnUpstreams {
    idle: Mutex<Vec<Idle>>,
    /// How long a connection may wait unused before it is closed rather than reused.
    idle_limit: Duration,
    /// Connections opened since the driver last ran, and the driver's waker.
    opened: Mutex<Vec<Driven>>,
    driver: AtomicWaker,
    /// The forward's deadline, reused: moving a registered timer later costs a store,
    /// where a new timer per request is a timer-wheel insert and remove.
    deadline: Mutex<Option<Pin<Box<Sleep>>>>,
}

impl std::fmt::Debug for ConnUpstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnUpstreams").finish_non_exhaustive()
    }
}

impl ConnUpstreams {
    /// No connections yet; each one held closes after `idle_limit` unused.
    pub(crate) fn new(idle_limit: Duration) -> Self {
        Self {
            idle: Mutex::default(),
            idle_limit,
            opened: Mutex::default(),
            driver: AtomicWaker::new(),
            deadline: Mutex::default(),
        }
    }

    /// Sends `request` to `authority` (`host:port`), waiting at most `budget` (when there
    /// is one) for the answer's head.
    pub(crate) async fn send(
        &self,
        authority: &str,
        request: Request<Full<Bytes>>,
        budget: Option<Duration>,
    ) -> Result<Response<Incoming>, SendError> {
        let exchange = self.exchange(authority, request);
        let Some(budget) = budget else {
            return exchange.await.map_err(SendError::Connect);
        };
        let taken = self
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let mut deadline = taken.unwrap_or_else(|| Box::pin(tokio::time::sleep(budget)));
        deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + budget);
        tokio::pin!(exchange);
        let answer = std::future::poll_fn(|cx| {
            if let Poll::Ready(answer) = exchange.as_mut().poll(cx) {
                return Poll::Ready(answer.map_err(SendError::Connect));
            }
            match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(SendError::Timeout)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
        answer
    }

    /// Sends `request` on a held connection to `authority` when one is ready, else on a
    /// new one, which is then held for the next request.
    async fn exchange(
        &self,
        authority: &str,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, String> {
        let request = match self.take(authority) {
            Some(mut sender) => match sender.try_send_request(request).await {
                Ok(response) => {
                    self.hold(authority, sender);
                    return Ok(response);
                }
                // The held connection closed before the request was written: use a new one.
                Err(mut failed) => match failed.take_message() {
                    Some(request) => request,
                    None => return Err(failed.into_error().to_string()),
                },
            },
            None => request,
        };
        let mut sender = self.connect(authority).await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|why| why.to_string())?;
        self.hold(authority, sender);
        Ok(response)
    }

    /// A ready connection to `authority`, dropping the ones that have closed or waited
    /// past the idle limit (dropping the last sender closes the connection).
    fn take(&self, authority: &str) -> Option<SendRequest<Full<Bytes>>> {
        let now = std::time::Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain(|held| {
            !held.sender.is_closed() && now.duration_since(held.since) < self.idle_limit
        });
        let at = idle
            .iter()
            .position(|held| held.authority == authority && held.sender.is_ready())?;
        Some(idle.swap_remove(at).sender)
    }

    fn hold(&self, authority: &str, sender: SendRequest<Full<Bytes>>) {
        let held = Idle {
            authority: authority.to_string(),
            sender,
            since: std::time::Instant::now(),
        };
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(held);
    }

    /// Opens one HTTP/1 connection to `authority`, Nagle off (small answers must not
    /// wait). Its I/O runs in the inbound connection's task (see [`Self::drive`]), so a
    /// forward wakes no other task.
    async fn connect(&self, authority: &str) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|why| format!("connect {authority}: {why}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|why| why.to_string())?;
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(async move {
                let _ = connection.await;
            }));
        self.driver.wake();
        Ok(sender)
    }

    /// Runs the held connections' I/O; never completes (it ends when dropped, with the
    /// inbound connection).
    async fn drive(&self) {
        let mut running = FuturesUnordered::<Driven>::new();
        std::future::poll_fn(|cx| {
            self.driver.register(cx.waker());
            running.extend(
                self.opened
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .drain(..),
            );
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
            Poll::<()>::Pending
        })
        .await;
    }
}

/// How long a held upstream connection may wait unused before it is closed instead of
/// reused: under the 5 s keep-alive of Node's and uvicorn's servers, the shortest common
/// defaults, so the gateway does not send a request on a connection the upstream is closing
/// (which nginx's 60 s `keepalive_timeout` leaves to chance). Under load a connection is
/// reused long before this.
const UPSTREAM_IDLE: Duration = Duration::from_secs(4);

/// How long WebSocket tunnels stay open once shutdown begins (Traefik's default grace,
/// inside Kubernetes' 30 s before SIGKILL): their clients get time to finish and reconnect
/// elsewhere, and a tunnel left open cannot hold the process up for ever.
const TUNNEL_GRACE: Duration = Duration::from_secs(10);

/// How many threads accept and serve connections: `TOKIO_WORKER_THREADS` when set, else
/// one per CPU.
fn io_threads() -> usize {
    std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
        .max(1)
}

/// Serves `gateway` on `port` until Ctrl-C or SIGTERM, then stops accepting, lets each
/// connection finish the request it is answering, and returns once all have closed.
///
/// Each I/O thread runs its own single-threaded runtime, the way nginx runs its workers:
/// a connection and the upstream connections it holds stay on one thread, so a forward
/// never wakes another thread or waits for one. The caller's runtime accepts and hands
/// each new connection to the thread serving the fewest (an even spread, where hashing
/// connections to per-thread sockets leaves some threads with more and a worse p99); it
/// also keeps the gateway's background work (health checks, limit stores).
pub(crate) async fn serve(name: &str, port: u16, gateway: Gateway) -> ExitCode {
    let listener = match TcpListener::bind(("0.0.0.0", port)).await {
        Ok(listener) => listener,
        Err(why) => {
            log::error(
                name,
                "cannot listen",
                &[("port", port.into()), ("error", why.to_string().into())],
            );
            return ExitCode::FAILURE;
        }
    };
    log::info(
        name,
        "listening",
        &[
            ("port", port.into()),
            ("backends", gateway.described().to_vec().into()),
        ],
    );
    let drain = Drain {
        threads: io_threads(),
        tunnel_grace: TUNNEL_GRACE,
        upstream_idle: UPSTREAM_IDLE,
    };
    run(
        name,
        listener,
        gateway,
        drain,
        crate::http::shutdown::signal(),
    )
    .await
}

/// How [`run`] spreads its connections, keeps their upstream ones and ends them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drain {
    /// I/O threads.
    pub(crate) threads: usize,
    /// How long WebSocket tunnels stay open after `stop`.
    pub(crate) tunnel_grace: Duration,
    /// How long a held upstream connection may wait unused.
    pub(crate) upstream_idle: Duration,
}

/// Accepts on `listener` and serves on `drain.threads` I/O threads until `stop`
/// completes, then drains as [`serve`] says; WebSocket tunnels are closed
/// `drain.tunnel_grace` after `stop` if their ends have not closed them first.
pub(crate) async fn run(
    name: &str,
    listener: TcpListener,
    gateway: Gateway,
    drain: Drain,
    stop: impl Future<Output = ()>,
) -> ExitCode {
    let shutdown = crate::http::shutdown::Shutdown::new();
    let mut workers = Vec::new();
    for i in 0..drain.threads.max(1) {
        let (handoff, streams) = tokio::sync::mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let (gateway, stop, counted) = (gateway.clone(), shutdown.clone(), open.clone());
        let thread = std::thread::Builder::new()
            .name(format!("{name}-io-{i}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let served = Served::new(stop, counted, drain);
                runtime.block_on(serve_handed(streams, gateway, served));
                Ok::<(), std::io::Error>(())
            });
        match thread {
            Ok(thread) => workers.push((thread, handoff, open)),
            Err(why) => {
                log::error(name, "cannot start", &[("error", why.to_string().into())]);
                return ExitCode::FAILURE;
            }
        }
    }
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted.and_then(|(s, peer)| Ok((s.into_std()?, peer))) {
                Ok(stream) => {
                    let least = workers.iter().min_by_key(|(_, _, open)| open.load(Ordering::Relaxed));
                    if let Some((_, handoff, open)) = least {
                        open.fetch_add(1, Ordering::Relaxed);
                        let _ = handoff.send(stream);
                    }
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
    let threads: Vec<_> = workers.into_iter().map(|(thread, _, _)| thread).collect();
    let joined = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("panicked")))
            })
            .find_map(Result::err)
    })
    .await;
    match joined {
        Ok(None) => {
            log::info(name, "stopped", &[]);
            ExitCode::SUCCESS
        }
        Ok(Some(why)) => {
            log::error(name, "server failed", &[("error", why.to_string().into())]);
            ExitCode::FAILURE
        }
        Err(why) => {
            log::error(name, "server failed", &[("error", why.to_string().into())]);
            ExitCode::FAILURE
        }
    }
}

/// A connection accepted on another runtime, with its peer.
type Handed = (std::net::TcpStream, SocketAddr);

/// Serves the connections handed to this I/O thread until shutdown, then waits for them,
/// and the WebSocket tunnels they became, to close.
async fn serve_handed(
    mut streams: tokio::sync::mpsc::UnboundedReceiver<Handed>,
    gateway: Gateway,
    served: Served,
) {
    loop {
        tokio::select! {
            () = served.shutdown.wait() => {
                served.stopped_at.get_or_init(tokio::time::Instant::now);
                break;
            }
            handed = streams.recv() => match handed {
                Some((stream, peer)) => {
                    // The accept loop counted it when handing it over.
                    let hold = Hold::counted(&served);
                    if let Ok(stream) = TcpStream::from_std(stream) {
                        let lease = TunnelLease::new(&served);
                        let upstreams = ConnUpstreams::new(served.upstream_idle);
                        let task = connection(stream, peer, gateway.clone(), lease, upstreams);
                        tokio::spawn(async move {
                            task.await;
                            drop(hold);
                        });
                    }
                }
                None => break,
            },
        }
    }
    served.drain().await;
}

/// The connection and tunnel tasks of one I/O thread.
struct Served {
    shutdown: crate::http::shutdown::Shutdown,
    /// How many connections and tunnels this thread serves (the accept loop reads it).
    count: Arc<AtomicUsize>,
    tunnel_grace: Duration,
    upstream_idle: Duration,
    /// When shutdown began, as the first to notice saw it: the grace counts from there.
    stopped_at: Arc<OnceLock<tokio::time::Instant>>,
    // Every task holds a sender; `recv` answers `None` once all have ended.
    open_tx: tokio::sync::mpsc::Sender<()>,
    open_rx: tokio::sync::mpsc::Receiver<()>,
}

impl Served {
    fn new(
        shutdown: crate::http::shutdown::Shutdown,
        count: Arc<AtomicUsize>,
        drain: Drain,
    ) -> Self {
        let (open_tx, open_rx) = tokio::sync::mpsc::channel(1);
        Self {
            shutdown,
            count,
            tunnel_grace: drain.tunnel_grace,
            upstream_idle: drain.upstream_idle,
            stopped_at: Arc::default(),
            open_tx,
            open_rx,
        }
    }

    /// Waits until every connection and tunnel has closed.
    async fn drain(self) {
        let Self {
            open_tx,
            mut open_rx,
            ..
        } = self;
        drop(open_tx);
        let _ = open_rx.recv().await;
    }
}

/// One task's place among an I/O thread's open connections: counted while it lives, and
/// waited for by [`Served::drain`].
pub(crate) struct Hold {
    count: Arc<AtomicUsize>,
    _open: tokio::sync::mpsc::Sender<()>,
}

impl Hold {
    /// The place of a connection the accept loop has already counted.
    fn counted(served: &Served) -> Self {
        Self {
            count: served.count.clone(),
            _open: served.open_tx.clone(),
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What lets a WebSocket tunnel opened on a connection outlive it: a place of its own
/// among the thread's connections, and when to close at shutdown. Reaches the handshake
/// through the request's extensions.
#[derive(Clone)]
pub(crate) struct TunnelLease {
    count: Arc<AtomicUsize>,
    open: tokio::sync::mpsc::Sender<()>,
    shutdown: crate::http::shutdown::Shutdown,
    grace: Duration,
    stopped_at: Arc<OnceLock<tokio::time::Instant>>,
}

impl TunnelLease {
    fn new(served: &Served) -> Self {
        Self {
            count: served.count.clone(),
            open: served.open_tx.clone(),
            shutdown: served.shutdown.clone(),
            grace: served.tunnel_grace,
            stopped_at: served.stopped_at.clone(),
        }
    }

    /// A new place, counted from now on.
    pub(crate) fn hold(&self) -> Hold {
        self.count.fetch_add(1, Ordering::Relaxed);
        Hold {
            count: self.count.clone(),
            _open: self.open.clone(),
        }
    }

    /// Completes `grace` after shutdown began, however late it is first awaited.
    pub(crate) async fn expired(&self) {
        self.shutdown.wait().await;
        let began = *self.stopped_at.get_or_init(tokio::time::Instant::now);
        tokio::time::sleep_until(began + self.grace).await;
    }
}

/// Serves one inbound connection (with upgrades, for WebSocket routes), forwarding on the
/// upstream connections it holds.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    gateway: Gateway,
    lease: TunnelLease,
    upstreams: ConnUpstreams,
) {
    let shutdown = lease.shutdown.clone();
    let _ = stream.set_nodelay(true);
    let upstreams = Arc::new(upstreams);
    let held = upstreams.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let gateway = gateway.clone();
        let upstreams = held.clone();
        let lease = lease.clone();
        async move {
            let mut request = request.map(Body::new);
            let extensions = request.extensions_mut();
            extensions.insert(axum::extract::ConnectInfo(peer));
            extensions.insert(lease);
            let response = gateway
                .handle_via(request, super::upstream::Transport::Held(&upstreams))
                .await;
            Ok::<Response<Body>, Infallible>(response)
        }
    });
    let served = crate::http::server::http1()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(served);
    let drive = upstreams.drive();
    tokio::pin!(drive);
    tokio::select! {
        biased;
        _ = served.as_mut() => {}
        () = shutdown.wait() => {
            served.as_mut().graceful_shutdown();
            tokio::select! {
                biased;
                _ = served => {}
                () = drive => {}
            }
        }
        () = drive.as_mut() => {}
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
