//! Time sources: the [`Clock`] trait, the wall clock [`SystemClock`] and the manually
//! driven [`ManualClock`] used by tests (no sleeping, fully deterministic).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, as a [`Duration`] since the Unix epoch.
///
/// Everything in this crate that depends on time (limiters, breakers, id generators) reads
/// it through this trait, so a test can drive time by hand with [`ManualClock`].
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time since the Unix epoch.
    fn now(&self) -> Duration;

    /// The current time in whole milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.now().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The system wall clock ([`SystemTime::now`]). A time before 1970 reads as zero.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that only moves when told to. Clones share the same time, so a test can keep
/// one handle and give another to the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `start` since the Unix epoch.
    pub fn new(start: Duration) -> Self {
        Self {
            nanos: Arc::new(AtomicU64::new(saturating_nanos(start))),
        }
    }

    /// A clock starting at 2024-01-01T00:00:00Z, a convenient fixed point for tests.
    pub fn at_2024() -> Self {
        Self::new(Duration::from_secs(1_704_067_200))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = saturating_nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Sets the clock to `to` since the Unix epoch; it may go backwards (to test that the
    /// code under test copes with a wall clock that jumps back).
    pub fn set(&self, to: Duration) {
        self.nanos.store(saturating_nanos(to), Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::at_2024()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Duration::from_millis(1_000));
        assert_eq!(clock.now_ms(), 1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now(), Duration::from_millis(1_250));
    }

    #[test]
    fn clones_share_time_and_set_can_go_back() {
        let a = ManualClock::at_2024();
        let b = a.clone();
        a.advance(Duration::from_secs(5));
        assert_eq!(b.now(), Duration::from_secs(1_704_067_205));
        b.set(Duration::from_secs(10));
        assert_eq!(a.now_ms(), 10_000);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > Duration::from_secs(1_704_067_200));
    }
}
