//! Tests of backoff, jitter, retry conditions and the retry driver on paused tokio time.

use super::*;
use proptest::prelude::*;
use std::cell::Cell;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn exponential_doubles_up_to_the_cap() {
    let b = Backoff::Exponential {
        base: secs(1),
        max: secs(10),
    };
    let delays: Vec<_> = (1..=6).map(|n| b.delay(n)).collect();
    assert_eq!(delays, [1, 2, 4, 8, 10, 10].map(secs));
    assert_eq!(b.delay(0), secs(1));
    assert_eq!(b.delay(u32::MAX), secs(10));
    assert_eq!(Backoff::default().delay(40), secs(300));
    assert_eq!(Backoff::Fixed(secs(2)).delay(9), secs(2));
}

#[test]
fn jitter_only_shortens_and_is_deterministic_when_seeded() {
    let mut rng = XorShift64::new(1);
    assert_eq!(jittered(secs(10), 0.0, &mut rng), secs(10));
    assert_eq!(jittered(secs(10), f64::NAN, &mut rng), secs(10));
    let a: Vec<_> = {
        let mut r = XorShift64::new(99);
        (0..5).map(|_| jittered(secs(10), 0.2, &mut r)).collect()
    };
    let b: Vec<_> = {
        let mut r = XorShift64::new(99);
        (0..5).map(|_| jittered(secs(10), 0.2, &mut r)).collect()
    };
    assert_eq!(a, b);
    assert!(a.iter().all(|d| *d > secs(8) && *d <= secs(10)));
    assert!(a.windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn retry_on_conditions() {
    let on = RetryOn::default();
    assert!(on.matches(Failure::Status(503)));
    assert!(!on.matches(Failure::Status(500)));
    assert!(on.matches(Failure::Timeout) && on.matches(Failure::Connect));
    assert!(!on.matches(Failure::Other));
    let only_429 = RetryOn {
        statuses: [429].into(),
        timeout: false,
        connect: false,
    };
    assert!(only_429.matches(Failure::Status(429)));
    assert!(!only_429.matches(Failure::Timeout));
    assert!(!only_429.matches(Failure::Connect));
}

#[test]
fn next_delay_gates_on_idempotency_attempts_and_condition() {
    let p = RetryPolicy {
        attempts: 2,
        jitter: 0.0,
        ..RetryPolicy::default()
    };
    let mut rng = XorShift64::new(3);
    let timeout = Failure::Timeout;
    assert_eq!(p.next_delay(0, timeout, true, &mut rng), Some(secs(1)));
    assert_eq!(p.next_delay(1, timeout, true, &mut rng), Some(secs(2)));
    assert_eq!(p.next_delay(2, timeout, true, &mut rng), None);
    assert_eq!(p.next_delay(0, timeout, false, &mut rng), None);
    assert_eq!(p.next_delay(0, Failure::Status(404), true, &mut rng), None);
    assert_eq!(
        RetryPolicy::default().next_delay(0, timeout, true, &mut rng),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn run_retries_until_success_with_backoff() {
    let p = RetryPolicy {
        attempts: 3,
        jitter: 0.0,
        ..RetryPolicy::default()
    };
    let tries = Cell::new(0);
    let start = tokio::time::Instant::now();
    let result = p
        .run(true, &mut XorShift64::new(1), |n| {
            tries.set(tries.get() + 1);
            async move {
                if n < 2 {
                    Err(Failure::Status(503))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
    assert_eq!(result, Ok(2));
    assert_eq!(tries.get(), 3);
    assert_eq!(start.elapsed(), secs(3));
}

#[tokio::test(start_paused = true)]
async fn run_gives_up_with_the_last_error() {
    let p = RetryPolicy {
        attempts: 2,
        backoff: Backoff::Fixed(Duration::from_millis(100)),
        jitter: 0.5,
        on: RetryOn::default(),
    };
    let tries = Cell::new(0);
    let result: Result<(), Failure> = p
        .run(true, &mut XorShift64::new(1), |_| {
            tries.set(tries.get() + 1);
            async { Err(Failure::Connect) }
        })
        .await;
    assert_eq!((result, tries.get()), (Err(Failure::Connect), 3));
    tries.set(0);
    let once: Result<(), Failure> = p
        .run(false, &mut XorShift64::new(1), |_| {
            tries.set(tries.get() + 1);
            async { Err(Failure::Connect) }
        })
        .await;
    assert_eq!((once, tries.get()), (Err(Failure::Connect), 1));
}

proptest! {
    #[test]
    fn delays_never_exceed_the_cap(
        base_ms in 1u64..10_000,
        max_ms in 1u64..100_000,
        retry in 0u32..100,
        jitter in 0.0f64..1.0,
        seed: u64,
    ) {
        let b = Backoff::Exponential {
            base: Duration::from_millis(base_ms),
            max: Duration::from_millis(max_ms),
        };
        let d = jittered(b.delay(retry), jitter, &mut XorShift64::new(seed));
        prop_assert!(d <= Duration::from_millis(max_ms));
        prop_assert!(b.delay(retry) <= b.delay(retry + 1));
    }
}
