//! The RabbitMQ broker against a real `rabbitmq-server` on loopback (one node for all the
//! checks: it takes seconds to start): delivery, delayed retry through the delay queue,
//! dead letters with their headers, the consumer's attempts, competing instances and the
//! spec's queue arguments.

#[path = "support/servers.rs"]
mod servers;

use archc_runtime::backend::rabbit::RabbitBroker;
use archc_runtime::queue::{
    conformance, Broker, Consumer, ConsumerConfig, HandlerError, Message, Settled,
};
use archc_runtime::retry::Backoff;
use archc_runtime::spec::QueueSpec;
use servers::Rabbit;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn queue(name: &str, priority: u32) -> QueueSpec {
    capped(name, priority, 1000)
}

fn capped(name: &str, priority: u32, max_length: u64) -> QueueSpec {
    serde_json::from_value(serde_json::json!({
        "name": name, "engine": "rabbitmq",
        "retry": {"attempts": 2, "backoff": {"kind": "fixed", "base_ms": 50}, "jitter": 0.0},
        "dead_letter": format!("{name}.dlq"),
        "errors": {"transient": "retry", "invalid": "discard", "business": "dead_letter"},
        "delay_ms": 0, "priority": priority, "ttl_ms": null, "max_length": max_length, "key": null
    }))
    .expect("a queue spec")
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_queues_deliver_retry_and_dead_letter() {
    let Some(mut rabbit) = Rabbit::start() else {
        return;
    };
    let specs = [
        queue("orders", 5),
        queue("jobs", 0),
        capped("small", 0, 2),
        archc_runtime::queue::conformance::priority_spec("ranked", "rabbitmq"),
    ];
    let broker = RabbitBroker::connect_with(&rabbit.url(), &specs)
        .await
        .expect("connects");

    // Delivery with key and headers.
    broker
        .publish(
            "orders",
            Message::new("first").with_key("k1").with_header("h", "v"),
        )
        .await
        .expect("publish");
    let d = within(broker.receive("orders")).await.expect("receive");
    assert_eq!((d.payload.as_slice(), d.attempt), (&b"first"[..], 1));
    assert_eq!(
        (d.key.as_deref(), d.headers.get("h").map(String::as_str)),
        (Some("k1"), Some("v"))
    );

    // A retry waits in the delay queue, then comes back with its attempt raised.
    let again = within(conformance::a_retry_comes_back_after_its_delay(&broker, &d)).await;
    assert!(!again.headers.contains_key("x-death"));

    // Dead letters carry why, where from and how many attempts.
    broker
        .dead_letter(&again, "orders.dlq", "no")
        .await
        .expect("dead letter");
    let dead = within(broker.receive("orders.dlq")).await.expect("dlq");
    assert_eq!(dead.payload, b"first");
    assert_eq!(dead.headers["x-dead-letter-reason"], "no");
    assert_eq!(dead.headers["x-original-queue"], "orders");
    assert_eq!(dead.headers["x-attempts"], "2");
    broker.ack(&dead).await.expect("ack");

    // Higher priority first on a queue declared with x-max-priority.
    broker
        .publish("orders", Message::new("low"))
        .await
        .expect("publish");
    broker
        .publish("orders", Message::new("high").with_priority(4))
        .await
        .expect("publish");
    let first = within(broker.receive("orders")).await.expect("receive");
    assert_eq!(first.payload, b"high");
    broker.ack(&first).await.expect("ack");
    let second = within(broker.receive("orders")).await.expect("receive");
    broker.ack(&second).await.expect("ack");

    // A queue at its max_length refuses publishes (x-overflow reject-publish, nacked).
    within(archc_runtime::queue::conformance::max_length_refuses_publishes(&broker, "small")).await;

    // Lag: ready and delayed messages, not those in flight; a dead-letter queue's depth.
    within(archc_runtime::queue::conformance::lag_counts_waiting_messages(&broker, "lagged")).await;

    // Priorities, the delayed message included.
    within(archc_runtime::queue::conformance::priorities_come_first(
        &broker, "ranked",
    ))
    .await;

    // The consumer: two retries, then the dead-letter queue.
    let broker: Arc<dyn Broker> = Arc::new(broker);
    let config = ConsumerConfig {
        concurrency: 1,
        retry: archc_runtime::queue::RetrySettings {
            attempts: 2,
            backoff: Backoff::Fixed(Duration::from_millis(50)),
            jitter: 0.0,
        },
        dead_letter: Some("jobs.dlq".into()),
        ..ConsumerConfig::default()
    };
    let consumer = Consumer::new(broker.clone(), "jobs", config);
    broker
        .publish("jobs", Message::new("work"))
        .await
        .expect("publish");
    let fail = |_| async { Err(HandlerError::transient("down")) };
    let mut settled = Vec::new();
    for _ in 0..3 {
        settled.push(
            within(consumer.process_one(&fail))
                .await
                .expect("processed")
                .1,
        );
    }
    assert!(matches!(
        settled[..2],
        [Settled::Retried { .. }, Settled::Retried { .. }]
    ));
    assert_eq!(settled[2], Settled::DeadLettered);
    let dead = within(broker.receive("jobs.dlq")).await.expect("dlq");
    assert_eq!(dead.headers["x-attempts"], "3");

    // Two instances compete: each message goes to one of them.
    let other = RabbitBroker::connect(&rabbit.url())
        .await
        .expect("connects");
    for i in 0..6 {
        broker
            .publish("jobs", Message::new(format!("m{i}")))
            .await
            .expect("publish");
    }
    let mut seen = Vec::new();
    for i in 0..6 {
        let d = if i % 2 == 0 {
            let d = within(broker.receive("jobs")).await.expect("receive");
            broker.ack(&d).await.expect("ack");
            d
        } else {
            let d = within(other.receive("jobs")).await.expect("receive");
            other.ack(&d).await.expect("ack");
            d
        };
        seen.push(String::from_utf8_lossy(&d.payload).into_owned());
    }
    seen.sort();
    assert_eq!(seen, ["m0", "m1", "m2", "m3", "m4", "m5"]);

    // The node restarts: a waiting receiver and the next publish open a new connection.
    let waiting = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.receive("jobs").await })
    };
    rabbit.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    while broker.publish("jobs", Message::new("after")).await.is_err() {
        assert!(Instant::now() < deadline, "publishing never recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let d = within(waiting).await.expect("task").expect("receive");
    assert_eq!(d.payload, b"after");
    broker.ack(&d).await.expect("ack after the restart");
}
