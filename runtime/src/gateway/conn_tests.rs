//! The server loop over real sockets: upstream connections held per inbound connection,
//! replaced when the upstream closes them or they sit idle too long, the reused deadline, graceful shutdown and the
//! shared listening port.

use super::*;
use crate::http::shutdown::Shutdown;
use crate::limit::MemoryStore;
use crate::spec::{BackendSpec, GatewaySpec, RouteSpec};
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;

/// An upstream answering with the port its peer (the gateway) connected from; `/close`
/// also closes the connection after answering, `/slow` waits 2 s.
async fn upstream() -> String {
    let app = axum::Router::new().fallback(
        |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request<Body>| async move {
            let path = req.uri().path().to_string();
            if path.starts_with("/base/") {
                return Response::new(Body::from(path));
            }
            if path == "/slow" {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let mut response = Response::new(Body::from(peer.port().to_string()));
            if path == "/close" {
                response
                    .headers_mut()
                    .insert("connection", axum::http::HeaderValue::from_static("close"));
            }
            response
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    format!("http://{addr}")
}

fn spec(url: &str) -> GatewaySpec {
    let route = |path: &str| RouteSpec {
        method: "GET".into(),
        path: path.into(),
        to: "up".into(),
        auth: "none".into(),
        permissions: vec![],
        limits: vec![],
        timeout_ms: 300,
        retry: None,
        breaker: None,
        cache: None,
        set_headers: vec![],
        strip_query: vec![],
        critical: false,
        websocket: false,
    };
    GatewaySpec {
        name: "edge".into(),
        port: 0,
        tls: false,
        body_limit: 0,
        compression: false,
        request_id: true,
        limits: vec![],
        auth: vec![],
        cors: None,
        headers: None,
        routes: vec![
            RouteSpec {
                websocket: true,
                ..route("/ws/*")
            },
            // No timeout of its own: a handshake there waits as long as the gateway lets it.
            RouteSpec {
                websocket: true,
                timeout_ms: 0,
                ..route("/held/*")
            },
            route("/*"),
        ],
        canaries: vec![],
        versioning: None,
        cdn: None,
        limit_specs: vec![],
        backends: vec![BackendSpec {
            name: "up".into(),
            url_env: "ARCHC_TEST_UNSET_CONN_UP".into(),
            default_url: url.into(),
            balance: "round_robin".into(),
            weights: vec![],
            health_path: "/health".into(),
            health_interval_ms: 60_000,
            health_timeout_ms: 1000,
            unhealthy_after: 3,
            healthy_after: 2,
        }],
        shed: None,
        redis_cluster: false,
    }
}

/// A WebSocket upstream: a handshake to `/ws/echo` is answered 101, then every byte is
/// echoed; `/ws/refuse` answers 403; `/held/never` never answers; a request without the
/// upgrade headers answers 426.
async fn websocket_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(|mut req: Request<Incoming>| async move {
                if req.uri().path() == "/held/never" {
                    std::future::pending::<()>().await;
                }
                let status = match req.uri().path() {
                    "/ws/refuse" => 403,
                    _ if req.headers().get("upgrade").is_none() => 426,
                    _ => 101,
                };
                if status == 101 {
                    let upgrade = hyper::upgrade::on(&mut req);
                    tokio::spawn(async move {
                        let Ok(upgraded) = upgrade.await else { return };
                        let (mut read, mut write) = tokio::io::split(TokioIo::new(upgraded));
                        let _ = tokio::io::copy(&mut read, &mut write).await;
                    });
                }
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                if status == 101 {
                    let h = response.headers_mut();
                    h.insert("upgrade", axum::http::HeaderValue::from_static("websocket"));
                    h.insert(
                        "connection",
                        axum::http::HeaderValue::from_static("upgrade"),
                    );
                    h.insert(
                        "sec-websocket-accept",
                        axum::http::HeaderValue::from_static("k"),
                    );
                }
                Ok::<_, Infallible>(response)
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades(),
            );
        }
    });
    format!("http://{addr}")
}

/// How long tunnels outlive shutdown in these tests.
const TUNNEL_GRACE_IN_TESTS: Duration = Duration::from_millis(600);

/// A running gateway: its address, the switch that stops it and its task.
type Running = (SocketAddr, Shutdown, tokio::task::JoinHandle<ExitCode>);

/// A gateway in front of a fresh upstream, served by [`run`] on a loopback port.
async fn running() -> Running {
    running_before(&upstream().await).await
}

/// A gateway in front of `up`, served by [`run`] on two I/O threads on a loopback port.
async fn running_before(up: &str) -> Running {
    running_with(up, UPSTREAM_IDLE).await
}

/// [`running_before`], holding upstream connections for `upstream_idle` unused.
async fn running_with(up: &str, upstream_idle: Duration) -> Running {
    let gateway =
        super::super::build_with(spec(up), Arc::new(MemoryStore::new()), vec![]).expect("builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let drain = Drain {
            threads: 2,
            tunnel_grace: TUNNEL_GRACE_IN_TESTS,
            upstream_idle,
        };
        run("edge", listener, gateway, drain, async move {
            stop.wait().await
        })
        .await
    });
    (addr, shutdown, task)
}

/// One client connection to the gateway.
async fn client(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// `GET path` on `sender`: the status and body.
async fn get(sender: &mut SendRequest<Full<Bytes>>, path: &str) -> (u16, String) {
    sender.ready().await.unwrap();
    let request = Request::get(path).body(Full::new(Bytes::new())).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn each_inbound_connection_holds_its_own_upstream_connection() {
    let (addr, _shutdown, _task) = running().await;
    let mut first = client(addr).await;
    let (status, port) = get(&mut first, "/a").await;
    assert_eq!(status, 200);
    for path in ["/b", "/c?x=1"] {
        assert_eq!(get(&mut first, path).await, (200, port.clone()), "{path}");
    }
    let mut second = client(addr).await;
    let (status, other) = get(&mut second, "/a").await;
    assert_eq!(status, 200);
    assert_ne!(
        other, port,
        "a second inbound connection gets its own upstream one"
    );
    assert_eq!(get(&mut first, "/d").await, (200, port));
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_replaced() {
    let (addr, _shutdown, _task) = running().await;
    let mut sender = client(addr).await;
    let (status, closed) = get(&mut sender, "/close").await;
    assert_eq!(status, 200);
    // Let the gateway see the close before the next request.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, port) = get(&mut sender, "/after").await;
    assert_eq!(status, 200);
    assert_ne!(port, closed, "the closed upstream connection is not reused");
}

#[tokio::test]
async fn a_connection_idle_past_the_limit_is_closed_not_reused() {
    let (addr, _shutdown, _task) =
        running_with(&upstream().await, Duration::from_millis(300)).await;
    let mut sender = client(addr).await;
    let (status, first) = get(&mut sender, "/a").await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&mut sender, "/b").await,
        (200, first.clone()),
        "fresh: reused"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, later) = get(&mut sender, "/c").await;
    assert_eq!(status, 200);
    assert_ne!(
        later, first,
        "idle past the limit: a new upstream connection"
    );
    assert_eq!(
        get(&mut sender, "/d").await,
        (200, later),
        "and that one is held"
    );
}

#[tokio::test]
async fn the_reused_deadline_fires_on_every_slow_request() {
    let (addr, _shutdown, _task) = running().await;
    let mut sender = client(addr).await;
    for _ in 0..2 {
        let started = std::time::Instant::now();
        assert_eq!(get(&mut sender, "/slow").await.0, 504);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(get(&mut sender, "/fast").await.0, 200);
    }
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_ends_the_loop() {
    let (addr, shutdown, task) = running().await;
    let mut sender = client(addr).await;
    assert_eq!(get(&mut sender, "/a").await.0, 200);
    shutdown.trigger();
    let code = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the loop ends once its connections close")
        .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_port_another_socket_holds_is_refused_at_start_up() {
    let holder = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = holder.local_addr().unwrap().port();
    let up = upstream().await;
    let gateway =
        super::super::build_with(spec(&up), Arc::new(MemoryStore::new()), vec![]).expect("builds");
    let code = tokio::time::timeout(Duration::from_secs(5), serve("edge", port, gateway))
        .await
        .expect("gives up at once");
    assert_eq!(code, ExitCode::FAILURE);
}

/// Writes a raw request on a new connection and reads the answer's head.
async fn raw(addr: SocketAddr, request: &str) -> (TcpStream, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
            .await
            .expect("an answer")
            .unwrap();
        assert_eq!(n, 1, "closed after {:?}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    (stream, String::from_utf8_lossy(&head).to_lowercase())
}

const HANDSHAKE: &str = "GET /ws/echo HTTP/1.1\r\nhost: edge\r\nupgrade: websocket\r\n\
    connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    sec-websocket-version: 13\r\n\r\n";

#[tokio::test]
async fn websocket_routes_tunnel_bytes_both_ways_after_the_upgrade() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, _shutdown, _task) = running_before(&websocket_upstream().await).await;
    let (mut stream, head) = raw(addr, HANDSHAKE).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(head.contains("sec-websocket-accept: k"), "{head}");
    for message in [&b"hello"[..], &b"second frame"[..]] {
        stream.write_all(message).await.unwrap();
        let mut echoed = vec![0u8; message.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut echoed))
            .await
            .expect("echoed")
            .unwrap();
        assert_eq!(echoed, message);
    }
}

/// Writes `message` on `stream` and reads it back.
async fn echoes(stream: &mut TcpStream, message: &[u8]) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.write_all(message).await.is_err() {
        return false;
    }
    let mut echoed = vec![0u8; message.len()];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut echoed));
    matches!(read.await, Ok(Ok(_))) && echoed == message
}

#[tokio::test]
async fn shutdown_waits_for_tunnels_for_their_grace_then_closes_them() {
    use tokio::io::AsyncReadExt;
    let (addr, shutdown, task) = running_before(&websocket_upstream().await).await;
    let (mut stream, head) = raw(addr, HANDSHAKE).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    let started = tokio::time::Instant::now();
    shutdown.trigger();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The connection has become a tunnel; it is still served, and the gateway waits.
    assert!(echoes(&mut stream, b"still here").await);
    assert!(!task.is_finished(), "the gateway waits for the tunnel");
    let ended = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops once the grace is over")
        .expect("task");
    assert_eq!(ended, ExitCode::SUCCESS);
    assert!(
        started.elapsed() >= TUNNEL_GRACE_IN_TESTS,
        "{:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest));
    assert!(closed.await.is_ok(), "the tunnel is closed");
}

#[tokio::test]
async fn a_handshake_waiting_at_shutdown_is_answered_503_when_the_grace_ends() {
    let (addr, shutdown, task) = running_before(&websocket_upstream().await).await;
    let waiting =
        tokio::spawn(async move { raw(addr, &HANDSHAKE.replace("/ws/echo", "/held/never")).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = tokio::time::Instant::now();
    shutdown.trigger();
    let (_stream, head) = waiting.await.expect("answered");
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert!(
        started.elapsed() >= TUNNEL_GRACE_IN_TESTS,
        "{:?}",
        started.elapsed()
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops once the grace is over")
        .expect("task");
    assert_eq!(ended, ExitCode::SUCCESS);
}

#[tokio::test]
async fn refused_handshakes_and_plain_routes_are_not_upgraded() {
    let (addr, _shutdown, _task) = running_before(&websocket_upstream().await).await;
    let refused = HANDSHAKE.replace("/ws/echo", "/ws/refuse");
    let (_stream, head) = raw(addr, &refused).await;
    assert!(head.starts_with("http/1.1 403"), "{head}");
    // `/other` is not a websocket route: the upgrade headers are not forwarded.
    let plain = HANDSHAKE.replace("/ws/echo", "/other");
    let (_stream, head) = raw(addr, &plain).await;
    assert!(head.starts_with("http/1.1 426"), "{head}");
}

#[tokio::test]
async fn the_base_url_path_prefixes_every_forwarded_path() {
    let up = upstream().await;
    let (addr, _shutdown, _task) = running_before(&format!("{up}/base/")).await;
    let mut sender = client(addr).await;
    assert_eq!(
        get(&mut sender, "/x?y=1").await,
        (200, "/base/x".to_string())
    );
}
