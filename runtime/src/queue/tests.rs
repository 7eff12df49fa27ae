//! Tests of the in-memory broker and the consumer on paused tokio time: priorities, delays,
//! retries, dead letters, error classes, concurrency.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::time::{timeout, Instant};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn consumer(broker: &Arc<MemoryBroker>, config: ConsumerConfig) -> Consumer {
    Consumer::new(broker.clone(), "orders", config).with_seed(1)
}

fn fixed_retry(attempts: u32) -> ConsumerConfig {
    ConsumerConfig {
        retry: RetrySettings {
            attempts,
            backoff: crate::retry::Backoff::Fixed(secs(1)),
            jitter: 0.0,
        },
        dead_letter: Some("orders_dlq".into()),
        ..ConsumerConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn priorities_first_then_first_in_first_out() {
    let broker = MemoryBroker::new();
    for (body, priority) in [
        ("low-1", 0),
        ("high-1", 9),
        ("low-2", 0),
        ("high-2", 9),
        ("mid", 5),
    ] {
        broker
            .publish(
                "q",
                Message::new(body).with_priority(priority).with_key("k"),
            )
            .await
            .unwrap();
    }
    assert_eq!(broker.depth("q"), 5);
    let mut order = Vec::new();
    for _ in 0..5 {
        let d = broker.receive("q").await.unwrap();
        assert_eq!((d.attempt, d.key.as_deref()), (1, Some("k")));
        order.push(String::from_utf8(d.payload.clone()).unwrap());
        broker.ack(&d).await.unwrap();
    }
    assert_eq!(order, ["high-1", "high-2", "mid", "low-1", "low-2"]);
    assert_eq!((broker.depth("q"), broker.in_flight("q")), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn delayed_messages_wait_their_turn() {
    let broker = Arc::new(MemoryBroker::new());
    let start = Instant::now();
    broker
        .publish("q", Message::new("later").with_delay(secs(5)))
        .await
        .unwrap();
    assert!(timeout(secs(4), broker.receive("q")).await.is_err());
    let d = broker.receive("q").await.unwrap();
    assert_eq!(d.payload, b"later");
    assert_eq!(start.elapsed(), secs(5));
    // a waiting receiver is woken by a publish
    let b = broker.clone();
    let waiter = tokio::spawn(async move { b.receive("q").await.unwrap().payload });
    tokio::time::sleep(secs(1)).await;
    broker.publish("q", Message::new("now")).await.unwrap();
    assert_eq!(waiter.await.unwrap(), b"now");
}

#[tokio::test(start_paused = true)]
async fn transient_failures_retry_the_declared_times_then_dead_letter() {
    let broker = Arc::new(MemoryBroker::new());
    let c = consumer(&broker, fixed_retry(3));
    broker.publish("orders", Message::new("o-1")).await.unwrap();
    let start = Instant::now();
    let fail = |_d: Delivery| async { Err(HandlerError::transient("db down")) };
    let mut attempts = Vec::new();
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let (d, settled) = c.process_one(&fail).await.unwrap();
        attempts.push(d.attempt);
        outcomes.push(settled);
    }
    assert_eq!(attempts, [1, 2, 3, 4]);
    assert_eq!(outcomes[..3], [Settled::Retried { delay: secs(1) }; 3]);
    assert_eq!(outcomes[3], Settled::DeadLettered);
    assert_eq!(start.elapsed(), secs(3));
    assert_eq!(broker.depth("orders"), 0);
    let dead = broker.receive("orders_dlq").await.unwrap();
    assert_eq!(dead.payload, b"o-1");
    assert_eq!(dead.headers["x-original-queue"], "orders");
    assert_eq!(dead.headers["x-attempts"], "4");
    assert!(dead.headers["x-dead-letter-reason"].starts_with("exhausted"));
    assert!(dead.headers["x-last-error"].contains("db down"));
}

async fn retry_delays(seed: u64) -> (Vec<Duration>, Settled) {
    let broker = Arc::new(MemoryBroker::new());
    let config = ConsumerConfig {
        retry: RetrySettings {
            attempts: 4,
            ..RetrySettings::default()
        },
        ..ConsumerConfig::default()
    };
    let c = Consumer::new(broker.clone(), "orders", config).with_seed(seed);
    broker.publish("orders", Message::new("x")).await.unwrap();
    let fail = |_d: Delivery| async { Err(HandlerError::transient("timeout")) };
    let mut delays = Vec::new();
    for _ in 0..4 {
        match c.process_one(&fail).await.unwrap().1 {
            Settled::Retried { delay } => delays.push(delay),
            other => panic!("expected a retry, got {other:?}"),
        }
    }
    (delays, c.process_one(&fail).await.unwrap().1)
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_with_jitter_is_bounded_and_seeded() {
    let (delays, last) = retry_delays(11).await;
    for (n, delay) in delays.iter().enumerate() {
        let base = secs(1 << n);
        assert!(*delay <= base && *delay >= base.mul_f64(0.8), "{delay:?}");
    }
    assert_eq!(last, Settled::Discarded, "no dead-letter queue configured");
    assert_eq!(retry_delays(11).await.0, delays);
    assert_ne!(retry_delays(12).await.0, delays);
}

#[tokio::test(start_paused = true)]
async fn error_classes_follow_their_routing() {
    let broker = Arc::new(MemoryBroker::new());
    let c = consumer(&broker, fixed_retry(3));
    broker
        .publish("orders", Message::new("bad-json"))
        .await
        .unwrap();
    broker
        .publish("orders", Message::new("over-limit"))
        .await
        .unwrap();
    broker
        .publish("orders", Message::new("fine"))
        .await
        .unwrap();
    let handler = |d: Delivery| async move {
        match d.payload.as_slice() {
            b"bad-json" => Err(HandlerError::invalid("malformed")),
            b"over-limit" => Err(HandlerError::business("credit limit")),
            _ => Ok(()),
        }
    };
    let mut settled = Vec::new();
    for _ in 0..3 {
        settled.push(c.process_one(&handler).await.unwrap().1);
    }
    assert_eq!(
        settled,
        [Settled::Discarded, Settled::DeadLettered, Settled::Acked]
    );
    assert_eq!(broker.depth("orders_dlq"), 1);
    let dead = broker.receive("orders_dlq").await.unwrap();
    assert!(dead.headers["x-dead-letter-reason"].contains("credit limit"));

    let custom = ConsumerConfig {
        errors: ErrorRouting {
            invalid: ErrorAction::DeadLetter,
            ..ErrorRouting::default()
        },
        ..fixed_retry(0)
    };
    let c = consumer(&broker, custom);
    broker
        .publish("orders", Message::new("bad-json"))
        .await
        .unwrap();
    assert_eq!(
        c.process_one(&handler).await.unwrap().1,
        Settled::DeadLettered
    );
    broker
        .publish("orders", Message::new("flaky"))
        .await
        .unwrap();
    let flaky = |_d: Delivery| async { Err(HandlerError::transient("x")) };
    assert_eq!(
        c.process_one(&flaky).await.unwrap().1,
        Settled::DeadLettered
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_is_a_transient_failure() {
    let broker = Arc::new(MemoryBroker::new());
    let c = consumer(&broker, fixed_retry(1));
    broker
        .publish("orders", Message::new("boom"))
        .await
        .unwrap();
    let panics = |_d: Delivery| async { panic!("handler bug") };
    let (_, settled) = c.process_one(&panics).await.unwrap();
    assert_eq!(settled, Settled::Retried { delay: secs(1) });
}

#[tokio::test(start_paused = true)]
async fn run_respects_the_concurrency_limit_and_drains_on_shutdown() {
    let broker = Arc::new(MemoryBroker::new());
    for i in 0..10 {
        broker
            .publish("orders", Message::new(format!("m{i}")))
            .await
            .unwrap();
    }
    let config = ConsumerConfig {
        concurrency: 3,
        ..ConsumerConfig::default()
    };
    let c = Arc::new(consumer(&broker, config));
    assert_eq!(c.config().concurrency, 3);
    let (running, peak, done) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let handler = {
        let (running, peak, done) = (running.clone(), peak.clone(), done.clone());
        move |_d: Delivery| {
            let (running, peak, done) = (running.clone(), peak.clone(), done.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(secs(1)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
    };
    let start = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(c.run(handler, async move {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // 3 + 3 + 3 done, the 10th still running: shutdown waits for it
    assert_eq!(done.load(Ordering::SeqCst), 9);
    stop_tx.send(()).unwrap();
    run.await.unwrap().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 10);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), secs(4));
    assert_eq!((broker.depth("orders"), broker.in_flight("orders")), (0, 0));
}

#[tokio::test]
async fn settling_twice_or_elsewhere_is_refused() {
    let broker = MemoryBroker::new();
    broker
        .publish("q", Message::new("x").with_header("h", "v"))
        .await
        .unwrap();
    let d = broker.receive("q").await.unwrap();
    assert_eq!(d.headers["h"], "v");
    broker.ack(&d).await.unwrap();
    assert_eq!(
        broker.ack(&d).await,
        Err(BrokerError::UnknownDelivery(d.id))
    );
    assert!(broker.retry(&d, secs(1), "e").await.is_err());
    assert!(broker.dead_letter(&d, "dlq", "r").await.is_err());
    assert!(BrokerError::Backend("down".into())
        .to_string()
        .contains("down"));
    assert!(HandlerError::business("no")
        .to_string()
        .contains("Business"));
}

#[tokio::test]
async fn memory_lag_counts_waiting_messages() {
    conformance::lag_counts_waiting_messages(&MemoryBroker::new(), "lagged").await;
}

#[tokio::test]
async fn memory_priorities_come_first() {
    let broker = MemoryBroker::with_specs(&[conformance::priority_spec("ranked", "memory")]);
    conformance::priorities_come_first(&broker, "ranked").await;
}

#[tokio::test]
async fn memory_max_length_refuses_publishes() {
    let broker = MemoryBroker::with_specs(&[conformance::queue_spec("small", "memory", Some(2))]);
    conformance::max_length_refuses_publishes(&broker, "small").await;
}
