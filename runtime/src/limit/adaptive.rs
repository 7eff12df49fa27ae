//! Adaptive limits (`adaptive { min max on }`): a rate that moves between `min` and `max`
//! driven by a load signal the service feeds in (latency, error ratio or CPU), using
//! additive increase / multiplicative decrease.

use super::Rate;
use std::sync::Mutex;

/// What drives an adaptive limit (`on = latency | errors | cpu`). The runtime does not
/// measure anything itself: the caller feeds observations with [`AdaptiveRate::observe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Observed latency against a latency target (for example the route's p99 target).
    Latency,
    /// Observed error ratio against an acceptable ratio.
    Errors,
    /// Observed CPU utilisation against a threshold (for example `shed.at_cpu`).
    Cpu,
}

/// A rate between `min` and `max`, starting at the policy's own rate.
///
/// Each observation compares a value with its target. Above target (pressure `p > 1`), the
/// rate is divided by `p`, but at most halved per observation, and never below `min`. At
/// or under target it grows by a tenth of `max − min` per observation, never above `max`.
#[derive(Debug)]
pub struct AdaptiveRate {
    min: f64,
    max: f64,
    base: Rate,
    signal: Signal,
    current: Mutex<f64>,
}

impl AdaptiveRate {
    /// An adaptive rate for a policy whose sustained rate is `base`. `min` and `max` are
    /// swapped if given in the wrong order; `base` is clamped between them.
    pub fn new(base: Rate, min: Rate, max: Rate, signal: Signal) -> Self {
        let (a, b) = (min.per_second_f64(), max.per_second_f64());
        let (min, max) = if a <= b { (a, b) } else { (b, a) };
        Self {
            min,
            max,
            base,
            signal,
            current: Mutex::new(base.per_second_f64().clamp(min, max)),
        }
    }

    /// The signal this rate follows.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Records one observation: `value` of the signal against `target` (same unit). A
    /// non-positive or non-finite target or value is ignored.
    pub fn observe(&self, value: f64, target: f64) {
        if !(value.is_finite() && target.is_finite() && value >= 0.0 && target > 0.0) {
            return;
        }
        let pressure = value / target;
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *current = if pressure > 1.0 {
            (*current / pressure.min(2.0)).max(self.min)
        } else {
            (*current + (self.max - self.min) / 10.0).min(self.max)
        };
    }

    /// The current rate in units per second.
    pub fn per_second(&self) -> f64 {
        *self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The factor to apply to the policy's rates: current rate over the policy's rate.
    pub fn factor(&self) -> f64 {
        self.per_second() / self.base.per_second_f64()
    }

    /// The current rate, expressed in the period of the policy's rate.
    pub fn current(&self) -> Rate {
        self.base.scaled(self.factor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adaptive() -> AdaptiveRate {
        AdaptiveRate::new(
            Rate::per_minute(600),
            Rate::per_minute(60),
            Rate::per_minute(1_200),
            Signal::Latency,
        )
    }

    #[test]
    fn starts_at_the_policy_rate() {
        let a = adaptive();
        assert_eq!(a.current(), Rate::per_minute(600));
        assert_eq!(a.signal(), Signal::Latency);
        assert!((a.factor() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn pressure_lowers_down_to_min_and_calm_raises_up_to_max() {
        let a = adaptive();
        a.observe(0.4, 0.2); // latency twice the target: halve
        assert_eq!(a.current(), Rate::per_minute(300));
        a.observe(10.0, 0.2); // at most halved per observation
        assert_eq!(a.current(), Rate::per_minute(150));
        for _ in 0..10 {
            a.observe(10.0, 0.2);
        }
        assert_eq!(a.current(), Rate::per_minute(60));
        a.observe(0.1, 0.2); // + (20 − 1)/10 per second = +114/min
        assert_eq!(a.current(), Rate::per_minute(174));
        for _ in 0..20 {
            a.observe(0.1, 0.2);
        }
        assert_eq!(a.current(), Rate::per_minute(1_200));
    }

    #[test]
    fn nonsense_observations_are_ignored_and_bounds_are_ordered() {
        let a = AdaptiveRate::new(
            Rate::per_second(5),
            Rate::per_second(10),
            Rate::per_second(2),
            Signal::Cpu,
        );
        for (v, t) in [
            (f64::NAN, 1.0),
            (1.0, 0.0),
            (-1.0, 1.0),
            (1.0, f64::INFINITY),
        ] {
            a.observe(v, t);
        }
        assert_eq!(a.per_second(), 5.0);
        for _ in 0..10 {
            a.observe(0.99, 0.85);
        }
        assert_eq!(a.per_second(), 2.0);
    }
}
