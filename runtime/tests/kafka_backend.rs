//! The Kafka broker (cargo feature `kafka`) against a real Kafka-protocol broker on
//! loopback (Tansu, in memory): delivery with keys and headers, a delayed retry, dead
//! letters with their headers, lag, ping, and a consumer that dead-letters after the
//! declared attempts.
#![cfg(feature = "kafka")]

#[path = "support/servers.rs"]
mod servers;

use archc_runtime::backend::kafka::KafkaBroker;
use archc_runtime::queue::{conformance, Broker, Message};
use servers::Kafka;
use std::sync::Arc;
use std::time::Duration;

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("in time")
}

async fn connect(kafka: &Kafka) -> KafkaBroker {
    KafkaBroker::connect(&kafka.brokers())
        .await
        .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_topics_deliver_retry_and_dead_letter() {
    let Some(kafka) = Kafka::start() else { return };
    let broker = connect(&kafka).await;
    assert_eq!(broker.ping().await, Ok(()));

    let id = within(broker.publish("orders", Message::new("first").with_key("k1")))
        .await
        .expect("publish");
    let d = within(broker.receive("orders")).await.expect("receive");
    assert_eq!(
        (d.id, d.payload.as_slice(), d.attempt),
        (id, &b"first"[..], 1)
    );
    assert_eq!(d.key.as_deref(), Some("k1"));
    assert_eq!(within(broker.lag("orders")).await.expect("lag"), 0);

    // A retry comes back after its delay with the attempt raised and the error kept.
    let again = within(conformance::a_retry_comes_back_after_its_delay(&broker, &d)).await;
    assert_eq!(again.id, id);

    // A dead letter lands in the dead-letter topic with why, where from and how often.
    broker
        .dead_letter(&again, "orders.dlq", "no")
        .await
        .expect("dead letter");
    let dead = within(broker.receive("orders.dlq"))
        .await
        .expect("receive the dead letter");
    assert_eq!(dead.payload, b"first");
    assert_eq!(dead.headers["x-dead-letter-reason"], "no");
    assert_eq!(dead.headers["x-original-queue"], "orders");
    assert_eq!(dead.headers["x-attempts"], "2");
    broker.ack(&dead).await.expect("ack");

    // Lag counts what is published and not yet delivered.
    for body in ["a", "b", "c"] {
        within(broker.publish("lagged", Message::new(body)))
            .await
            .expect("publish");
    }
    assert_eq!(within(broker.lag("lagged")).await.expect("lag"), 3);
    let first = within(broker.receive("lagged")).await.expect("receive");
    assert_eq!(first.payload, b"a");
    assert_eq!(within(broker.lag("lagged")).await.expect("lag"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_kafka_consumer_dead_letters_after_the_declared_attempts() {
    let Some(kafka) = Kafka::start() else { return };
    let broker: Arc<dyn Broker> = Arc::new(connect(&kafka).await);
    within(conformance::a_failing_consumer_dead_letters(
        broker.clone(),
        "jobs",
        "jobs.dlq",
    ))
    .await;
    let dead = within(broker.receive("jobs.dlq"))
        .await
        .expect("dead letter");
    assert_eq!(dead.payload, b"work");
    assert_eq!(dead.headers["x-attempts"], "3");
    assert!(
        dead.headers["x-dead-letter-reason"].contains("exhausted"),
        "{:?}",
        dead.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_with_kafka_brokers_set_puts_its_kafka_queues_there() {
    let Some(kafka) = Kafka::start() else { return };
    let queue = |name: &str, engine: &str| {
        serde_json::json!({
            "name": name, "engine": engine,
            "retry": {"attempts": 2, "backoff": {"kind": "fixed", "base_ms": 10}, "jitter": 0.0},
            "dead_letter": format!("{name}.dlq"),
            "errors": {"transient": "retry", "invalid": "discard", "business": "dead_letter"},
            "delay_ms": 0, "priority": 0, "ttl_ms": null, "max_length": null, "key": null
        })
    };
    let spec: archc_runtime::spec::ServiceSpec = serde_json::from_value(serde_json::json!({
        "name": "orders", "port": 8080, "health_path": "/health", "endpoints": [],
        "consumers": [], "jobs": [], "limits": [], "caches": [], "tables": [],
        "queues": [queue("events", "kafka"), queue("local", "memory")],
        "upstreams": [], "shed": null, "body_limit": 1_048_576
    }))
    .expect("a valid spec");
    let brokers = kafka.brokers();
    let var = |name: &str| (name == "KAFKA_BROKERS").then(|| brokers.clone());
    let backends = archc_runtime::backend::Backends::from_vars(&spec, &var)
        .await
        .expect("connects");
    let described = backends.described.join("; ");
    assert!(described.contains("events kafka"), "{described}");
    assert!(described.contains("events.dlq kafka"), "{described}");
    assert!(described.contains("local memory"), "{described}");
    within(backends.broker.publish("events", Message::new("e1")))
        .await
        .expect("publish");
    // Another client of the same broker sees the record: it went to Kafka.
    let other = connect(&kafka).await;
    let seen = within(other.receive("events")).await.expect("receive");
    assert_eq!(seen.payload, b"e1");
}
