//! End to end on real backends: `examples/backends.arch` generated, built, and run as two
//! instances of its `notes` service against a throwaway Redis and a PostgreSQL with one
//! database per shard, all on loopback. Probed over HTTP: create 201, read 200, unknown
//! 404, malformed 400; a key is on exactly one shard, the same every time, and keys spread
//! over both; a message its consumer keeps failing lands in the dead-letter stream after
//! the declared attempts (and `dead_letter_depth`/`queue_lag_messages` on `/metrics` of
//! both instances say so); the distributed limit holds across both instances; a Redis URL
//! nothing answers stops start-up with a message naming `REDIS_URL`.
//!
//! And `tests/fixtures/e2e/ledger.arch`, built with the runtime's `kafka` feature, against a
//! Kafka-protocol broker (Tansu): a message its consumer keeps failing reaches the
//! dead-letter topic (the broker's figures on `/metrics`), and unanswered `KAFKA_BROKERS`
//! stop start-up.
//!
//! Needs redis-server, redis-cli, PostgreSQL (initdb, pg_ctl, createdb, psql) and tansu: a
//! test fails without its servers when `CI` is set and is skipped otherwise. The generated workspace
//! builds in `target/generated`, the target directory `tests/generated_build.rs` uses.

mod common;

#[path = "../runtime/tests/support/servers.rs"]
mod servers;

use common::cli::archc;
use servers::{free_port, Kafka, Postgres, Redis};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The user's code of the generated service: the audit consumer refuses poison.
const HANDLERS: &str = r#"//! The e2e test's handlers: the audit consumer fails on any note mentioning poison.

use crate::generated::NotesHandlers;
use archc_runtime::queue::Delivery;
use archc_runtime::service::{Context, MessageOutcome};

/// The `notes` service's handlers.
#[derive(Debug, Default)]
pub struct Handlers;

#[archc_runtime::async_trait]
impl NotesHandlers for Handlers {
    async fn consume_audit(&self, _ctx: &Context, delivery: &Delivery) -> MessageOutcome {
        if String::from_utf8_lossy(&delivery.payload).contains("poison") {
            MessageOutcome::Transient("the audit log is down for poison".into())
        } else {
            MessageOutcome::Default
        }
    }
}
"#;

/// Generates the example, puts the handlers in and builds the service; the binary's path.
fn build_notes() -> PathBuf {
    build_service("examples/backends.arch", "notes", HANDLERS, &[])
}

/// Generates `program` into its own directory, puts `handlers` into the service `name`
/// and builds it with `cargo build -p NAME ARGS`; the binary's path.
fn build_service(program: &str, name: &str, handlers: &str, args: &[&str]) -> PathBuf {
    let out = repo().join(format!("target/generated-src/e2e-{name}"));
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.to_string_lossy().into_owned();
    let run = archc(&["generate", program, "-o", &out_text]);
    assert_eq!(run.code, 0, "generate:\n{}", run.stderr);
    std::fs::copy(repo().join("Cargo.lock"), out.join("Cargo.lock")).expect("copy lock");
    let handlers_path = out.join(format!("services/{name}/src/handlers.rs"));
    std::fs::write(handlers_path, handlers).expect("handlers");
    let target = repo().join("target/generated");
    let built = Command::new(env!("CARGO"))
        .current_dir(&out)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .args(["build", "-p", name])
        .args(args)
        .output()
        .expect("run cargo");
    assert!(
        built.status.success(),
        "cargo build -p {name}:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    target.join(format!("debug/{name}"))
}

/// One running instance of the service, killed when dropped.
struct Instance {
    child: Child,
    port: u16,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, env: &[(String, String)]) -> Instance {
    let port = free_port();
    let child = Command::new(bin)
        .env("PORT", port.to_string())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the service starts");
    let mut instance = Instance { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = instance.child.try_wait().expect("wait") {
            panic!("the service exited early: {status}");
        }
        if http(port, "GET", "/ready", &[], None).0 == 200 {
            return instance;
        }
        assert!(Instant::now() < deadline, "the service never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal HTTP/1.1 exchange: the status, the headers (lower-cased names) and the body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, vec![], String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, vec![], String::new());
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn post_note(port: u16, ip: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    http(
        port,
        "POST",
        "/notes",
        &[("X-Forwarded-For", ip)],
        Some(body),
    )
}

/// Rows with `id` in each shard's database.
fn shards_holding(pg: &Postgres, id: u32) -> Vec<usize> {
    (0..2)
        .filter(|n| {
            let sql = format!("SELECT count(*) FROM notes WHERE id = {id}");
            pg.psql(&format!("notes{n}"), &sql).trim() == "1"
        })
        .collect()
}

#[test]
fn the_generated_service_runs_on_redis_and_sharded_postgres() {
    // Servers first: a missing one skips (or fails under CI) before the long build.
    let Some(redis) = Redis::start() else { return };
    let Some(pg) = Postgres::start(&["notes0", "notes1"]) else {
        return;
    };
    let bin = build_notes();
    let env = vec![
        ("REDIS_URL".to_string(), redis.url()),
        ("DATABASE_URL_SHARD_0".to_string(), pg.url("notes0")),
        ("DATABASE_URL_SHARD_1".to_string(), pg.url("notes1")),
        ("QUEUE_LAG_EVERY_MS".to_string(), "100".to_string()),
    ];
    let a = start(&bin, &env);
    let b = start(&bin, &env);

    let (status, _, ready) = http(a.port, "GET", "/ready", &[], None);
    assert_eq!(status, 200);
    assert!(
        ready.contains("limits: redis") && ready.contains("DATABASE_URL_SHARD_1"),
        "{ready}"
    );
    assert!(ready.contains("note_events redis streams"), "{ready}");

    // Create 201, read back 200 (from the other instance too), unknown 404, malformed 400.
    let (status, _, created) = post_note(a.port, "192.0.2.1", r#"{"author":"ada","body":"hello"}"#);
    assert_eq!(status, 201, "{created}");
    let id = created
        .split("\"id\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .map(|s| s.trim().trim_matches('"').to_string())
        .expect("the created row has an id");
    for port in [a.port, b.port] {
        let (status, _, read) = http(port, "GET", &format!("/notes/{id}"), &[], None);
        assert_eq!(status, 200, "{read}");
        assert!(read.contains("\"author\":\"ada\""), "{read}");
    }
    assert_eq!(http(a.port, "GET", "/notes/4242", &[], None).0, 404);
    let (status, _, bad) = post_note(b.port, "192.0.2.2", r#"{"author": 7"#);
    assert_eq!(status, 400, "{bad}");
    let (status, _, bad) = post_note(b.port, "192.0.2.3", r#"{"author":"x","nope":1}"#);
    assert_eq!(status, 400, "{bad}");

    // Each key on exactly one shard, the same one when written again through the other
    // instance; keys spread over both shards.
    for n in 1..=10u32 {
        let port = if n % 2 == 0 { a.port } else { b.port };
        let body = format!(r#"{{"id":{n},"author":"w{n}","body":"note {n}"}}"#);
        let (status, _, text) = post_note(port, &format!("192.0.2.{}", 10 + n), &body);
        assert_eq!(status, 201, "{text}");
    }
    let mut per_shard = [0; 2];
    for n in 1..=10u32 {
        let holding = shards_holding(&pg, n);
        assert_eq!(holding.len(), 1, "note {n} is on shards {holding:?}");
        per_shard[holding[0]] += 1;
        let other = if n % 2 == 0 { b.port } else { a.port };
        let body = format!(r#"{{"id":{n},"author":"again","body":"note {n}"}}"#);
        assert_eq!(
            post_note(other, &format!("192.0.2.{}", 30 + n), &body).0,
            201
        );
        assert_eq!(shards_holding(&pg, n), holding, "note {n} moved");
        let (status, _, read) = http(other, "GET", &format!("/notes/{n}"), &[], None);
        assert!(status == 200 && read.contains("again"), "{status} {read}");
    }
    assert!(
        per_shard.iter().all(|&c| c > 0),
        "keys spread: {per_shard:?}"
    );

    // A message its consumer keeps failing: 1 delivery + 2 retries, then the DLQ stream.
    let (status, _, _) = post_note(a.port, "192.0.2.50", r#"{"author":"eve","body":"poison"}"#);
    assert_eq!(status, 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    let dead = loop {
        let dead = redis.cli(&["XRANGE", "note_events_dlq", "-", "+"]);
        if dead.contains("poison") {
            break dead;
        }
        assert!(Instant::now() < deadline, "nothing dead-lettered: {dead:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(dead.contains("\"x-attempts\":\"3\""), "{dead}");
    assert!(
        dead.contains("\"x-original-queue\":\"note_events\""),
        "{dead}"
    );
    assert!(
        !dead.contains("hello"),
        "a note the consumer accepted was dead-lettered: {dead}"
    );
    // The gauges the alerts read, from the broker: both instances see the one dead letter,
    // and nothing waits in the queue.
    for port in [a.port, b.port] {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, _, metrics) = http(port, "GET", "/metrics", &[], None);
            let depth = metrics.contains("dead_letter_depth{queue=\"note_events_dlq\"} 1\n");
            let lag = metrics.contains("queue_lag_messages{queue=\"note_events\"} 0\n");
            if depth && lag {
                break;
            }
            assert!(Instant::now() < deadline, "queue gauges: {metrics}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // The limit (5/min per IP, fixed window) holds across both instances. Start well
    // inside a window so that the burst does not straddle two.
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() % 60)
        .unwrap_or(0);
    if secs > 45 {
        std::thread::sleep(Duration::from_secs(61 - secs));
    }
    let mut admitted = 0;
    let mut refused = None;
    for i in 0..12 {
        let port = if i % 2 == 0 { a.port } else { b.port };
        let (status, headers, _) = post_note(port, "198.51.100.7", r#"{"author":"r","body":"b"}"#);
        match status {
            201 => admitted += 1,
            429 => refused = Some(headers),
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        admitted <= 5,
        "{admitted} admitted: the quota is 5 across both instances"
    );
    assert_eq!(admitted, 5, "the quota is used up");
    let refused = refused.expect("requests over the quota are refused");
    assert!(
        refused.iter().any(|(k, _)| k == "retry-after"),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|(k, v)| k == "ratelimit-limit" && v == "5"),
        "{refused:?}"
    );

    // A REDIS_URL nothing answers: the service refuses to start and names the variable.
    drop((a, b));
    let mut bad_env = env.clone();
    bad_env[0].1 = format!("redis://127.0.0.1:{}", free_port());
    let said = refused_start(&bin, &bad_env);
    assert!(said.contains("REDIS_URL"), "{said}");
}

/// Runs `bin` with `env`, which must stop it at start-up; what it said.
fn refused_start(bin: &Path, env: &[(String, String)]) -> String {
    let out = Command::new(bin)
        .env("PORT", free_port().to_string())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits until `/metrics` of `port` holds every line of `lines`.
fn metrics_show(port: u16, lines: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, metrics) = http(port, "GET", "/metrics", &[], None);
        if lines.iter().all(|l| metrics.contains(l)) {
            return;
        }
        assert!(Instant::now() < deadline, "{lines:?} not in: {metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_generated_service_runs_its_kafka_queues_on_a_broker() {
    let Some(kafka) = Kafka::start() else { return };
    let handlers = HANDLERS
        .replace("NotesHandlers", "LedgerHandlers")
        .replace("`notes` service", "`ledger` service");
    let bin = build_service(
        "tests/fixtures/e2e/ledger.arch",
        "ledger",
        &handlers,
        &["--features", "archc-runtime/kafka"],
    );
    let env = vec![
        ("KAFKA_BROKERS".to_string(), kafka.brokers()),
        ("QUEUE_LAG_EVERY_MS".to_string(), "100".to_string()),
    ];
    let a = start(&bin, &env);
    let (status, _, ready) = http(a.port, "GET", "/ready", &[], None);
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains("note_events kafka"), "{ready}");

    // An accepted note is consumed; a poisoned one goes round 1 + 2 retries, then to the
    // dead-letter topic: the broker's figures on /metrics say so.
    let (status, _, created) = post_note(a.port, "192.0.2.1", r#"{"author":"ada","body":"hello"}"#);
    assert_eq!(status, 201, "{created}");
    let (status, _, created) =
        post_note(a.port, "192.0.2.2", r#"{"author":"eve","body":"poison"}"#);
    assert_eq!(status, 201, "{created}");
    metrics_show(
        a.port,
        &[
            "dead_letter_depth{queue=\"note_events_dlq\"} 1\n",
            "queue_lag_messages{queue=\"note_events\"} 0\n",
        ],
    );

    // KAFKA_BROKERS that nothing answers: start-up stops and names the variable.
    drop(a);
    let unanswered = [(
        "KAFKA_BROKERS".to_string(),
        format!("127.0.0.1:{}", free_port()),
    )];
    let said = refused_start(&bin, &unanswered);
    assert!(said.contains("KAFKA_BROKERS"), "{said}");
    assert!(
        said.contains("cannot connect") || said.contains("timed out"),
        "the broker's absence, not a missing client: {said}"
    );
}
