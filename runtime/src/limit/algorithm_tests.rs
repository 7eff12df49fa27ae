//! Tests of the rate-limiting algorithms: exact examples per algorithm and properties (never
//! over the rate, exact `retry_after`, no overflow).

use super::*;
use crate::limit::Rate;
use proptest::prelude::*;

const T0: Duration = Duration::from_secs(1_704_067_200); // aligned to the minute

fn spec(algorithm: Algorithm, rate: Rate, burst: u64) -> Spec {
    Spec {
        algorithm,
        rate,
        burst,
        block: Duration::ZERO,
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

#[test]
fn fixed_window_counts_down_then_refuses_until_the_window_ends() {
    let s = spec(Algorithm::FixedWindow, Rate::per_minute(3), 1);
    let mut st = KeyState::default();
    for left in [2, 1, 0] {
        let d = apply(&mut st, &s, 1, T0 + secs(20));
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining), (3, left));
        assert_eq!(d.reset_after, secs(40));
    }
    let d = apply(&mut st, &s, 1, T0 + secs(20));
    assert!(!d.allowed);
    assert_eq!(d.retry_after, secs(40));
    assert!(apply(&mut st, &s, 1, T0 + secs(59)).retry_after == secs(1));
    let d = apply(&mut st, &s, 1, T0 + secs(60));
    assert!(d.allowed);
    assert_eq!(d.remaining, 2);
}

#[test]
fn cost_consumes_several_units_and_oversized_costs_never_pass() {
    let s = spec(Algorithm::FixedWindow, Rate::per_minute(3), 1);
    let mut st = KeyState::default();
    let d = apply(&mut st, &s, 2, T0);
    assert!(d.allowed && d.remaining == 1);
    let d = apply(&mut st, &s, 2, T0);
    assert!(!d.allowed && d.remaining == 1);
    assert!(apply(&mut st, &s, 1, T0).allowed);
    let mut fresh = KeyState::default();
    assert!(!apply(&mut fresh, &s, 4, T0).allowed);
}

#[test]
fn fixed_window_ignores_a_clock_that_goes_back() {
    let s = spec(Algorithm::FixedWindow, Rate::per_minute(1), 1);
    let mut st = KeyState::default();
    assert!(apply(&mut st, &s, 1, T0 + secs(61)).allowed);
    assert!(!apply(&mut st, &s, 1, T0 + secs(30)).allowed);
}

#[test]
fn sliding_window_weights_the_previous_window() {
    let s = spec(Algorithm::SlidingWindow, Rate::per_minute(10), 1);
    let mut st = KeyState::default();
    for _ in 0..10 {
        assert!(apply(&mut st, &s, 1, T0).allowed);
    }
    let d = apply(&mut st, &s, 1, T0 + secs(30));
    assert!(!d.allowed);
    // next window starts in 30s, then 10 × (1 − e/60) + 1 ≤ 10 needs e ≥ 6s
    assert_eq!(d.retry_after, secs(36));
    let d = apply(&mut st, &s, 1, T0 + secs(60));
    assert!(!d.allowed);
    assert_eq!(d.retry_after, secs(6));
    assert!(!apply(&mut st, &s, 1, T0 + secs(66) - ms(1)).allowed);
    let d = apply(&mut st, &s, 1, T0 + secs(66));
    assert!(d.allowed);
    assert_eq!(d.remaining, 0);
    // two windows later, the old counts are gone
    let d = apply(&mut st, &s, 1, T0 + secs(180));
    assert_eq!((d.allowed, d.remaining), (true, 9));
    assert_eq!(d.reset_after, secs(120));
}

#[test]
fn sliding_window_is_smoother_than_fixed_at_the_boundary() {
    let rate = Rate::per_minute(10);
    let (mut fixed, mut sliding) = (KeyState::default(), KeyState::default());
    let f = spec(Algorithm::FixedWindow, rate, 1);
    let sl = spec(Algorithm::SlidingWindow, rate, 1);
    let at = |t: Duration| T0 + t;
    let mut admitted = (0, 0);
    for _ in 0..10 {
        admitted.0 += u32::from(apply(&mut fixed, &f, 1, at(secs(59))).allowed);
        admitted.1 += u32::from(apply(&mut sliding, &sl, 1, at(secs(59))).allowed);
    }
    for _ in 0..10 {
        admitted.0 += u32::from(apply(&mut fixed, &f, 1, at(secs(61))).allowed);
        admitted.1 += u32::from(apply(&mut sliding, &sl, 1, at(secs(61))).allowed);
    }
    assert_eq!(admitted, (20, 10));
}

#[test]
fn token_bucket_allows_a_burst_then_refills_at_the_rate() {
    let s = spec(Algorithm::TokenBucket, Rate::per_second(1), 3);
    let mut st = KeyState::default();
    for left in [2, 1, 0] {
        let d = apply(&mut st, &s, 1, T0);
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining), (3, left));
    }
    let d = apply(&mut st, &s, 1, T0);
    assert!(!d.allowed);
    assert_eq!(d.retry_after, secs(1));
    assert_eq!(d.reset_after, secs(3));
    assert_eq!(apply(&mut st, &s, 1, T0 + ms(400)).retry_after, ms(600));
    assert!(apply(&mut st, &s, 1, T0 + secs(1)).allowed);
    // idle for long: capped at the burst
    let d = apply(&mut st, &s, 1, T0 + secs(100));
    assert_eq!(d.remaining, 2);
}

#[test]
fn token_bucket_handles_rates_that_do_not_divide_evenly() {
    let s = spec(Algorithm::TokenBucket, Rate::per_minute(7), 1);
    let mut st = KeyState::default();
    assert!(apply(&mut st, &s, 1, T0).allowed);
    let d = apply(&mut st, &s, 1, T0);
    // 60/7 s = 8.571428572 s, rounded up to the nanosecond
    assert_eq!(d.retry_after, Duration::from_nanos(8_571_428_572));
    assert!(!apply(&mut st, &s, 1, T0 + Duration::from_nanos(8_571_428_571)).allowed);
    assert!(apply(&mut st, &s, 1, T0 + Duration::from_nanos(8_571_428_572)).allowed);
}

#[test]
fn leaky_bucket_delays_admitted_requests_to_smooth_the_output() {
    let s = spec(Algorithm::LeakyBucket, Rate::per_second(1), 3);
    let mut st = KeyState::default();
    let delays: Vec<_> = (0..3).map(|_| apply(&mut st, &s, 1, T0).delay).collect();
    assert_eq!(delays, vec![secs(0), secs(1), secs(2)]);
    let d = apply(&mut st, &s, 1, T0);
    assert!(!d.allowed);
    assert_eq!(
        (d.remaining, d.retry_after, d.reset_after),
        (0, secs(1), secs(3))
    );
    let d = apply(&mut st, &s, 1, T0 + secs(1));
    assert!(d.allowed);
    assert_eq!(d.delay, secs(2));
    let d = apply(&mut st, &s, 1, T0 + secs(10));
    assert_eq!((d.delay, d.remaining), (secs(0), 2));
}

#[test]
fn leaky_bucket_with_capacity_one_enforces_spacing() {
    let s = spec(Algorithm::LeakyBucket, Rate::per_second(2), 1);
    let mut st = KeyState::default();
    assert!(apply(&mut st, &s, 1, T0).allowed);
    let d = apply(&mut st, &s, 1, T0 + ms(100));
    assert_eq!((d.allowed, d.retry_after), (false, ms(400)));
    assert!(apply(&mut st, &s, 1, T0 + ms(500)).allowed);
}

#[test]
fn block_keeps_a_key_refused_after_the_window_resets() {
    let mut s = spec(Algorithm::FixedWindow, Rate::per_minute(1), 1);
    s.block = Duration::from_secs(300);
    let mut st = KeyState::default();
    assert!(apply(&mut st, &s, 1, T0).allowed);
    let d = apply(&mut st, &s, 1, T0 + secs(1));
    assert_eq!((d.allowed, d.retry_after), (false, secs(300)));
    let d = apply(&mut st, &s, 1, T0 + secs(120));
    assert_eq!(
        (d.allowed, d.retry_after, d.remaining),
        (false, secs(181), 0)
    );
    assert!(!st.is_idle(&s, T0 + secs(120)));
    assert!(apply(&mut st, &s, 1, T0 + secs(301)).allowed);
}

#[test]
fn idle_states_can_be_forgotten() {
    let rate = Rate::per_minute(6);
    for algorithm in [
        Algorithm::FixedWindow,
        Algorithm::SlidingWindow,
        Algorithm::TokenBucket,
        Algorithm::LeakyBucket,
    ] {
        let s = spec(algorithm, rate, 2);
        let mut st = KeyState::default();
        assert!(st.is_idle(&s, T0));
        apply(&mut st, &s, 1, T0);
        assert!(!st.is_idle(&s, T0), "{algorithm:?}");
        assert!(st.is_idle(&s, T0 + secs(121)), "{algorithm:?}");
    }
}

#[test]
fn switching_algorithm_starts_afresh() {
    let mut st = KeyState::default();
    let fixed = spec(Algorithm::FixedWindow, Rate::per_minute(1), 1);
    assert!(apply(&mut st, &fixed, 1, T0).allowed);
    let bucket = spec(Algorithm::TokenBucket, Rate::per_minute(1), 1);
    assert!(apply(&mut st, &bucket, 1, T0).allowed);
}

fn any_algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::FixedWindow),
        Just(Algorithm::SlidingWindow),
        Just(Algorithm::TokenBucket),
        Just(Algorithm::LeakyBucket),
    ]
}

proptest! {
    /// Over any span of time, no algorithm admits more than its quota plus what the rate
    /// allows in that span (windows: two windows' worth at most across a boundary).
    #[test]
    fn never_admits_more_than_rate_allows(
        algorithm in any_algorithm(),
        count in 1u64..20,
        burst in 1u64..10,
        gaps in proptest::collection::vec(0u64..3_000, 1..200),
    ) {
        let s = spec(algorithm, Rate::new(count, secs(10)).unwrap(), burst);
        let mut st = KeyState::default();
        let mut now = T0;
        let mut admitted = 0u64;
        for gap in &gaps {
            now += ms(*gap);
            let d = apply(&mut st, &s, 1, now);
            prop_assert!(d.remaining <= d.limit);
            if d.allowed {
                admitted += 1;
                prop_assert_eq!(d.retry_after, Duration::ZERO);
            } else {
                prop_assert!(d.retry_after > Duration::ZERO);
            }
        }
        let span = (now - T0).as_secs_f64();
        let bound = match algorithm {
            Algorithm::FixedWindow | Algorithm::SlidingWindow => count as f64 * (span / 10.0 + 2.0),
            _ => burst as f64 + count as f64 * span / 10.0,
        };
        prop_assert!(admitted as f64 <= bound + 1e-9, "{} > {}", admitted, bound);
    }

    /// A refused request retried exactly after `retry_after` is admitted, and not 1ns sooner.
    #[test]
    fn retry_after_is_exact(
        algorithm in any_algorithm(),
        count in 1u64..20,
        burst in 1u64..10,
        gaps in proptest::collection::vec(0u64..2_000, 1..100),
    ) {
        let s = spec(algorithm, Rate::new(count, secs(10)).unwrap(), burst);
        let mut st = KeyState::default();
        let mut now = T0;
        for gap in &gaps {
            now += ms(*gap);
            let d = apply(&mut st, &s, 1, now);
            if !d.allowed {
                let mut probe = st.clone();
                prop_assert!(apply(&mut probe, &s, 1, now + d.retry_after).allowed);
                let mut early = st.clone();
                let just_before = now + d.retry_after - Duration::from_nanos(1);
                prop_assert!(!apply(&mut early, &s, 1, just_before).allowed);
            }
        }
    }
}

proptest! {
    /// Extreme counts, bursts, costs, periods and clocks (including going back) never
    /// panic or overflow.
    #[test]
    fn extreme_inputs_never_panic(
        algorithm in any_algorithm(),
        count in 1u64..=u64::MAX,
        burst in 0u64..=u64::MAX,
        cost in 0u64..=u64::MAX,
        per_ms in 1u64..400_000_000_000,
        block_ms in 0u64..1_000_000,
        times in proptest::collection::vec(0u64..=u64::MAX / 2, 1..20),
    ) {
        let s = Spec {
            algorithm,
            rate: Rate::new(count, ms(per_ms)).unwrap(),
            burst,
            block: ms(block_ms),
        };
        let mut st = KeyState::default();
        for t in times {
            let d = apply(&mut st, &s, cost, Duration::from_nanos(t));
            prop_assert!(d.remaining <= d.limit);
            let _ = st.is_idle(&s, Duration::from_nanos(t));
        }
    }
}
