//! End to end over real sockets: `examples/api-gateway.arch` is generated and built, its
//! `user_service` and `api_gateway` binaries run on free loopback ports with in-process
//! backends (no Redis, no PostgreSQL), and the test probes them over HTTP: create 201, read
//! back 200, unknown 404, malformed 400, the sign-up quota's 429 with `Retry-After`, the
//! payment route's breaker opening (503) in front of an unreachable upstream, `/health`
//! and `/metrics`.
//!
//! The build shares `target/generated` with `tests/generated_build.rs`, so dependencies
//! are compiled once for both.

mod common;

use common::cli::archc;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target() -> PathBuf {
    repo().join("target").join("generated")
}

/// A running binary, killed when the test ends however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), body read to EOF.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read reply");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn wait_healthy(port: u16, who: &str, proc: &mut Proc) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(status)) = proc.0.try_wait() {
            panic!("{who} exited early: {status}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && request(port, "GET", "/health", &[], b"").status == 200
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{who} did not answer /health on port {port}");
}

fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// An HS256 token the example's `jwt` scheme accepts: its issuer and audience, valid for
/// ten minutes, with the payment route's permission.
fn token(secret: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let head = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = format!(
        r#"{{"sub":"e2e","iss":"https://auth.api.example","aud":"public-api","nbf":{},"exp":{},"scope":"process_payment"}}"#,
        now - 5,
        now + 600
    );
    let signing = format!("{head}.{}", b64url(claims.as_bytes()));
    let sig = b64url(&hmac_sha256(secret.as_bytes(), signing.as_bytes()));
    format!("{signing}.{sig}")
}

fn build(out: &Path) {
    let status = Command::new(env!("CARGO"))
        .current_dir(out)
        .env("CARGO_TARGET_DIR", target())
        .env_remove("RUSTFLAGS")
        .args(["build", "-p", "user_service", "-p", "api_gateway"])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of the generated workspace");
}

#[test]
fn generated_gateway_and_service_answer_over_http() {
    let out = repo().join("target").join("generated-src").join("e2e");
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.to_string_lossy().into_owned();
    let run = archc(&["generate", "examples/api-gateway.arch", "-o", &out_text]);
    assert_eq!(run.code, 0, "generate:\n{}", run.stderr);
    std::fs::copy(repo().join("Cargo.lock"), out.join("Cargo.lock")).expect("copy lock");
    build(&out);
    let bin = |name: &str| target().join("debug").join(name);

    let (svc, gw, dead) = (free_port(), free_port(), free_port());
    let svc_url = format!("http://127.0.0.1:{svc}");
    let dead_url = format!("http://127.0.0.1:{dead}");
    let secret = "e2e-jwt-secret";
    let mut service = Proc(
        Command::new(bin("user_service"))
            .env("PORT", svc.to_string())
            .env_remove("REDIS_URL")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .spawn()
            .expect("start user_service"),
    );
    wait_healthy(svc, "user_service", &mut service);
    let mut gateway = Proc(
        Command::new(bin("api_gateway"))
            .env("PORT", gw.to_string())
            .env("USER_SERVICE_URL", &svc_url)
            .env("USER_SERVICE_2_4_0_RC_1_URL", &svc_url)
            .env("ORDER_SERVICE_URL", &dead_url)
            .env("PAYMENT_SERVICE_URL", &dead_url)
            .env("JWT_SECRET", secret)
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .spawn()
            .expect("start api_gateway"),
    );
    wait_healthy(gw, "api_gateway", &mut gateway);

    let json = [("Content-Type", "application/json")];
    let row = br#"{"email":"ann@example.com","name":"Ann","password_hash":"00ff","created_at":"2026-01-01T00:00:00Z"}"#;

    // Sign-up through the gateway (auth = none, limit = signup: 5 an hour per IP).
    let created = request(gw, "POST", "/api/v2/users", &json, row);
    assert_eq!(created.status, 201, "create: {}", created.body);
    assert!(
        created.header("x-request-id").is_some(),
        "request id echoed"
    );
    let body: serde_json::Value =
        serde_json::from_str(&created.body).unwrap_or_else(|e| panic!("{e}: {}", created.body));
    let id = match body.get("id") {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        other => panic!("no id in {body}: {other:?}"),
    };

    let read = request(gw, "GET", &format!("/api/v2/users/{id}/profile"), &[], b"");
    assert_eq!(read.status, 200, "read back: {}", read.body);
    assert!(read.body.contains("ann@example.com"), "{}", read.body);
    let direct = request(svc, "GET", &format!("/api/v2/users/{id}"), &[], b"");
    assert_eq!(
        direct.status, 200,
        "read back from the service: {}",
        direct.body
    );
    let unknown = request(gw, "GET", "/api/v2/users/424242424242/profile", &[], b"");
    assert_eq!(unknown.status, 404, "unknown: {}", unknown.body);
    let no_route = request(gw, "GET", "/nowhere", &[], b"");
    assert_eq!(no_route.status, 404, "no route: {}", no_route.body);

    let malformed = request(gw, "POST", "/api/v2/users", &json, b"{not json");
    assert_eq!(malformed.status, 400, "malformed: {}", malformed.body);

    // Two sign-ups so far; the quota allows five, the sixth is refused.
    for n in 3..=5 {
        let r = request(gw, "POST", "/api/v2/users", &json, row);
        assert_ne!(r.status, 429, "sign-up {n} is within the quota: {}", r.body);
    }
    let over = request(gw, "POST", "/api/v2/users", &json, row);
    assert_eq!(over.status, 429, "over the quota: {}", over.body);
    let retry_after: u64 = over
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After on 429: {:?}", over.headers));
    assert!(retry_after > 0, "Retry-After {retry_after}");

    // The payment upstream is unreachable: three failures open its breaker (3, 1m).
    let bearer = format!("Bearer {}", token(secret));
    let auth = [
        ("Content-Type", "application/json"),
        ("Authorization", bearer.as_str()),
    ];
    let unauthenticated = request(gw, "POST", "/api/v2/payments", &json, b"{}");
    assert_eq!(unauthenticated.status, 401, "{}", unauthenticated.body);
    for n in 1..=3 {
        let r = request(gw, "POST", "/api/v2/payments", &auth, b"{}");
        assert_eq!(r.status, 502, "payment attempt {n}: {}", r.body);
    }
    let open = request(gw, "POST", "/api/v2/payments", &auth, b"{}");
    assert_eq!(open.status, 503, "breaker open: {}", open.body);
    assert!(open.body.contains("circuit_open"), "{}", open.body);
    assert!(open.header("retry-after").is_some(), "{:?}", open.headers);

    let ready = request(gw, "GET", "/ready", &[], b"");
    assert!(
        ready.status == 200 || ready.status == 503,
        "{}",
        ready.status
    );
    let metrics = request(gw, "GET", "/metrics", &[], b"");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("http_requests_total"),
        "{}",
        metrics.body
    );
    assert!(
        metrics.body.contains("rate_limit_rejections_total"),
        "{}",
        metrics.body
    );
    let svc_metrics = request(svc, "GET", "/metrics", &[], b"");
    assert_eq!(svc_metrics.status, 200);
    drop(gateway);
    drop(service);
}
