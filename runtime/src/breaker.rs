//! Circuit breaker (`breaker { failures reset half_open }`) for outbound calls.
//!
//! - **closed**: calls go through; `failures` consecutive failures open the breaker.
//! - **open**: calls are refused at once (answer 503 with `Retry-After`) until `reset` has
//!   passed since opening, then the breaker is half-open.
//! - **half-open**: at most `half_open` trial calls are let through. A failed trial re-opens
//!   the breaker (for another `reset`); once `half_open` trials have succeeded it closes.
//!
//! Results are reported through a [`Permit`]. A permit dropped without a result (the caller
//! was cancelled) frees its trial slot without counting. Results of calls admitted before
//! the last state change are ignored, so a slow call cannot flip a breaker it did not test.

use crate::clock::Clock;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The breaker's settings, defaults as in the language: 5 failures, 30s reset, 3 trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (at least 1).
    pub failures: u32,
    /// How long the breaker stays open before trying again.
    pub reset: Duration,
    /// Trial calls let through when half-open, and successes needed to close (at least 1).
    pub half_open: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: 5,
            reset: Duration::from_secs(30),
            half_open: 3,
        }
    }
}

/// The three states of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused.
    Open,
    /// A limited number of trial calls go through.
    HalfOpen,
}

/// A call refused by the breaker; `retry_after` is the time until it lets calls through
/// again (zero when half-open with every trial slot taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerOpen {
    /// Time until the breaker will admit a call.
    pub retry_after: Duration,
}

impl fmt::Display for BreakerOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "circuit open, retry after {:?}", self.retry_after)
    }
}

impl std::error::Error for BreakerOpen {}

/// The error of [`CircuitBreaker::call`]: refused by the breaker, or the call's own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakerError<E> {
    /// The breaker refused the call; it was not made.
    Open(BreakerOpen),
    /// The call was made and failed.
    Inner(E),
}

impl<E: fmt::Display> fmt::Display for BreakerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open(o) => o.fmt(f),
            Self::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for BreakerError<E> {}

/// A circuit breaker shared by all calls to one dependency.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    generation: u64,
    failures: u32,
    opened_at: Duration,
    trials_admitted: u32,
    trial_successes: u32,
}

/// Permission to make one call; report its result with [`Permit::success`] or
/// [`Permit::failure`].
#[derive(Debug)]
#[must_use = "report the call's result with success() or failure()"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    settled: bool,
}

impl CircuitBreaker {
    /// A closed breaker. `failures` and `half_open` below 1 are raised to 1.
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        let config = BreakerConfig {
            failures: config.failures.max(1),
            half_open: config.half_open.max(1),
            ..config
        };
        Self {
            config,
            clock,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                generation: 0,
                failures: 0,
                opened_at: Duration::ZERO,
                trials_admitted: 0,
                trial_successes: 0,
            }),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> BreakerConfig {
        self.config
    }

    /// The current state (an open breaker whose `reset` has passed reads as half-open).
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// Asks to make one call.
    pub fn try_acquire(&self) -> Result<Permit<'_>, BreakerOpen> {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => {}
            BreakerState::Open => {
                let reopen = inner.opened_at + self.config.reset;
                return Err(BreakerOpen {
                    retry_after: reopen.saturating_sub(self.clock.now()),
                });
            }
            BreakerState::HalfOpen => {
                if inner.trials_admitted >= self.config.half_open {
                    return Err(BreakerOpen {
                        retry_after: Duration::ZERO,
                    });
                }
                inner.trials_admitted += 1;
            }
        }
        Ok(Permit {
            breaker: self,
            generation: inner.generation,
            settled: false,
        })
    }

    /// Runs `call` through the breaker: refused at once when open, otherwise awaited and
    /// its `Err` counted as a failure.
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, BreakerError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(BreakerError::Open)?;
        match call.await {
            Ok(v) => {
                permit.success();
                Ok(v)
            }
            Err(e) => {
                permit.failure();
                Err(BreakerError::Inner(e))
            }
        }
    }

    /// Locks the state, first moving an open breaker whose reset has passed to half-open.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.state == BreakerState::Open
            && self.clock.now().saturating_sub(inner.opened_at) >= self.config.reset
        {
            inner.transition(BreakerState::HalfOpen, self.clock.now());
        }
        inner
    }

    fn settle(&self, generation: u64, outcome: Option<bool>) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        let now = self.clock.now();
        match (inner.state, outcome) {
            (BreakerState::Closed, Some(true)) => inner.failures = 0,
            (BreakerState::Closed, Some(false)) => {
                inner.failures += 1;
                if inner.failures >= self.config.failures {
                    inner.transition(BreakerState::Open, now);
                }
            }
            (BreakerState::HalfOpen, Some(true)) => {
                inner.trial_successes += 1;
                if inner.trial_successes >= self.config.half_open {
                    inner.transition(BreakerState::Closed, now);
                }
            }
            (BreakerState::HalfOpen, Some(false)) => inner.transition(BreakerState::Open, now),
            (BreakerState::HalfOpen, None) => {
                inner.trials_admitted = inner.trials_admitted.saturating_sub(1);
            }
            _ => {}
        }
    }
}

impl Inner {
    fn transition(&mut self, state: BreakerState, now: Duration) {
        self.state = state;
        self.generation += 1;
        self.failures = 0;
        self.trials_admitted = 0;
        self.trial_successes = 0;
        if state == BreakerState::Open {
            self.opened_at = now;
        }
    }
}

impl Permit<'_> {
    /// The call succeeded.
    pub fn success(mut self) {
        self.settled = true;
        self.breaker.settle(self.generation, Some(true));
    }

    /// The call failed (error, timeout, 5xx: whatever the caller counts as failure).
    pub fn failure(mut self) {
        self.settled = true;
        self.breaker.settle(self.generation, Some(false));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.breaker.settle(self.generation, None);
        }
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
