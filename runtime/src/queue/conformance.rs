//! What every [`Broker`] must agree on, as checks the backend tests run against the
//! in-process broker and the real servers alike (a failed check panics with what differed).

use super::{
    Broker, BrokerError, Consumer, ConsumerConfig, Delivery, HandlerError, Message, RetrySettings,
    Settled,
};
use crate::retry::Backoff;
use crate::spec::QueueSpec;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A queue for these checks: `name` on `engine`, one attempt, no dead letter, the default
/// error routing, and `max_length`.
pub fn queue_spec(name: &str, engine: &str, max_length: Option<u64>) -> QueueSpec {
    serde_json::from_value(serde_json::json!({
        "name": name, "engine": engine,
        "retry": {"attempts": 1, "backoff": {"kind": "fixed", "base_ms": 10}, "jitter": 0.0},
        "dead_letter": null,
        "errors": {"transient": "retry", "invalid": "discard", "business": "dead_letter"},
        "delay_ms": 0, "priority": 0, "ttl_ms": null, "max_length": max_length, "key": null
    }))
    .expect("a queue spec")
}

/// [`Broker::lag`] counts ready and delayed messages, not those in flight, and a
/// dead-letter queue's lag is its depth. Uses `queue` and `QUEUE.dlq`, which must be empty.
pub async fn lag_counts_waiting_messages(broker: &dyn Broker, queue: &str) {
    let dlq = format!("{queue}.dlq");
    let lag = |q: String| async move { broker.lag(&q).await.expect("the broker answers") };
    assert_eq!(lag(queue.to_string()).await, 0, "an empty queue has no lag");
    for body in ["a", "b"] {
        broker
            .publish(queue, Message::new(body))
            .await
            .expect("publish");
    }
    broker
        .publish(
            queue,
            Message::new("later").with_delay(Duration::from_secs(600)),
        )
        .await
        .expect("publish delayed");
    assert_eq!(
        lag(queue.to_string()).await,
        3,
        "ready and delayed messages wait"
    );
    let first = broker.receive(queue).await.expect("receive");
    assert_eq!(
        lag(queue.to_string()).await,
        2,
        "a message in flight is not lag"
    );
    broker.ack(&first).await.expect("ack");
    let second = broker.receive(queue).await.expect("receive");
    broker
        .dead_letter(&second, &dlq, "refused")
        .await
        .expect("dead letter");
    assert_eq!(
        lag(queue.to_string()).await,
        1,
        "only the delayed message waits"
    );
    assert_eq!(lag(dlq).await, 1, "the dead-letter queue holds one message");
}

/// A queue holding its `max_length` (2 here: the broker must have been built with that for
/// `queue`) of ready messages refuses the next publish with [`BrokerError::Full`], drops
/// nothing, and takes messages again once one is delivered.
pub async fn max_length_refuses_publishes(broker: &dyn Broker, queue: &str) {
    for body in ["1", "2"] {
        broker
            .publish(queue, Message::new(body))
            .await
            .expect("room left");
    }
    let refused = broker.publish(queue, Message::new("3")).await;
    assert_eq!(refused, Err(BrokerError::Full(queue.to_string())));
    let first = broker.receive(queue).await.expect("receive");
    assert_eq!(first.payload, b"1", "nothing was dropped");
    broker.ack(&first).await.expect("ack");
    broker
        .publish(queue, Message::new("4"))
        .await
        .expect("room again once one was delivered");
}

/// The highest priority [`priority_spec`] declares.
pub const TOP_PRIORITY: u8 = 5;

/// [`queue_spec`] with priorities up to [`TOP_PRIORITY`].
pub fn priority_spec(name: &str, engine: &str) -> QueueSpec {
    QueueSpec {
        priority: TOP_PRIORITY.into(),
        ..queue_spec(name, engine, None)
    }
}

/// Higher priorities are delivered first, equal ones in publish order, and a delayed
/// message joins its priority when due. The broker must have been built with
/// [`priority_spec`] for `queue`, which must be empty.
pub async fn priorities_come_first(broker: &dyn Broker, queue: &str) {
    for (body, priority) in [("low", 0), ("mid", 2), ("top", TOP_PRIORITY), ("mid-2", 2)] {
        broker
            .publish(queue, Message::new(body).with_priority(priority))
            .await
            .expect("publish");
    }
    let delayed = Message::new("top-delayed")
        .with_priority(TOP_PRIORITY)
        .with_delay(Duration::from_millis(50));
    broker.publish(queue, delayed).await.expect("publish");
    broker
        .publish(queue, Message::new("low-2"))
        .await
        .expect("publish");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut order = Vec::new();
    for _ in 0..6 {
        let delivery = broker.receive(queue).await.expect("receive");
        order.push(String::from_utf8_lossy(&delivery.payload).into_owned());
        broker.ack(&delivery).await.expect("ack");
    }
    assert_eq!(
        order,
        ["top", "top-delayed", "mid", "mid-2", "low", "low-2"],
        "by priority, then in order"
    );
}

/// A retry of `delivery` comes back after its 300 ms delay with the same id, the attempt
/// raised and the error kept, and the delivery itself is settled once only. Returns the
/// redelivery, not yet settled.
pub async fn a_retry_comes_back_after_its_delay(
    broker: &dyn Broker,
    delivery: &Delivery,
) -> Delivery {
    broker
        .retry(delivery, Duration::from_millis(300), "boom")
        .await
        .expect("retry");
    assert!(broker.ack(delivery).await.is_err(), "settled once only");
    let started = Instant::now();
    let again = broker
        .receive(&delivery.queue)
        .await
        .expect("receive again");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (again.id, again.attempt),
        (delivery.id, delivery.attempt + 1)
    );
    assert_eq!(again.headers["x-last-error"], "boom");
    again
}

/// A receive waiting on the empty `queue` wakes for a publish to it (`woken`, priority 3).
/// Returns the delivery, acknowledged.
pub async fn a_waiting_receive_wakes_for_a_publish(
    broker: Arc<dyn Broker>,
    queue: &str,
) -> Delivery {
    let waiting = tokio::spawn({
        let (broker, queue) = (broker.clone(), queue.to_string());
        async move { broker.receive(&queue).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    broker
        .publish(queue, Message::new("woken").with_priority(3))
        .await
        .expect("publish");
    let woken = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("wakes")
        .expect("joins")
        .expect("receives");
    broker.ack(&woken).await.expect("ack");
    woken
}

/// A consumer of `queue` declared with 2 retries 20 ms apart and `dead_letter`, whose
/// handler always fails transiently: a message `work` published to `queue` is retried
/// twice, then dead-lettered. The caller checks the dead-letter queue its own way.
pub async fn a_failing_consumer_dead_letters(
    broker: Arc<dyn Broker>,
    queue: &str,
    dead_letter: &str,
) {
    let config = ConsumerConfig {
        concurrency: 1,
        retry: RetrySettings {
            attempts: 2,
            backoff: Backoff::Fixed(Duration::from_millis(20)),
            jitter: 0.0,
        },
        dead_letter: Some(dead_letter.into()),
        ..ConsumerConfig::default()
    };
    let consumer = Consumer::new(broker.clone(), queue, config);
    broker
        .publish(queue, Message::new("work"))
        .await
        .expect("publish");
    let fail = |_| async { Err(HandlerError::transient("down")) };
    let mut settled = Vec::new();
    for _ in 0..3 {
        let (_, s) = consumer.process_one(&fail).await.expect("processed");
        settled.push(s);
    }
    assert!(matches!(settled[0], Settled::Retried { .. }));
    assert!(matches!(settled[1], Settled::Retried { .. }));
    assert_eq!(settled[2], Settled::DeadLettered);
}
