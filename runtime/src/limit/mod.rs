//! Rate limiting: the shared vocabulary ([`Rate`], [`Algorithm`], [`Spec`], [`Decision`])
//! and, in submodules, the algorithms, the [`LimiterStore`] backend trait with its
//! in-memory implementation, CIDR/country access lists, adaptive rates and the
//! [`Limiter`] that applies a `limit` policy of an `.arch` file to a request.
//!
//! Semantics of the four algorithms (all exact integer arithmetic on nanoseconds):
//! - **fixed window**: at most `rate.count` units per aligned window of `rate.per`.
//! - **sliding window**: the previous window's count, weighted by how much of it still
//!   overlaps the sliding window, plus the current count, stays within `rate.count`.
//! - **token bucket**: a bucket of `burst` tokens (full at start) refilled at `rate`;
//!   a request takes `cost` tokens.
//! - **leaky bucket** (as a queue, like nginx `limit_req` without `nodelay`): requests pour
//!   `cost` units into a bucket of `burst` units draining at `rate`; an admitted request is
//!   told to wait ([`Decision::delay`]) until the water ahead of it has drained, so the
//!   output is smoothed to `rate`; a request that would overflow is refused.
//!
//! The window algorithms ignore `burst`: their quota is `rate.count` per window.

mod access;
mod adaptive;
mod algorithm;
#[cfg(feature = "server")]
mod from_spec;
mod policy;
mod store;

pub use access::{AccessList, AccessListError, Cidr, CidrError};
pub use adaptive::{AdaptiveRate, Signal};
pub use algorithm::{apply, KeyState};
#[cfg(feature = "server")]
pub(crate) use from_spec::policy_from_spec;
pub use policy::{
    check_all, LimitKey, Limiter, Outcome, Policy, PolicyError, RequestInfo, TierLookup, TierMap,
};
pub use store::{LimiterStore, MemoryStore, StoreError};

use std::fmt;
use std::time::Duration;

/// A sustained rate: `count` units per `per` (`100/min` is `Rate::per_minute(100)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    count: u64,
    per: Duration,
}

/// Why a [`Rate`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateError {
    /// The count was zero: a zero rate refuses everything; use a deny list instead.
    ZeroCount,
    /// The period was shorter than one millisecond.
    PeriodTooShort,
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCount => f.write_str("a rate needs a count of at least 1"),
            Self::PeriodTooShort => f.write_str("a rate needs a period of at least 1ms"),
        }
    }
}

impl std::error::Error for RateError {}

impl Rate {
    /// `count` units per `per`; the count must be at least 1 and the period at least 1ms.
    pub fn new(count: u64, per: Duration) -> Result<Self, RateError> {
        if count == 0 {
            return Err(RateError::ZeroCount);
        }
        if per < Duration::from_millis(1) {
            return Err(RateError::PeriodTooShort);
        }
        Ok(Self { count, per })
    }

    fn literal(count: u64, secs: u64) -> Self {
        Self::new(count, Duration::from_secs(secs)).expect("count must be at least 1")
    }

    /// `count` per second.
    ///
    /// # Panics
    /// When `count` is 0 (use [`Rate::new`] for values that are not literals).
    pub fn per_second(count: u64) -> Self {
        Self::literal(count, 1)
    }

    /// `count` per minute. Panics when `count` is 0, like [`Rate::per_second`].
    pub fn per_minute(count: u64) -> Self {
        Self::literal(count, 60)
    }

    /// `count` per hour. Panics when `count` is 0, like [`Rate::per_second`].
    pub fn per_hour(count: u64) -> Self {
        Self::literal(count, 3_600)
    }

    /// `count` per day. Panics when `count` is 0, like [`Rate::per_second`].
    pub fn per_day(count: u64) -> Self {
        Self::literal(count, 86_400)
    }

    /// Units per period.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The period.
    pub fn per(&self) -> Duration {
        self.per
    }

    /// The rate in units per second.
    pub fn per_second_f64(&self) -> f64 {
        self.count as f64 / self.per.as_secs_f64()
    }

    /// The language's default burst for this rate: the rate per second, at least 1.
    pub fn default_burst(&self) -> u64 {
        (self.per_second_f64().floor() as u64).max(1)
    }

    /// The same period with the count scaled by `factor` (rounded, at least 1).
    pub fn scaled(&self, factor: f64) -> Self {
        let scaled = (self.count as f64 * factor).round();
        let count = if scaled.is_finite() && scaled >= 1.0 {
            scaled.min(u64::MAX as f64) as u64
        } else {
            1
        };
        Self {
            count,
            per: self.per,
        }
    }
}

/// The rate-limiting algorithm of a policy (`algorithm = ...`, default token bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// Counter per aligned window.
    FixedWindow,
    /// Weighted previous window plus current window.
    SlidingWindow,
    /// Bucket of `burst` tokens refilled at the rate.
    #[default]
    TokenBucket,
    /// Bucket of `burst` units drained at the rate; admitted requests are delayed.
    LeakyBucket,
}

/// What a store needs to apply one algorithm to one key: resolved from a policy for a
/// request (tier, country and adaptive rate already chosen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The sustained rate (window quota and period, or bucket refill/drain rate).
    pub rate: Rate,
    /// Bucket capacity in units (ignored by the window algorithms), at least 1.
    pub burst: u64,
    /// How long a key stays refused after it was refused once (zero: no blocking).
    pub block: Duration,
}

impl Spec {
    /// The quota reported as `RateLimit-Limit`: the window count or the bucket capacity.
    pub fn limit(&self) -> u64 {
        match self.algorithm {
            Algorithm::FixedWindow | Algorithm::SlidingWindow => self.rate.count,
            Algorithm::TokenBucket | Algorithm::LeakyBucket => self.burst.max(1),
        }
    }
}

/// The answer for one request. Maps directly to the response headers of
/// draft-ietf-httpapi-ratelimit-headers ([`Decision::headers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The quota (`RateLimit-Limit`).
    pub limit: u64,
    /// Units left after this request (`RateLimit-Remaining`).
    pub remaining: u64,
    /// Time until the full quota is available again if no more requests come
    /// (`RateLimit-Reset`).
    pub reset_after: Duration,
    /// For a refused request, the time after which the same request would be admitted
    /// (`Retry-After`); zero when allowed.
    pub retry_after: Duration,
    /// For an admitted request under the leaky bucket, how long to hold it before serving
    /// it so the output stays smooth; zero otherwise.
    pub delay: Duration,
}

impl Decision {
    /// The response headers for this decision: `RateLimit-Limit`, `RateLimit-Remaining`,
    /// `RateLimit-Reset` (whole seconds, rounded up) and, when refused, `Retry-After`
    /// (whole seconds, rounded up, at least 1).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("RateLimit-Limit", self.limit.to_string()),
            ("RateLimit-Remaining", self.remaining.to_string()),
            ("RateLimit-Reset", ceil_secs(self.reset_after).to_string()),
        ];
        if !self.allowed {
            headers.push((
                "Retry-After",
                ceil_secs(self.retry_after).max(1).to_string(),
            ));
        }
        headers
    }
}

/// `d` in whole seconds, rounded up.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_refuse_zero_and_tiny_periods() {
        assert_eq!(
            Rate::new(0, Duration::from_secs(1)),
            Err(RateError::ZeroCount)
        );
        assert_eq!(
            Rate::new(1, Duration::from_micros(10)),
            Err(RateError::PeriodTooShort)
        );
        assert!(RateError::ZeroCount.to_string().contains("at least 1"));
    }

    #[test]
    fn default_burst_is_rate_per_second_at_least_one() {
        assert_eq!(Rate::per_minute(100).default_burst(), 1);
        assert_eq!(Rate::per_second(50).default_burst(), 50);
        assert_eq!(Rate::per_minute(600).default_burst(), 10);
    }

    #[test]
    fn scaling_rounds_and_keeps_at_least_one() {
        assert_eq!(Rate::per_minute(100).scaled(0.5).count(), 50);
        assert_eq!(Rate::per_minute(3).scaled(0.01).count(), 1);
        assert_eq!(Rate::per_minute(3).scaled(f64::NAN).count(), 1);
    }

    #[test]
    fn headers_round_up_and_add_retry_after_only_when_refused() {
        let d = Decision {
            allowed: true,
            limit: 10,
            remaining: 3,
            reset_after: Duration::from_millis(1_500),
            retry_after: Duration::ZERO,
            delay: Duration::ZERO,
        };
        assert_eq!(
            d.headers(),
            vec![
                ("RateLimit-Limit", "10".to_string()),
                ("RateLimit-Remaining", "3".to_string()),
                ("RateLimit-Reset", "2".to_string()),
            ]
        );
        let refused = Decision {
            allowed: false,
            retry_after: Duration::from_millis(10),
            ..d
        };
        assert_eq!(refused.headers()[3], ("Retry-After", "1".to_string()));
    }
}
