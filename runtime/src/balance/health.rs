//! Upstream health bookkeeping (`health { healthy_after unhealthy_after interval timeout }`):
//! consecutive-result counting ([`Health`]), and the active-check driver
//! ([`check_once`], [`run_checks`]) over a [`Probe`] trait so the HTTP probe of a service's
//! health path can be plugged in later.

use super::{Balancer, Upstream};
use crate::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Thresholds of consecutive results that flip an upstream's health (defaults 2 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive successful checks that make an unhealthy upstream healthy.
    pub healthy_after: u32,
    /// Consecutive failed checks that make a healthy upstream unhealthy.
    pub unhealthy_after: u32,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            healthy_after: 2,
            unhealthy_after: 3,
        }
    }
}

/// One upstream's health: healthy at start (like nginx), flipped by a run of contrary
/// results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    healthy: bool,
    streak: u32,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            healthy: true,
            streak: 0,
        }
    }
}

impl Health {
    /// Whether the upstream takes traffic.
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Records one check result; returns whether the health flipped.
    pub fn record(&mut self, ok: bool, policy: &HealthPolicy) -> bool {
        if ok == self.healthy {
            self.streak = 0;
            return false;
        }
        self.streak += 1;
        let needed = if self.healthy {
            policy.unhealthy_after
        } else {
            policy.healthy_after
        };
        if self.streak >= needed.max(1) {
            self.healthy = ok;
            self.streak = 0;
            return true;
        }
        false
    }
}

/// An active health check of one upstream (for example `GET /health` with a timeout).
pub trait Probe: Send + Sync {
    /// Whether `upstream` answered its health check in time.
    fn check<'a>(&'a self, upstream: &'a Upstream) -> BoxFuture<'a, bool>;
}

/// Probes every upstream once, each bounded by `timeout` (a probe that takes longer counts
/// as failed), and records the results.
pub async fn check_once(balancer: &Balancer, probe: &dyn Probe, timeout: Duration) {
    for (index, upstream) in balancer.upstreams().iter().enumerate() {
        let ok = tokio::time::timeout(timeout, probe.check(upstream))
            .await
            .unwrap_or(false);
        balancer.record_check(index, ok);
    }
}

/// Runs [`check_once`] every `interval`, forever (spawn it and abort the task to stop).
pub async fn run_checks(
    balancer: Arc<Balancer>,
    probe: Arc<dyn Probe>,
    interval: Duration,
    timeout: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        check_once(&balancer, probe.as_ref(), timeout).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::Algorithm;
    use std::collections::HashSet;
    use std::sync::Mutex;

    #[test]
    fn flips_only_after_consecutive_results() {
        let policy = HealthPolicy::default();
        let mut h = Health::default();
        assert!(h.is_healthy());
        assert!(!h.record(false, &policy));
        assert!(!h.record(false, &policy));
        assert!(!h.record(true, &policy)); // streak broken
        assert!(!h.record(false, &policy));
        assert!(!h.record(false, &policy));
        assert!(h.record(false, &policy));
        assert!(!h.is_healthy());
        assert!(!h.record(true, &policy));
        assert!(h.record(true, &policy));
        assert!(h.is_healthy());
    }

    /// Fails the upstreams listed in `down`; hangs for `slow` ones.
    struct FakeProbe {
        down: Mutex<HashSet<String>>,
        slow: HashSet<String>,
    }

    impl Probe for FakeProbe {
        fn check<'a>(&'a self, upstream: &'a Upstream) -> BoxFuture<'a, bool> {
            Box::pin(async move {
                if self.slow.contains(&upstream.id) {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                !self.down.lock().unwrap().contains(&upstream.id)
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_checks_take_upstreams_out_and_back() {
        let balancer = Arc::new(
            Balancer::new(
                Algorithm::RoundRobin,
                vec![Upstream::new("a"), Upstream::new("b"), Upstream::new("c")],
            )
            .unwrap(),
        );
        let probe = Arc::new(FakeProbe {
            down: Mutex::new(["b".to_string()].into()),
            slow: ["c".to_string()].into(),
        });
        let task = tokio::spawn(run_checks(
            balancer.clone(),
            probe.clone(),
            Duration::from_secs(10),
            Duration::from_secs(2),
        ));
        // ticks at 0s, 10s, 20s: three failures
        tokio::time::sleep(Duration::from_secs(25)).await;
        let healthy: Vec<bool> = balancer.status().iter().map(|s| s.healthy).collect();
        assert_eq!(healthy, [true, false, false]);
        probe.down.lock().unwrap().clear();
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!balancer.status()[1].healthy);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(balancer.status()[1].healthy);
        task.abort();
    }
}
