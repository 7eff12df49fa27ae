//! The four rate-limiting algorithms as pure state transitions: [`apply`] takes one key's
//! [`KeyState`], a [`Spec`], a cost and the current time, updates the state and returns the
//! [`Decision`]. Stores (in memory now, Redis later) only decide where the state lives.

use super::{Algorithm, Decision, Spec};
use std::time::Duration;

/// The rate-limiting state of one key. [`KeyState::default`] is a key never seen before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyState {
    blocked_until: u128,
    counters: Counters,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Counters {
    #[default]
    Fresh,
    Fixed {
        window: u128,
        count: u64,
    },
    Sliding {
        window: u128,
        prev: u64,
        curr: u64,
    },
    /// Token bucket: `level` is tokens × period-in-ns (exact integer refill).
    Tokens {
        level: u128,
        last: u128,
    },
    /// Leaky bucket: `level` is water × period-in-ns.
    Water {
        level: u128,
        last: u128,
    },
}

impl KeyState {
    /// Whether this state is indistinguishable from a fresh one at `now` under `spec`, so a
    /// store may forget it.
    pub fn is_idle(&self, spec: &Spec, now: Duration) -> bool {
        let now = now.as_nanos();
        if self.blocked_until > now {
            return false;
        }
        let w = spec.rate.per().as_nanos();
        let count = u128::from(spec.rate.count());
        match self.counters {
            Counters::Fresh => true,
            Counters::Fixed { window, .. } => window < now / w,
            Counters::Sliding { window, .. } => window + 1 < now / w,
            Counters::Tokens { level, last } => {
                let cap = u128::from(spec.burst.max(1)) * w;
                level.saturating_add(now.saturating_sub(last).saturating_mul(count)) >= cap
            }
            Counters::Water { level, last } => {
                level <= now.saturating_sub(last).saturating_mul(count)
            }
        }
    }
}

/// Applies `spec` to `state` for a request of `cost` units at `now` (since the Unix epoch)
/// and returns the decision. A refusal under a spec with a `block` duration blocks the key
/// until `now + block`; while blocked every request is refused.
///
/// A `cost` above the quota can never be admitted; it is refused with the time until the
/// key's counters are clear as `retry_after`.
pub fn apply(state: &mut KeyState, spec: &Spec, cost: u64, now: Duration) -> Decision {
    let now_ns = now.as_nanos();
    let limit = spec.limit();
    if state.blocked_until > now_ns {
        let wait = nanos(state.blocked_until - now_ns);
        return Decision {
            allowed: false,
            limit,
            remaining: 0,
            reset_after: wait,
            retry_after: wait,
            delay: Duration::ZERO,
        };
    }
    let mut decision = match spec.algorithm {
        Algorithm::FixedWindow => fixed_window(state, spec, cost, now_ns),
        Algorithm::SlidingWindow => sliding_window(state, spec, cost, now_ns),
        Algorithm::TokenBucket => token_bucket(state, spec, cost, now_ns),
        Algorithm::LeakyBucket => leaky_bucket(state, spec, cost, now_ns),
    };
    if !decision.allowed && !spec.block.is_zero() {
        state.blocked_until = now_ns.saturating_add(spec.block.as_nanos());
        decision.remaining = 0;
        decision.retry_after = decision.retry_after.max(spec.block);
        decision.reset_after = decision.reset_after.max(spec.block);
    }
    decision
}

fn fixed_window(state: &mut KeyState, spec: &Spec, cost: u64, now: u128) -> Decision {
    let w = spec.rate.per().as_nanos();
    let limit = spec.rate.count();
    let mut idx = now / w;
    let mut count = 0;
    if let Counters::Fixed { window, count: c } = state.counters {
        // A clock that went back stays in the later window rather than granting a new one.
        if window >= idx {
            idx = window;
            count = c;
        }
    }
    let window_end = nanos(((idx + 1) * w).saturating_sub(now));
    let allowed = count.saturating_add(cost) <= limit;
    if allowed {
        count += cost;
    }
    state.counters = Counters::Fixed { window: idx, count };
    Decision {
        allowed,
        limit,
        remaining: limit.saturating_sub(count),
        reset_after: if count == 0 {
            Duration::ZERO
        } else {
            window_end
        },
        retry_after: if allowed { Duration::ZERO } else { window_end },
        delay: Duration::ZERO,
    }
}

fn sliding_window(state: &mut KeyState, spec: &Spec, cost: u64, now: u128) -> Decision {
    let w = spec.rate.per().as_nanos();
    let limit = spec.rate.count();
    let mut idx = now / w;
    let (mut prev, mut curr) = (0u64, 0u64);
    if let Counters::Sliding {
        window,
        prev: p,
        curr: c,
    } = state.counters
    {
        if window >= idx {
            idx = window;
            (prev, curr) = (p, c);
        } else if window + 1 == idx {
            prev = c;
        }
    }
    let elapsed = now.saturating_sub(idx * w).min(w);
    let left = w - elapsed;
    let weighted = |prev: u64| u128::from(prev) * left;
    let fits = |curr: u64| {
        weighted(prev) + u128::from(curr.saturating_add(cost)) * w <= u128::from(limit) * w
    };
    let allowed = fits(curr);
    let retry_after = if allowed {
        Duration::ZERO
    } else if curr.saturating_add(cost) <= limit {
        // Wait in this window until the previous window's weight has decayed enough.
        let slack = u128::from(limit.saturating_sub(curr).saturating_sub(cost));
        let needed = w.saturating_sub(slack * w / u128::from(prev.max(1)));
        nanos(needed.saturating_sub(elapsed))
    } else if cost <= limit {
        // Wait for the next window, then until this window's weight has decayed enough.
        let slack = u128::from(limit - cost);
        nanos(left + w.saturating_sub(slack * w / u128::from(curr.max(1))))
    } else {
        nanos(left + w)
    };
    if allowed {
        curr += cost;
    }
    state.counters = Counters::Sliding {
        window: idx,
        prev,
        curr,
    };
    let used = weighted(prev) + u128::from(curr) * w;
    let remaining = (u128::from(limit) * w).saturating_sub(used) / w;
    let reset_after = if curr > 0 {
        nanos(left + w)
    } else if prev > 0 {
        nanos(left)
    } else {
        Duration::ZERO
    };
    Decision {
        allowed,
        limit,
        remaining: remaining as u64,
        reset_after,
        retry_after,
        delay: Duration::ZERO,
    }
}

/// Common bucket quantities: (units per token, capacity in units, refill units per ns).
fn bucket_scale(spec: &Spec) -> (u128, u128, u128) {
    let per = spec.rate.per().as_nanos();
    let cap = u128::from(spec.burst.max(1)).saturating_mul(per);
    (per, cap, u128::from(spec.rate.count()))
}

fn token_bucket(state: &mut KeyState, spec: &Spec, cost: u64, now: u128) -> Decision {
    let (unit, cap, speed) = bucket_scale(spec);
    let (mut level, last) = match state.counters {
        Counters::Tokens { level, last } => (level.min(cap), last),
        _ => (cap, now),
    };
    if now > last {
        level = level
            .saturating_add((now - last).saturating_mul(speed))
            .min(cap);
    }
    let need = u128::from(cost).saturating_mul(unit);
    let allowed = level >= need;
    if allowed {
        level -= need;
    }
    state.counters = Counters::Tokens {
        level,
        last: now.max(last),
    };
    let reset = nanos(ceil_div(cap - level, speed));
    let retry_after = if allowed {
        Duration::ZERO
    } else if need <= cap {
        nanos(ceil_div(need - level, speed))
    } else {
        reset
    };
    Decision {
        allowed,
        limit: spec.limit(),
        remaining: (level / unit) as u64,
        reset_after: reset,
        retry_after,
        delay: Duration::ZERO,
    }
}

fn leaky_bucket(state: &mut KeyState, spec: &Spec, cost: u64, now: u128) -> Decision {
    let (unit, cap, speed) = bucket_scale(spec);
    let (mut level, last) = match state.counters {
        Counters::Water { level, last } => (level.min(cap), last),
        _ => (0, now),
    };
    if now > last {
        level = level.saturating_sub((now - last).saturating_mul(speed));
    }
    let need = u128::from(cost).saturating_mul(unit);
    let allowed = level.saturating_add(need) <= cap;
    let mut delay = Duration::ZERO;
    let retry_after = if allowed {
        delay = nanos(ceil_div(level, speed));
        level += need;
        Duration::ZERO
    } else if need <= cap {
        nanos(ceil_div(level.saturating_add(need) - cap, speed))
    } else {
        nanos(ceil_div(level, speed))
    };
    state.counters = Counters::Water {
        level,
        last: now.max(last),
    };
    Decision {
        allowed,
        limit: spec.limit(),
        remaining: ((cap - level) / unit) as u64,
        reset_after: nanos(ceil_div(level, speed)),
        retry_after,
        delay,
    }
}

fn ceil_div(a: u128, b: u128) -> u128 {
    if b == 0 {
        0
    } else {
        a.div_ceil(b)
    }
}

fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

#[cfg(test)]
#[path = "algorithm_tests.rs"]
mod tests;
