//! What every [`Broker`] must agree on, as checks the backend tests run against the
//! in-process broker and the real servers alike (a failed check panics with what differed).

use super::{Broker, BrokerError, Message};
use crate::spec::QueueSpec;
use std::time::Duration;

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
