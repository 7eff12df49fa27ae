//! The Redis backends against a real `redis-server` on loopback: the Lua rate limiter
//! agrees with the in-memory algorithms and is shared between stores, the cache layer
//! honours TTLs, and the Redis Streams broker delivers, retries, dead-letters and takes
//! over stale deliveries; on a real three-node Redis Cluster, the cache, the limits and the
//! Streams broker each find their keys' nodes.

#[path = "support/servers.rs"]
mod servers;

use archc_runtime::backend::redis::{ClusterConn, RedisCache, RedisConn, RedisLimits};
use archc_runtime::backend::streams::RedisStreams;
use archc_runtime::cache::RemoteCache;
use archc_runtime::limit::{Algorithm, LimiterStore, MemoryStore, Rate, Spec};
use archc_runtime::queue::{conformance, Broker, Message};
use archc_runtime::rng::XorShift64;
use servers::{Redis, RedisCluster};
use std::sync::Arc;
use std::time::Duration;

async fn connect(redis: &Redis) -> RedisConn {
    RedisConn::connect(&redis.url()).await.expect("connects")
}

const T0: Duration = Duration::from_secs(1_704_067_200);

fn close(a: Duration, b: Duration) -> bool {
    let d = if a > b { a - b } else { b - a };
    d <= Duration::from_micros(1)
}

#[tokio::test]
async fn the_lua_algorithms_decide_like_the_in_memory_ones() {
    let Some(redis) = Redis::start() else { return };
    let conn = connect(&redis).await;
    let lua = RedisLimits::with_prefix(conn, "t:");
    let mut rng = XorShift64::new(7);
    let algorithms = [
        Algorithm::FixedWindow,
        Algorithm::SlidingWindow,
        Algorithm::TokenBucket,
        Algorithm::LeakyBucket,
    ];
    let mut compared = 0;
    for (round, algorithm) in algorithms.iter().cycle().take(16).enumerate() {
        let spec = Spec {
            algorithm: *algorithm,
            rate: Rate::new(
                1 + rng.below(10),
                Duration::from_millis(100 + rng.below(900)),
            )
            .expect("a rate"),
            burst: 1 + rng.below(5),
            block: if round % 3 == 0 {
                Duration::from_millis(rng.below(500))
            } else {
                Duration::ZERO
            },
        };
        let memory = MemoryStore::new();
        let key = format!("k{round}");
        let mut now = T0;
        for step in 0..60 {
            now += Duration::from_micros(rng.below(150_000));
            let cost = 1 + rng.below(3);
            let want = memory.acquire_now(&key, &spec, cost, now);
            let got = lua
                .acquire(&key, &spec, cost, now)
                .await
                .expect("script runs");
            let same = got.allowed == want.allowed
                && got.limit == want.limit
                && got.remaining == want.remaining
                && close(got.reset_after, want.reset_after)
                && close(got.retry_after, want.retry_after)
                && close(got.delay, want.delay);
            assert!(
                same,
                "{spec:?} step {step} cost {cost}: redis {got:?}, memory {want:?}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 960);
    // Keys expire once idle: none is kept forever.
    let ttl = redis.cli(&["PTTL", "t:k0"]);
    assert!(ttl.trim().parse::<i64>().is_ok_and(|t| t > 0), "PTTL {ttl}");
}

#[tokio::test]
async fn two_stores_on_one_server_share_the_quota() {
    let Some(redis) = Redis::start() else { return };
    let a = Arc::new(RedisLimits::new(connect(&redis).await));
    let b = Arc::new(RedisLimits::new(connect(&redis).await));
    let spec = Spec {
        algorithm: Algorithm::FixedWindow,
        rate: Rate::per_minute(25),
        burst: 1,
        block: Duration::ZERO,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            store
                .acquire("global", &spec, 1, T0)
                .await
                .expect("decides")
                .allowed
        });
    }
    let mut admitted = 0;
    while let Some(allowed) = tasks.join_next().await {
        admitted += usize::from(allowed.expect("task"));
    }
    assert_eq!(admitted, 25);
}

#[tokio::test]
async fn the_cache_layer_keeps_values_for_their_ttl() {
    let Some(redis) = Redis::start() else { return };
    let cache = RedisCache::new(connect(&redis).await);
    cache
        .set(
            "row:1",
            b"{\"id\":1}".to_vec(),
            Some(Duration::from_millis(150)),
        )
        .await
        .expect("set");
    assert_eq!(
        cache.get("row:1").await.expect("get"),
        Some(b"{\"id\":1}".to_vec())
    );
    assert_eq!(redis.cli(&["EXISTS", "archc:cache:row:1"]).trim(), "1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cache.get("row:1").await.expect("get"), None);
    cache.set("row:2", b"x".to_vec(), None).await.expect("set");
    assert_eq!(redis.cli(&["PTTL", "archc:cache:row:2"]).trim(), "-1");
    cache.delete("row:2").await.expect("delete");
    assert_eq!(cache.get("row:2").await.expect("get"), None);
}

#[tokio::test]
async fn streams_deliver_retry_and_dead_letter() {
    let Some(redis) = Redis::start() else { return };
    let broker = RedisStreams::new(connect(&redis).await);
    broker
        .publish("orders", Message::new("first").with_key("k1"))
        .await
        .expect("publish");
    let d = broker.receive("orders").await.expect("receive");
    assert_eq!((d.payload.as_slice(), d.attempt), (&b"first"[..], 1));
    assert_eq!(d.key.as_deref(), Some("k1"));
    broker
        .retry(&d, Duration::from_millis(200), "boom")
        .await
        .expect("retry");
    // Settled once only.
    assert!(broker.ack(&d).await.is_err());
    let started = std::time::Instant::now();
    let again = broker.receive("orders").await.expect("receive again");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((again.id, again.attempt), (d.id, 2));
    assert_eq!(again.headers["x-last-error"], "boom");
    broker
        .dead_letter(&again, "orders.dlq", "no")
        .await
        .expect("dead letter");
    let dlq = redis.cli(&["XRANGE", "orders.dlq", "-", "+"]);
    assert!(
        dlq.contains("first") && dlq.contains("x-original-queue"),
        "{dlq}"
    );
    // The source stream is empty and nothing is pending.
    assert_eq!(redis.cli(&["XLEN", "orders"]).trim(), "0");
    let pending = redis.cli(&["XPENDING", "orders", "archc"]);
    assert!(pending.starts_with('0'), "{pending}");
}

#[tokio::test]
async fn streams_lag_counts_waiting_messages() {
    let Some(redis) = Redis::start() else { return };
    let broker = RedisStreams::new(connect(&redis).await);
    conformance::lag_counts_waiting_messages(&broker, "lagged").await;
}

#[tokio::test]
async fn streams_deliver_higher_priorities_first() {
    let Some(redis) = Redis::start() else { return };
    let spec = conformance::priority_spec("ranked", "redis");
    let broker = RedisStreams::new(connect(&redis).await).with_specs(&[spec]);
    conformance::priorities_come_first(&broker, "ranked").await;
    // A receive that waits on the empty lanes wakes for a publish to any of them.
    let woken =
        conformance::a_waiting_receive_wakes_for_a_publish(Arc::new(broker), "ranked").await;
    assert_eq!(
        (woken.payload.as_slice(), woken.priority),
        (&b"woken"[..], 3)
    );
    // One stream per lane: lane 0 is the queue's own stream; one server keeps plain names.
    assert_eq!(
        redis.cli(&["exists", "ranked", "ranked:priority:5"]).trim(),
        "2"
    );
    // Lag and max_length count every lane.
    let spec = archc_runtime::spec::QueueSpec {
        max_length: Some(2),
        ..conformance::priority_spec("capped", "redis")
    };
    let broker = RedisStreams::new(connect(&redis).await).with_specs(&[spec]);
    conformance::max_length_refuses_publishes(&broker, "capped").await;
    let spec = conformance::priority_spec("lagged", "redis");
    let broker = RedisStreams::new(connect(&redis).await).with_specs(&[spec]);
    conformance::lag_counts_waiting_messages(&broker, "lagged").await;
}

#[tokio::test]
async fn streams_max_length_refuses_publishes() {
    let Some(redis) = Redis::start() else { return };
    let spec = conformance::queue_spec("small", "redis", Some(2));
    let broker = RedisStreams::new(connect(&redis).await).with_specs(&[spec]);
    conformance::max_length_refuses_publishes(&broker, "small").await;
    // Without a max_length nothing is refused.
    for body in ["a", "b", "c"] {
        broker
            .publish("open", Message::new(body))
            .await
            .expect("publish");
    }
}

#[tokio::test]
async fn ping_answers_while_the_server_runs() {
    let Some(redis) = Redis::start() else { return };
    let conn = connect(&redis).await;
    let limits = RedisLimits::new(conn.clone());
    assert_eq!(limits.ping().await, Ok(()));
    assert_eq!(RedisStreams::new(conn.clone()).ping().await, Ok(()));
    drop(redis);
    let down = tokio::time::timeout(Duration::from_secs(5), limits.ping())
        .await
        .expect("answers in time");
    assert!(down.is_err(), "{down:?}");
}

#[tokio::test]
async fn a_failing_consumer_dead_letters_after_the_declared_attempts() {
    let Some(redis) = Redis::start() else { return };
    let broker: Arc<dyn Broker> = Arc::new(RedisStreams::new(connect(&redis).await));
    conformance::a_failing_consumer_dead_letters(broker, "jobs", "jobs.dlq").await;
    let dlq = redis.cli(&["XRANGE", "jobs.dlq", "-", "+"]);
    assert!(dlq.contains("\"x-attempts\":\"3\""), "{dlq}");
    assert!(dlq.contains("exhausted"), "{dlq}");
}

#[tokio::test]
async fn a_delivery_left_unsettled_is_taken_over_by_another_instance() {
    let Some(redis) = Redis::start() else { return };
    let crashed = RedisStreams::new(connect(&redis).await);
    let survivor =
        RedisStreams::new(connect(&redis).await).with_claim_idle(Duration::from_millis(100));
    assert_ne!(crashed.consumer(), survivor.consumer());
    crashed
        .publish("mail", Message::new("hello"))
        .await
        .expect("publish");
    let lost = crashed.receive("mail").await.expect("receive");
    drop(crashed);
    let taken = tokio::time::timeout(Duration::from_secs(5), survivor.receive("mail"))
        .await
        .expect("claimed in time")
        .expect("receive");
    assert_eq!(
        (taken.id, taken.payload.clone()),
        (lost.id, b"hello".to_vec())
    );
    survivor.ack(&taken).await.expect("ack");
    assert_eq!(redis.cli(&["XLEN", "mail"]).trim(), "0");
}

#[tokio::test]
async fn a_delayed_message_waits_in_the_sorted_set() {
    let Some(redis) = Redis::start() else { return };
    let broker = RedisStreams::new(connect(&redis).await);
    broker
        .publish(
            "later",
            Message::new("x").with_delay(Duration::from_millis(300)),
        )
        .await
        .expect("publish");
    assert_eq!(redis.cli(&["ZCARD", "later:delayed"]).trim(), "1");
    let started = std::time::Instant::now();
    let d = broker.receive("later").await.expect("receive");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(d.payload, b"x");
    assert_eq!(redis.cli(&["ZCARD", "later:delayed"]).trim(), "0");
}

#[tokio::test]
async fn a_receiver_rides_out_a_redis_restart() {
    let Some(redis) = Redis::start() else { return };
    let port = redis.port;
    let broker = Arc::new(RedisStreams::new(connect(&redis).await));
    broker
        .publish("q", Message::new("before"))
        .await
        .expect("publish");
    let d = broker.receive("q").await.expect("receive");
    broker.ack(&d).await.expect("ack");
    // The server goes away (without persistence: the stream and its group are lost)…
    drop(redis);
    let waiting = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.receive("q").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …and comes back on the same port.
    let redis = Redis::start_on(port).expect("restarts");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while broker.publish("q", Message::new("after")).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "publishing never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("received in time")
        .expect("task")
        .expect("receive");
    assert_eq!(d.payload, b"after");
    broker.ack(&d).await.expect("ack after the restart");
    assert_eq!(redis.cli(&["XLEN", "q"]).trim(), "0");
}

#[tokio::test]
async fn a_cluster_cache_spreads_keys_over_the_nodes_and_honours_ttls() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    // One seed is enough: the client learns the slots from it.
    let cache = RedisCache::cluster(&cluster.nodes[0].url())
        .await
        .expect("connects to the cluster");
    assert!(cache.shown().starts_with("cluster "), "{}", cache.shown());
    for i in 0..60 {
        let key = format!("user:{i}");
        cache.set(&key, vec![i as u8], None).await.expect("set");
    }
    for i in 0..60 {
        let key = format!("user:{i}");
        assert_eq!(cache.get(&key).await.expect("get"), Some(vec![i as u8]));
    }
    let holding = cluster
        .nodes
        .iter()
        .filter(|n| n.cli(&["dbsize"]).trim() != "0")
        .count();
    assert_eq!(holding, 3, "keys are spread over every node");
    cache.delete("user:7").await.expect("delete");
    assert_eq!(cache.get("user:7").await.expect("get"), None);
    cache
        .set("short", b"x".to_vec(), Some(Duration::from_millis(50)))
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(cache.get("short").await.expect("get"), None);
    assert!(cache.ping().await.is_ok());
    // The single-server cache on one node cannot reach the keys other nodes own.
    let single = RedisCache::new(connect(&cluster.nodes[0]).await);
    let mut refused = 0;
    for i in 0..60 {
        if single.get(&format!("user:{i}")).await.is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0, "some keys live on other nodes");
}

#[tokio::test]
async fn limits_on_a_cluster_hold_per_key_across_the_nodes() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let conn = ClusterConn::connect(&cluster.nodes[0].url())
        .await
        .expect("connects to the cluster");
    // Two stores, as two instances of a service would hold.
    let a = RedisLimits::on_cluster(&conn);
    let b = RedisLimits::on_cluster(
        &ClusterConn::connect(&cluster.nodes[1].url())
            .await
            .expect("connects through another seed"),
    );
    assert!(a.shown().starts_with("cluster "), "{}", a.shown());
    let spec = Spec {
        algorithm: Algorithm::FixedWindow,
        rate: Rate::per_minute(3),
        burst: 1,
        block: Duration::ZERO,
    };
    for i in 0..30 {
        let key = format!("user:{i}");
        let mut admitted = 0;
        for n in 0..4 {
            let store = if n % 2 == 0 { &a } else { &b };
            let d = store.acquire(&key, &spec, 1, T0).await.expect("decides");
            admitted += usize::from(d.allowed);
        }
        assert_eq!(
            admitted, 3,
            "{key}: the fourth request in the window is refused"
        );
    }
    let holding = cluster
        .nodes
        .iter()
        .filter(|n| n.cli(&["dbsize"]).trim() != "0")
        .count();
    assert_eq!(holding, 3, "the limit keys are spread over every node");
    assert!(a.ping().await.is_ok());
}

#[tokio::test]
async fn streams_on_a_cluster_keep_each_queue_on_one_node() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let conn = ClusterConn::connect(&cluster.nodes[0].url())
        .await
        .expect("connects to the cluster");
    let broker = RedisStreams::on_cluster(&conn).with_specs(&[
        conformance::priority_spec("ranked", "redis"),
        conformance::queue_spec("small", "redis", Some(2)),
    ]);
    assert!(broker.shown().starts_with("cluster "), "{}", broker.shown());
    assert!(broker.ping().await.is_ok());

    // Delivery, a delayed retry, and a dead letter into a queue of another slot.
    let slot = |key: &str| cluster.nodes[0].cli(&["cluster", "keyslot", key]);
    assert_ne!(
        slot("orders"),
        slot("orders.dlq"),
        "the dead letter crosses slots"
    );
    broker
        .publish("orders", Message::new("first").with_key("k1"))
        .await
        .expect("publish");
    let d = broker.receive("orders").await.expect("receive");
    assert_eq!((d.payload.as_slice(), d.attempt), (&b"first"[..], 1));
    broker
        .retry(&d, Duration::from_millis(200), "boom")
        .await
        .expect("retry");
    let again = broker.receive("orders").await.expect("receive the retry");
    assert_eq!((again.id, again.attempt), (d.id, 2));
    assert_eq!(again.headers["x-last-error"], "boom");
    broker
        .dead_letter(&again, "orders.dlq", "no")
        .await
        .expect("dead letter");
    let dead = broker
        .receive("orders.dlq")
        .await
        .expect("receive the dead letter");
    assert_eq!(dead.payload, b"first");
    assert_eq!(dead.headers["x-original-queue"], "orders");
    broker.ack(&dead).await.expect("ack");
    assert_eq!(broker.lag("orders").await.expect("lag"), 0);
    // A delivery already settled is refused before anything reaches the dead-letter queue.
    assert!(broker
        .dead_letter(&again, "orders.dlq", "twice")
        .await
        .is_err());
    assert_eq!(broker.lag("orders.dlq").await.expect("lag"), 0);

    // Lanes (with a delayed message among them), lag and max_length, as on one server.
    conformance::priorities_come_first(&broker, "ranked").await;
    conformance::lag_counts_waiting_messages(&broker, "lagged").await;
    conformance::max_length_refuses_publishes(&broker, "small").await;

    // A blocking read on its own connection wakes for a publish.
    let woken =
        conformance::a_waiting_receive_wakes_for_a_publish(Arc::new(broker), "ranked").await;
    assert_eq!(woken.payload, b"woken");

    // Every stream of a queue is on one node (a node answers MOVED for keys it lacks).
    let holding: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| {
            n.cli(&["exists", "ranked", "{ranked}:priority:5"])
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(
        holding.iter().filter(|h| *h == "2").count(),
        1,
        "{holding:?}"
    );
}

#[tokio::test]
async fn a_service_on_the_programs_cluster_keeps_limits_cache_and_streams_there() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let queue = serde_json::json!({
        "name": "events", "engine": "redis",
        "retry": {"attempts": 2, "backoff": {"kind": "fixed", "base_ms": 10}, "jitter": 0.0},
        "dead_letter": "events.dlq",
        "errors": {"transient": "retry", "invalid": "discard", "business": "dead_letter"},
        "delay_ms": 0, "priority": 0, "ttl_ms": null, "max_length": null, "key": null
    });
    // The service's own caches say nothing: the program's Redis being a cluster is enough.
    let spec: archc_runtime::spec::ServiceSpec = serde_json::from_value(serde_json::json!({
        "name": "orders", "port": 8080, "health_path": "/health", "endpoints": [],
        "consumers": [], "jobs": [], "limits": [], "caches": [], "tables": [],
        "queues": [queue], "upstreams": [], "shed": null, "body_limit": 1_048_576,
        "redis_cluster": true
    }))
    .expect("a valid spec");
    let url = cluster.nodes[0].url();
    let var = |name: &str| (name == "REDIS_URL").then(|| url.clone());
    let backends = archc_runtime::backend::Backends::from_vars(&spec, &var)
        .await
        .expect("connects to the cluster");
    let described = backends.described.join("; ");
    assert!(described.contains("limits: redis cluster"), "{described}");
    assert!(described.contains("cache: redis cluster"), "{described}");
    assert!(described.contains("events redis streams"), "{described}");
    backends
        .broker
        .publish("events", Message::new("e1"))
        .await
        .expect("publish");
    // Another instance on the cluster receives it.
    let other = RedisStreams::on_cluster(
        &ClusterConn::connect(&cluster.nodes[2].url())
            .await
            .expect("connects through another seed"),
    );
    let seen = tokio::time::timeout(Duration::from_secs(5), other.receive("events"))
        .await
        .expect("in time")
        .expect("receive");
    assert_eq!(seen.payload, b"e1");
    other.ack(&seen).await.expect("ack");
}
