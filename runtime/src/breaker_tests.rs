//! Tests of the circuit breaker's state machine on a manual clock.

use super::*;
use crate::clock::ManualClock;

fn breaker(failures: u32, half_open: u32) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::at_2024();
    let config = BreakerConfig {
        failures,
        reset: Duration::from_secs(30),
        half_open,
    };
    (CircuitBreaker::new(config, Arc::new(clock.clone())), clock)
}

fn fail(b: &CircuitBreaker, n: u32) {
    for _ in 0..n {
        b.try_acquire().unwrap().failure();
    }
}

#[test]
fn defaults_match_the_language() {
    assert_eq!(
        BreakerConfig::default(),
        BreakerConfig {
            failures: 5,
            reset: Duration::from_secs(30),
            half_open: 3
        }
    );
    let (b, _) = breaker(0, 0);
    assert_eq!((b.config().failures, b.config().half_open), (1, 1));
}

#[test]
fn opens_after_consecutive_failures_only() {
    let (b, _) = breaker(3, 1);
    fail(&b, 2);
    b.try_acquire().unwrap().success(); // resets the count
    fail(&b, 2);
    assert_eq!(b.state(), BreakerState::Closed);
    fail(&b, 1);
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn open_refuses_with_retry_after_then_goes_half_open() {
    let (b, clock) = breaker(1, 1);
    fail(&b, 1);
    clock.advance(Duration::from_secs(10));
    let refused = b.try_acquire().unwrap_err();
    assert_eq!(refused.retry_after, Duration::from_secs(20));
    assert!(refused.to_string().contains("circuit open"));
    clock.advance(Duration::from_secs(20));
    assert_eq!(b.state(), BreakerState::HalfOpen);
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn half_open_admits_only_the_trial_budget_and_needs_all_to_succeed() {
    let (b, clock) = breaker(1, 3);
    fail(&b, 1);
    clock.advance(Duration::from_secs(30));
    let trials: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    let extra = b.try_acquire().unwrap_err();
    assert_eq!(extra.retry_after, Duration::ZERO);
    let mut trials = trials.into_iter();
    trials.next().unwrap().success();
    trials.next().unwrap().success();
    assert_eq!(b.state(), BreakerState::HalfOpen);
    trials.next().unwrap().success();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn a_failed_trial_reopens_for_another_reset() {
    let (b, clock) = breaker(2, 2);
    fail(&b, 2);
    clock.advance(Duration::from_secs(31));
    let ok = b.try_acquire().unwrap();
    let bad = b.try_acquire().unwrap();
    bad.failure();
    assert_eq!(b.state(), BreakerState::Open);
    ok.success(); // from the previous half-open period: ignored
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Duration::from_secs(30)
    );
}

#[test]
fn dropped_trials_free_their_slot() {
    let (b, clock) = breaker(1, 1);
    fail(&b, 1);
    clock.advance(Duration::from_secs(30));
    drop(b.try_acquire().unwrap());
    assert_eq!(b.state(), BreakerState::HalfOpen);
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn late_results_from_before_opening_are_ignored() {
    let (b, clock) = breaker(2, 1);
    let slow = b.try_acquire().unwrap();
    fail(&b, 2);
    assert_eq!(b.state(), BreakerState::Open);
    clock.advance(Duration::from_secs(30));
    slow.failure(); // admitted while closed, reported while half-open
    assert_eq!(b.state(), BreakerState::HalfOpen);
}

#[tokio::test]
async fn call_wraps_a_future() {
    let (b, _) = breaker(1, 1);
    assert_eq!(b.call(async { Ok::<_, String>(7) }).await, Ok(7));
    let err = b.call(async { Err::<u8, _>("boom".to_string()) }).await;
    assert_eq!(err, Err(BreakerError::Inner("boom".to_string())));
    let refused = b.call(async { Ok::<u8, String>(1) }).await.unwrap_err();
    assert!(matches!(refused, BreakerError::Open(_)));
    assert!(refused.to_string().contains("circuit open"));
    assert_eq!(BreakerError::<String>::Inner("x".into()).to_string(), "x");
}
