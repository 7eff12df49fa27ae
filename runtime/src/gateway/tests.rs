//! Unit tests of the gateway, driven in process against real upstreams on loopback.

use super::*;
use crate::spec::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;

/// An upstream on a free loopback port: `/slow` sleeps 2s, `/fail` answers 500, `/big`
/// answers 4 KiB of JSON, anything else echoes the method, path and a few headers.
async fn upstream() -> String {
    let app = axum::Router::new().fallback(|req: Request<Body>| async move {
        let path = req.uri().path().to_string();
        if path == "/slow" {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        if path == "/fail" {
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        if path == "/big" {
            let body = format!("{{\"data\":\"{}\"}}", "x".repeat(4096));
            return ([("content-type", "application/json")], body).into_response();
        }
        let h = |n: &str| {
            req.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        axum::Json(serde_json::json!({
            "method": req.method().as_str(),
            "uri": req.uri().to_string(),
            "request_id": h("x-request-id"),
            "user": h("x-user-id"),
            "service": h("x-service-name"),
            "proxy_authorization": h("proxy-authorization"),
            "te": h("te"),
            "kept": h("x-kept"),
            "host": h("host"),
        }))
        .into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

use axum::response::IntoResponse;

/// A loopback port nothing listens on.
async fn closed_port() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn backend(name: &str, url: &str) -> BackendSpec {
    BackendSpec {
        name: name.into(),
        url_env: format!("ARCHC_TEST_UNSET_{}", name.to_uppercase()),
        default_url: url.into(),
        balance: "round_robin".into(),
        weights: vec![],
        health_path: "/health".into(),
        health_interval_ms: 60_000,
        health_timeout_ms: 1000,
        unhealthy_after: 3,
        healthy_after: 2,
    }
}

fn route(method: &str, path: &str, to: &str) -> RouteSpec {
    RouteSpec {
        method: method.into(),
        path: path.into(),
        to: to.into(),
        auth: "none".into(),
        permissions: vec![],
        limits: vec![],
        timeout_ms: 500,
        retry: None,
        breaker: None,
        cache: None,
        set_headers: vec![],
        strip_query: vec![],
        critical: false,
        websocket: false,
    }
}

fn spec(routes: Vec<RouteSpec>, backends: Vec<BackendSpec>) -> GatewaySpec {
    GatewaySpec {
        name: "edge".into(),
        port: 0,
        tls: false,
        body_limit: 64,
        compression: true,
        request_id: true,
        limits: vec![],
        auth: vec![],
        cors: None,
        headers: Some(SecurityHeadersSpec {
            hsts: true,
            csp: Some("default-src 'self'".into()),
            frame: "DENY".into(),
            nosniff: true,
        }),
        routes,
        canaries: vec![],
        versioning: None,
        cdn: None,
        limit_specs: vec![],
        backends,
        shed: None,
        redis_cluster: false,
    }
}

async fn gateway(spec: GatewaySpec) -> Gateway {
    build_with(spec, Arc::new(MemoryStore::new()), vec![]).expect("builds")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

async fn body(r: Response) -> String {
    String::from_utf8_lossy(&r.into_body().collect().await.unwrap().to_bytes()).into_owned()
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn first_matching_route_wins_and_unrouted_paths_are_404_or_405() {
    let up = upstream().await;
    let mut special = route("GET", "/items/special", "a");
    special.set_headers = vec![("X-Service-Name".into(), "special".into())];
    let g = gateway(spec(
        vec![
            special,
            route("GET", "/items/:id", "a"),
            route("*", "/files/*", "a"),
        ],
        vec![backend("a", &up)],
    ))
    .await;
    let r = g.handle(get("/items/special?x=1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    let id = header(&r, "x-request-id").to_string();
    let text = body(r).await;
    assert!(text.contains("\"service\":\"special\""), "{text}");
    assert!(text.contains("\"uri\":\"/items/special?x=1\""), "{text}");
    assert!(text.contains(&id) && !id.is_empty(), "{text} {id}");
    let r = g.handle(get("/items/7")).await;
    assert!(body(r).await.contains("\"service\":\"\""));
    let r = g
        .handle(Request::delete("/files/a/b").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = g
        .handle(Request::post("/items/7").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        g.handle(get("/nothing")).await.status(),
        StatusCode::NOT_FOUND
    );
    let metrics = body(g.handle(get("/metrics")).await).await;
    assert!(
        metrics.contains(
            "http_requests_total{service=\"edge\",endpoint=\"GET /items/:id\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert_eq!(g.handle(get("/health")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_failing_upstream_opens_the_breaker_and_a_slow_one_times_out() {
    let down = closed_port().await;
    let up = upstream().await;
    let mut failing = route("GET", "/down", "down");
    failing.breaker = Some(BreakerSpec {
        failures: 2,
        reset_ms: 60_000,
        half_open: 1,
    });
    let mut slow = route("GET", "/slow", "up");
    slow.timeout_ms = 100;
    let g = gateway(spec(
        vec![failing, slow],
        vec![backend("down", &down), backend("up", &up)],
    ))
    .await;
    assert_eq!(
        g.handle(get("/down")).await.status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        g.handle(get("/down")).await.status(),
        StatusCode::BAD_GATEWAY
    );
    let r = g.handle(get("/down")).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
    assert!(body(r).await.contains("circuit_open"));
    let metrics = body(g.handle(get("/metrics")).await).await;
    assert!(
        metrics.contains("breaker_open{") && metrics.contains("} 1"),
        "{metrics}"
    );
    let r = g.handle(get("/slow")).await;
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn retries_reach_a_healthy_instance_for_idempotent_requests() {
    let down = closed_port().await;
    let up = upstream().await;
    let mut b = backend("pool", &down);
    let env = "ARCHC_TEST_POOL_URLS";
    std::env::set_var(env, format!("{down},{up}"));
    b.url_env = env.into();
    let mut r = route("GET", "/x", "pool");
    r.retry = Some(RetrySpec {
        attempts: 1,
        backoff: BackoffSpec::Fixed { base_ms: 1 },
        jitter: 0.0,
        statuses: vec![502],
        on_timeout: false,
        on_connect: true,
    });
    let g = gateway(spec(vec![r], vec![b])).await;
    for _ in 0..4 {
        assert_eq!(g.handle(get("/x")).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn limits_refuse_with_429_retry_after_and_ratelimit_headers() {
    let up = upstream().await;
    let mut s = spec(vec![route("GET", "/x", "a")], vec![backend("a", &up)]);
    s.limits = vec!["two".into()];
    s.limit_specs = vec![LimitSpec {
        name: "two".into(),
        rate: RateSpec {
            count: 2,
            per_ms: 60_000,
        },
        key: LimitKeySpec::Global,
        algorithm: AlgorithmSpec::FixedWindow,
        burst: 0,
        block_ms: 0,
        distributed: false,
        cost: 1,
        tiers: vec![],
        countries: vec![],
        allow: vec![],
        deny: vec![],
        adaptive: None,
    }];
    let g = gateway(s).await;
    let first = g.handle(get("/x")).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(header(&first, "ratelimit-limit"), "2");
    assert_eq!(g.handle(get("/x")).await.status(), StatusCode::OK);
    let r = g.handle(get("/x")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(header(&r, "ratelimit-remaining"), "0");
}

fn jwt(secret: &str, claims: serde_json::Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let head = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64(claims.to_string().as_bytes());
    let signed = format!("{head}.{payload}");
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(secret.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, signed.as_bytes());
    let sig = b64(&hmac::Mac::finalize(mac).into_bytes());
    format!("{signed}.{sig}")
}

#[tokio::test]
async fn jwt_routes_check_signature_expiry_issuer_audience_and_permissions() {
    let up = upstream().await;
    std::env::set_var("ARCHC_TEST_JWT_SECRET", "s3cret");
    let mut s = spec(
        vec![
            RouteSpec {
                auth: "jwt".into(),
                permissions: vec!["orders:write".into()],
                ..route("POST", "/orders", "a")
            },
            RouteSpec {
                auth: "optional".into(),
                ..route("GET", "/open", "a")
            },
        ],
        vec![backend("a", &up)],
    );
    s.auth = vec![AuthSpec {
        kind: "jwt".into(),
        issuer: Some("iss".into()),
        audience: Some("aud".into()),
        secret_env: Some("ARCHC_TEST_JWT_SECRET".into()),
        header: None,
        window_ms: None,
    }];
    let g = gateway(s).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let call = |token: String| {
        Request::post("/orders")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let good = serde_json::json!({"sub": "u1", "iss": "iss", "aud": ["aud"], "exp": now + 60, "scope": "orders:write"});
    let r = g.handle(call(jwt("s3cret", good.clone()))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body(r).await.contains("\"user\":\"u1\""));
    let cases = [
        (jwt("wrong", good.clone()), StatusCode::UNAUTHORIZED),
        (
            jwt(
                "s3cret",
                serde_json::json!({"sub": "u1", "iss": "iss", "aud": "aud", "exp": now - 1, "scope": "orders:write"}),
            ),
            StatusCode::UNAUTHORIZED,
        ),
        (
            jwt(
                "s3cret",
                serde_json::json!({"sub": "u1", "iss": "other", "aud": "aud", "scope": "orders:write"}),
            ),
            StatusCode::UNAUTHORIZED,
        ),
        (
            jwt(
                "s3cret",
                serde_json::json!({"sub": "u1", "iss": "iss", "aud": "x", "scope": "orders:write"}),
            ),
            StatusCode::UNAUTHORIZED,
        ),
        (
            jwt(
                "s3cret",
                serde_json::json!({"sub": "u1", "iss": "iss", "aud": "aud", "nbf": now + 600, "scope": "orders:write"}),
            ),
            StatusCode::UNAUTHORIZED,
        ),
        (
            jwt(
                "s3cret",
                serde_json::json!({"sub": "u1", "iss": "iss", "aud": "aud", "scope": "orders:read"}),
            ),
            StatusCode::FORBIDDEN,
        ),
        ("not-a-token".to_string(), StatusCode::UNAUTHORIZED),
    ];
    for (token, want) in cases {
        assert_eq!(
            g.handle(call(token.clone())).await.status(),
            want,
            "{token}"
        );
    }
    let r = g
        .handle(Request::post("/orders").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "www-authenticate"), "Bearer");
    assert_eq!(g.handle(get("/open")).await.status(), StatusCode::OK);
}

#[test]
fn hmac_signatures_have_a_replay_window_and_api_keys_a_list() {
    let hmac = Scheme::new(
        AuthSpec {
            kind: "hmac".into(),
            issuer: None,
            audience: None,
            secret_env: None,
            header: None,
            window_ms: Some(300_000),
        },
        Some("k1".into()),
    );
    let body = br#"{"a":1}"#;
    let sig = sign_hex(b"k1", b"1000.{\"a\":1}");
    assert!(hmac.verify_hmac(&sig, "1000", body, 1100).is_ok());
    assert!(
        hmac.verify_hmac(&sig, "1000", body, 1100).is_err(),
        "a replay is refused"
    );
    let sig2 = sign_hex(b"k1", b"2000.{\"a\":1}");
    assert!(
        hmac.verify_hmac(&sig2, "2000", body, 2400).is_err(),
        "outside the window"
    );
    assert!(
        hmac.verify_hmac(&sig2, "2000", b"{}", 2000).is_err(),
        "body changed"
    );
    let keys = Scheme::new(
        AuthSpec {
            kind: "api_key".into(),
            issuer: None,
            audience: None,
            secret_env: None,
            header: Some("X-API-Key".into()),
            window_ms: None,
        },
        Some("abc:pro, def".into()),
    );
    let mut h = axum::http::HeaderMap::new();
    h.insert("x-api-key", "abc".parse().unwrap());
    let id = keys.verify(&h, b"").expect("known key");
    assert_eq!(id.plan.as_deref(), Some("pro"));
    h.insert("x-api-key", "zzz".parse().unwrap());
    assert!(matches!(
        keys.verify(&h, b""),
        Err(AuthError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_cors_preflights_are_answered() {
    let up = upstream().await;
    let mut s = spec(vec![route("POST", "/x", "a")], vec![backend("a", &up)]);
    s.cors = Some(CorsSpec {
        origins: vec!["https://app.example".into()],
        methods: vec!["GET".into(), "POST".into()],
        headers: vec!["Content-Type".into()],
        credentials: true,
    });
    let g = gateway(s).await;
    let r = g
        .handle(
            Request::post("/x")
                .body(Body::from(vec![b'a'; 65]))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = g
        .handle(
            Request::post("/x")
                .body(Body::from(vec![b'a'; 64]))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let preflight = |origin: &str| {
        Request::options("/x")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let r = g.handle(preflight("https://app.example")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        "https://app.example"
    );
    assert_eq!(header(&r, "access-control-allow-credentials"), "true");
    assert_eq!(
        g.handle(preflight("https://evil.example")).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn responses_are_cached_per_vary_header_and_large_ones_gzipped() {
    let up = upstream().await;
    let mut cached = route("GET", "/c", "a");
    cached.cache = Some(RouteCacheSpec {
        ttl_ms: 60_000,
        vary: vec!["Accept-Language".into()],
        per_user: false,
    });
    let g = gateway(spec(
        vec![cached, route("GET", "/big", "a")],
        vec![backend("a", &up)],
    ))
    .await;
    let lang = |l: &str| {
        Request::get("/c")
            .header("accept-language", l)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(header(&g.handle(lang("en")).await, "x-cache"), "MISS");
    assert_eq!(header(&g.handle(lang("en")).await, "x-cache"), "HIT");
    assert_eq!(header(&g.handle(lang("fr")).await, "x-cache"), "MISS");
    let r = g
        .handle(
            Request::get("/big")
                .header("accept-encoding", "gzip, br")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(header(&r, "content-encoding"), "gzip");
    let zipped = r.into_body().collect().await.unwrap().to_bytes();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut text)
        .unwrap();
    assert!(text.starts_with("{\"data\":\"xxx"), "{text}");
    let plain = g.handle(get("/big")).await;
    assert_eq!(header(&plain, "content-encoding"), "");
}

/// `users_rc` as the cookie-pinned canary of `users`, taking `weight` of new clients.
fn sticky_canary(weight: f64) -> CanarySpec {
    CanarySpec {
        from: "users".into(),
        to: "users_rc".into(),
        weight,
        sticky: "cookie".into(),
    }
}

#[tokio::test]
async fn canary_headers_force_the_canary_backend_and_versions_mark_deprecation() {
    let stable = upstream().await;
    let down = closed_port().await;
    let mut s = spec(
        vec![route("GET", "/api/v1/users", "users")],
        vec![backend("users", &stable), backend("users_rc", &down)],
    );
    s.canaries = vec![sticky_canary(0.0)];
    s.versioning = Some(VersioningSpec {
        by: "path".into(),
        header: Some("API-Version".into()),
        versions: vec![],
        default: None,
        deprecated: vec!["v1".into()],
    });
    let g = gateway(s).await;
    let r = g.handle(get("/api/v1/users")).await;
    assert_eq!(r.status(), StatusCode::OK, "weight 0: stable");
    assert_eq!(header(&r, "deprecation"), "true");
    assert!(header(&r, "set-cookie").starts_with("canary_users=stable"));
    let forced = Request::get("/api/v1/users")
        .header("x-canary", "1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        g.handle(forced).await.status(),
        StatusCode::BAD_GATEWAY,
        "the canary is down"
    );
}

#[tokio::test]
async fn hop_by_hop_headers_stop_at_the_gateway_and_the_others_go_on() {
    let up = upstream().await;
    let g = gateway(spec(
        vec![route("GET", "/api/users", "users")],
        vec![backend("users", &up)],
    ))
    .await;
    let request = Request::get("/api/users")
        .header("host", "gateway.example")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("te", "trailers")
        .header("keep-alive", "timeout=5")
        .header("x-kept", "yes")
        .body(Body::empty())
        .unwrap();
    let r = g.handle(request).await;
    assert_eq!(r.status(), StatusCode::OK);
    let echoed: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    assert_eq!(echoed["proxy_authorization"], "");
    assert_eq!(echoed["te"], "");
    assert_eq!(echoed["kept"], "yes");
    let host = up.trim_start_matches("http://");
    assert_eq!(echoed["host"], host, "the instance's own host");
}

#[tokio::test]
async fn sticky_canary_cookies_pin_a_new_client_once() {
    let (stable, canary) = (upstream().await, upstream().await);
    let mut s = spec(
        vec![route("GET", "/api/users", "users")],
        vec![backend("users", &stable), backend("users_rc", &canary)],
    );
    s.canaries = vec![sticky_canary(1.0)];
    let g = gateway(s).await;
    let r = g.handle(get("/api/users")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "set-cookie"),
        "canary_users=canary; Path=/; HttpOnly"
    );
    let pinned = Request::get("/api/users")
        .header("cookie", "theme=dark; canary_users=stable")
        .body(Body::empty())
        .unwrap();
    let r = g.handle(pinned).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("set-cookie").is_none(), "already pinned");
}

#[test]
fn signed_urls_and_geo_rules_are_enforced() {
    let key = b"cdnkey";
    let sig = sign_hex(key, b"/a/b?expires=2000");
    assert!(
        edge::verify_signed_url(key, "/a/b", &format!("expires=2000&signature={sig}"), 1000)
            .is_ok()
    );
    assert!(
        edge::verify_signed_url(key, "/a/b", &format!("expires=2000&signature={sig}"), 3000)
            .is_err()
    );
    assert!(
        edge::verify_signed_url(key, "/a/c", &format!("expires=2000&signature={sig}"), 1000)
            .is_err()
    );
    assert!(edge::verify_signed_url(key, "/a/b", "", 1000).is_err());
    let cdn = CdnSpec {
        name: "c".into(),
        behaviors: vec![CdnBehaviorSpec {
            pattern: "/assets/*".into(),
            ttl_ms: 3_600_000,
            max_ttl_ms: 3_600_000,
            immutable: true,
            private: false,
            stale_while_revalidate_ms: Some(60_000),
            vary: vec!["Accept-Encoding".into()],
            signed_key_env: None,
        }],
        geo_allow: vec![],
        geo_deny: vec!["KP".into()],
        country_header: "X-Country".into(),
        error_pages: vec![],
        error_ttl_ms: None,
    };
    let e = edge::Edge::new(None, None, Some(&cdn));
    let mut h = axum::http::HeaderMap::new();
    assert!(e.admit("/assets/x.js", "", &h).is_ok());
    h.insert("x-country", "kp".parse().unwrap());
    assert!(e.admit("/assets/x.js", "", &h).is_err());
    let mut out = axum::http::HeaderMap::new();
    e.decorate(None, "/assets/x.js", StatusCode::OK, &mut out);
    assert_eq!(
        out.get("cache-control").unwrap(),
        "public, max-age=3600, immutable, stale-while-revalidate=60"
    );
    // Errors under the behaviour keep their own caching headers.
    for status in [StatusCode::FORBIDDEN, StatusCode::INTERNAL_SERVER_ERROR] {
        let mut out = axum::http::HeaderMap::new();
        out.insert("cache-control", "private, no-store".parse().unwrap());
        e.decorate(None, "/assets/x.js", status, &mut out);
        assert_eq!(out.get("cache-control").unwrap(), "private, no-store");
        assert!(out.get("surrogate-control").is_none());
    }
}

#[test]
fn every_balancing_name_maps_to_its_algorithm() {
    use crate::balance::Algorithm as A;
    for (name, want) in [
        ("round_robin", A::RoundRobin),
        ("least_connections", A::LeastConnections),
        ("weighted", A::Weighted),
        ("ip_hash", A::IpHash),
        ("least_response_time", A::LeastResponseTime),
        ("random", A::Random),
    ] {
        assert_eq!(upstream::algorithm(name), want);
    }
    let b = backend("x", "http://127.0.0.1:1");
    assert_eq!(
        upstream::instance_urls(&b, Some(" http://a:1/ ,http://b:2".into())),
        ["http://a:1", "http://b:2"]
    );
    assert_eq!(upstream::instance_urls(&b, None), ["http://127.0.0.1:1"]);
    let mut bad = b.clone();
    bad.default_url = "ftp://nope".into();
    assert!(upstream::Backend::new(&bad).is_err());
}

/// An origin serving `/errors/404.html` (counting the fetches), 429 on `/busy`, a private
/// 404 on `/mine` and 404 for anything else.
async fn pages_origin(fetches: Arc<std::sync::atomic::AtomicUsize>) -> String {
    let app = axum::Router::new()
        .route(
            "/busy",
            axum::routing::get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "3")],
                    "slow down",
                )
            }),
        )
        .route(
            "/mine",
            axum::routing::get(|| async {
                (
                    StatusCode::NOT_FOUND,
                    [("cache-control", "private, max-age=5")],
                    "not yours",
                )
            }),
        )
        .route(
            "/errors/429.html",
            axum::routing::get(|| async { ([("content-type", "text/html")], "<h1>Busy</h1>") }),
        )
        .route(
            "/errors/404.html",
            axum::routing::get(move || {
                fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { ([("content-type", "text/html")], "<h1>Not here</h1>") }
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "{\"error\":\"not_found\"}") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn cdn_error_pages_replace_the_body_and_keep_the_status() {
    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let origin = pages_origin(fetches.clone()).await;
    let down = closed_port().await;
    let mut s = spec(
        vec![route("GET", "/*", "origin"), route("GET", "/down", "down")],
        vec![backend("origin", &origin), backend("down", &down)],
    );
    s.routes.swap(0, 1);
    s.cdn = Some(CdnSpec {
        name: "edge_cdn".into(),
        behaviors: vec![],
        geo_allow: vec![],
        geo_deny: vec![],
        country_header: "x-country".into(),
        // 502's page is not served by anyone: the original answer must go out.
        error_pages: vec![
            (404, "/errors/404.html".into()),
            (429, "/errors/429.html".into()),
            (502, "/errors/502.html".into()),
        ],
        error_ttl_ms: Some(60_000),
    });
    let g = gateway(s).await;
    for _ in 0..2 {
        let r = g.handle(get("/missing")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(header(&r, "content-type"), "text/html");
        assert_eq!(header(&r, "cache-control"), "max-age=60");
        assert_eq!(body(r).await, "<h1>Not here</h1>");
    }
    assert_eq!(
        fetches.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "kept for error_ttl"
    );
    let r = g.handle(get("/errors/404.html")).await;
    assert_eq!(r.status(), StatusCode::OK);
    // A refusal about this client gets its page but must not be kept for others.
    let r = g.handle(get("/busy")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after"), "3");
    assert_eq!(header(&r, "cache-control"), "private, no-store");
    assert_eq!(body(r).await, "<h1>Busy</h1>");
    // An answer that is already private keeps saying so.
    let r = g.handle(get("/mine")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&r, "cache-control"), "private, max-age=5");
    assert_eq!(body(r).await, "<h1>Not here</h1>");
    let r = g.handle(get("/down")).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(body(r).await.contains("bad_gateway"), "the original answer");
}
