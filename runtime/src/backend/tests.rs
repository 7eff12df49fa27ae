//! Tests of the backend choice that need no server: what an unset, empty or unreachable
//! variable does.

use super::*;
use serde_json::json;

fn spec(extra: serde_json::Value) -> ServiceSpec {
    let mut base = json!({
        "name": "orders", "port": 8080, "health_path": "/health", "endpoints": [],
        "consumers": [], "jobs": [], "limits": [], "caches": [], "tables": [], "queues": [],
        "upstreams": [], "shed": null, "body_limit": 1_048_576
    });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(base).expect("a valid spec")
}

fn table(shards: u32) -> serde_json::Value {
    json!({
        "id": "db.orders", "database": "db", "table": "orders",
        "columns": [{"name": "id", "sql_type": "bigint"}], "key": ["id"],
        "shards": shards, "shard_by": {"kind": "hash", "column": "id"}, "ids": "snowflake"
    })
}

fn queue(engine: &str) -> serde_json::Value {
    json!({
        "name": "orders", "engine": engine,
        "retry": {"attempts": 2, "backoff": {"kind": "fixed", "base_ms": 10}, "jitter": 0.0},
        "dead_letter": "orders.dlq",
        "errors": {"transient": "retry", "invalid": "discard", "business": "dead_letter"},
        "delay_ms": 0, "priority": 0, "ttl_ms": null, "max_length": null, "key": null
    })
}

fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(
        redact("postgres://app:s3cret@db:5432/orders"),
        "postgres://app:***@db:5432/orders"
    );
    assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    assert_eq!(redact("amqp://guest:guest@h/%2f"), "amqp://guest:***@h/%2f");
    assert_eq!(redact("not a url"), "not a url");
}

#[tokio::test]
async fn nothing_set_is_all_in_process() {
    let s = spec(json!({"tables": [table(2)], "queues": [queue("redis")]}));
    let b = Backends::from_vars(&s, &vars(&[])).await.expect("embedded");
    assert_eq!(
        b.described,
        vec![
            "limits: memory",
            "cache: memory",
            "tables: memory",
            "broker: memory"
        ]
    );
}

#[tokio::test]
async fn variables_a_service_does_not_need_are_not_used() {
    // Nothing listens there: connecting would fail, so success means it was not tried.
    let url: &'static str =
        Box::leak(format!("redis://127.0.0.1:{}", closed_port()).into_boxed_str());
    let pairs: &'static [(&str, &str)] = Box::leak(Box::new([
        ("REDIS_URL", url),
        ("DATABASE_URL", "postgres://u@127.0.0.1:1/db"),
        ("AMQP_URL", "amqp://127.0.0.1:1"),
    ]));
    let b = Backends::from_vars(&spec(json!({})), &vars(pairs))
        .await
        .expect("nothing to connect");
    assert!(
        b.described.iter().all(|d| d.ends_with("memory")),
        "{:?}",
        b.described
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_naming_its_variable() {
    let port = closed_port();
    let redis: &'static str = Box::leak(format!("redis://127.0.0.1:{port}").into_boxed_str());
    let pg: &'static str =
        Box::leak(format!("postgres://app:pw@127.0.0.1:{port}/db").into_boxed_str());
    let amqp: &'static str = Box::leak(format!("amqp://127.0.0.1:{port}").into_boxed_str());

    let s = spec(json!({"queues": [queue("redis")]}));
    let e = Backends::from_vars(&s, &vars(Box::leak(Box::new([("REDIS_URL", redis)]))))
        .await
        .expect_err("unreachable");
    assert_eq!(e.variable, "REDIS_URL");
    assert!(e.to_string().starts_with("REDIS_URL: "), "{e}");

    let s = spec(json!({"tables": [table(2)]}));
    let e = Backends::from_vars(
        &s,
        &vars(Box::leak(Box::new([
            ("DATABASE_URL_SHARD_1", pg),
            ("DATABASE_URL", pg),
        ]))),
    )
    .await
    .expect_err("unreachable");
    // Shard 0 falls back to DATABASE_URL, which is tried first.
    assert_eq!(e.variable, "DATABASE_URL");
    assert!(!e.message.contains("pw"), "{e}");

    let e = Backends::from_vars(
        &s,
        &vars(Box::leak(Box::new([("DATABASE_URL_SHARD_0", pg)]))),
    )
    .await
    .expect_err("shard 1 has no database");
    assert_eq!(e.variable, "DATABASE_URL_SHARD_1");

    let s = spec(json!({"queues": [queue("rabbitmq")]}));
    let e = Backends::from_vars(&s, &vars(Box::leak(Box::new([("AMQP_URL", amqp)]))))
        .await
        .expect_err("unreachable");
    assert_eq!(e.variable, "AMQP_URL");

    let e = Backends::from_vars(&s, &vars(&[("AMQP_URL", "not a url")]))
        .await
        .expect_err("bad url");
    assert_eq!(e.variable, "AMQP_URL");
}

#[cfg(not(feature = "kafka"))]
#[tokio::test]
async fn kafka_without_the_feature_says_how_to_get_it() {
    let s = spec(json!({"queues": [queue("kafka")]}));
    let e = Backends::from_vars(&s, &vars(&[("KAFKA_BROKERS", "127.0.0.1:9092")]))
        .await
        .expect_err("no client");
    assert!(e.message.contains("feature `kafka`"), "{e}");
}

#[tokio::test]
async fn redis_streams_go_to_the_programs_cluster_with_the_cache() {
    let cache = json!({
        "name": "users", "source": null, "pattern": "cache_aside",
        "layers": [
            {"kind": "memory", "entries": 100, "size": null, "ttl_ms": 1000},
            {"kind": "redis", "entries": null, "size": null, "ttl_ms": 1000, "cluster": true}
        ],
        "stampede": "none", "refresh_ahead": null
    });
    let mut events = queue("redis");
    events["name"] = json!("events");
    // Nothing listens there: the error must be the cluster's, not a refusal of the queues.
    let url: &'static str =
        Box::leak(format!("redis://127.0.0.1:{}", closed_port()).into_boxed_str());
    let pairs: &'static [(&str, &str)] = Box::leak(Box::new([("REDIS_URL", url)]));
    let own = spec(json!({"caches": [cache], "queues": [events.clone(), queue("rabbitmq")]}));
    // The program's Redis being a cluster is enough, whatever this service's own caches.
    let flagged = spec(json!({"redis_cluster": true, "queues": [events]}));
    for s in [own, flagged] {
        let e = Backends::from_vars(&s, &vars(pairs))
            .await
            .expect_err("no cluster there");
        assert_eq!(e.variable, "REDIS_URL");
        assert!(e.message.contains("cannot connect to the cluster"), "{e}");
        assert!(!e.message.contains("Streams"), "{e}");
    }
}

#[tokio::test]
async fn a_node_list_for_a_single_server_redis_is_refused_plainly() {
    let s = spec(json!({"queues": [queue("redis")]}));
    let e = Backends::from_vars(
        &s,
        &vars(&[("REDIS_URL", "redis://:pw@a:6379,redis://:pw2@b:6379")]),
    )
    .await
    .expect_err("a list");
    assert_eq!(e.variable, "REDIS_URL");
    assert!(e.message.contains("lists several Redis nodes"), "{e}");
    assert!(e.message.contains("cluster = true"), "{e}");
    assert!(!e.message.contains("pw"), "{e}");
}
