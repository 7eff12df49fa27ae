//! Retry policies (`retry { attempts backoff jitter on }`): fixed or exponential backoff,
//! jitter from a seedable RNG, an idempotency gate and retry-on conditions, plus
//! [`RetryPolicy::run`] which drives an async operation with tokio timers.
//!
//! `attempts` counts retries, not tries: `attempts = 3` means up to 4 tries in all, and the
//! language's route default `attempts = 0` means no retry.

use crate::rng::XorShift64;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

/// How long to wait before each retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// `fixed(d)`: the same wait every time.
    Fixed(Duration),
    /// `exponential(base, max = d)`: `base`, `2·base`, `4·base`, … capped at `max`.
    Exponential {
        /// The first wait.
        base: Duration,
        /// The longest wait.
        max: Duration,
    },
}

impl Default for Backoff {
    /// The queue default, `exponential(1s, max = 5m)`.
    fn default() -> Self {
        Self::Exponential {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (1 for the first retry), without jitter.
    pub fn delay(&self, retry: u32) -> Duration {
        match *self {
            Self::Fixed(d) => d,
            Self::Exponential { base, max } => {
                let doublings = retry.saturating_sub(1);
                let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
                base.checked_mul(factor).unwrap_or(max).min(max)
            }
        }
    }
}

/// Applies `jitter` (a fraction, `0.2` for `20%`, clamped to `[0, 1]`) to `delay`: the
/// delay is shortened by a uniformly random share of up to `jitter` of itself, so it stays
/// within the backoff's cap. `1.0` is "full jitter".
pub fn jittered(delay: Duration, jitter: f64, rng: &mut XorShift64) -> Duration {
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    delay.mul_f64(1.0 - jitter * rng.next_f64())
}

/// Why one try failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The upstream answered with this HTTP status.
    Status(u16),
    /// The try timed out.
    Timeout,
    /// The connection could not be made.
    Connect,
    /// Anything else: never retried.
    Other,
}

/// Lets [`RetryPolicy::run`] classify an operation's error.
pub trait Classify {
    /// The kind of failure this error is.
    fn failure(&self) -> Failure;
}

impl Classify for Failure {
    fn failure(&self) -> Failure {
        *self
    }
}

/// The conditions that are retried (`on = [502, 503, timeout, connect]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOn {
    /// Statuses retried.
    pub statuses: BTreeSet<u16>,
    /// Whether timeouts are retried.
    pub timeout: bool,
    /// Whether connection failures are retried.
    pub connect: bool,
}

impl Default for RetryOn {
    /// Without `on`: 502, 503, 504, timeouts and connection failures.
    fn default() -> Self {
        Self {
            statuses: [502, 503, 504].into(),
            timeout: true,
            connect: true,
        }
    }
}

impl RetryOn {
    /// Whether `failure` is retried.
    pub fn matches(&self, failure: Failure) -> bool {
        match failure {
            Failure::Status(s) => self.statuses.contains(&s),
            Failure::Timeout => self.timeout,
            Failure::Connect => self.connect,
            Failure::Other => false,
        }
    }
}

/// A retry policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub attempts: u32,
    /// Wait before each retry.
    pub backoff: Backoff,
    /// Jitter fraction in `[0, 1]` (`0.2` for `20%`).
    pub jitter: f64,
    /// Conditions retried.
    pub on: RetryOn,
}

impl Default for RetryPolicy {
    /// No retry (the route default `attempts = 0`), default backoff, 20% jitter.
    fn default() -> Self {
        Self {
            attempts: 0,
            backoff: Backoff::default(),
            jitter: 0.2,
            on: RetryOn::default(),
        }
    }
}

impl RetryPolicy {
    /// The wait before another try, or `None` to give up: after `retries_done` retries, a
    /// try failed with `failure`. Only `idempotent` operations are retried.
    pub fn next_delay(
        &self,
        retries_done: u32,
        failure: Failure,
        idempotent: bool,
        rng: &mut XorShift64,
    ) -> Option<Duration> {
        if !idempotent || retries_done >= self.attempts || !self.on.matches(failure) {
            return None;
        }
        let delay = self.backoff.delay(retries_done + 1);
        Some(jittered(delay, self.jitter, rng))
    }

    /// Runs `op` (given the try number, 0 first) until it succeeds or the policy gives up,
    /// sleeping between tries with `tokio::time::sleep`; returns the last error.
    pub async fn run<T, E, F, Fut>(
        &self,
        idempotent: bool,
        rng: &mut XorShift64,
        mut op: F,
    ) -> Result<T, E>
    where
        E: Classify,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut retries = 0;
        loop {
            match op(retries).await {
                Ok(v) => return Ok(v),
                Err(e) => match self.next_delay(retries, e.failure(), idempotent, rng) {
                    Some(delay) => {
                        tokio::time::sleep(delay).await;
                        retries += 1;
                    }
                    None => return Err(e),
                },
            }
        }
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
