//! Load balancing over a service's upstreams (`balance = ...`): round robin, least
//! connections, smooth weighted round robin (as in nginx), IP hash (rendezvous hashing, so
//! only the clients of an upstream that goes away move), least response time (EWMA) and
//! seeded random. Unhealthy upstreams ([`health`]) are skipped by every algorithm.

pub mod health;

pub use health::{check_once, run_checks, Health, HealthPolicy, Probe};

use crate::hash::stable_hash_pair;
use crate::rng::XorShift64;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The balancing algorithm (`balance = ...`, default round robin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// Each healthy upstream in turn.
    #[default]
    RoundRobin,
    /// The upstream with the fewest calls in flight relative to its weight; ties in turn.
    LeastConnections,
    /// Smooth weighted round robin: each upstream gets its weight's share, interleaved.
    Weighted,
    /// The same client address always goes to the same healthy upstream (highest random
    /// weight of `(address, upstream id)`); without an address, round robin.
    IpHash,
    /// The lowest `EWMA latency × (calls in flight + 1)`; upstreams never measured first.
    LeastResponseTime,
    /// Uniformly random among the healthy upstreams (seedable).
    Random,
}

/// One upstream (a replica's address) with its weight (`weights = [...]`, default 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upstream {
    /// Identity and address, for example `http://10.0.0.5:8081`.
    pub id: String,
    /// Relative weight, at least 1.
    pub weight: u32,
}

impl Upstream {
    /// An upstream of weight 1.
    pub fn new(id: impl Into<String>) -> Self {
        Self::weighted(id, 1)
    }

    /// An upstream of weight `weight`.
    pub fn weighted(id: impl Into<String>, weight: u32) -> Self {
        Self {
            id: id.into(),
            weight,
        }
    }
}

/// Why a balancer could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalanceError {
    /// No upstream was given.
    NoUpstreams,
    /// An upstream has weight 0.
    ZeroWeight(String),
    /// Two upstreams share an id.
    Duplicate(String),
}

impl fmt::Display for BalanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoUpstreams => f.write_str("a balancer needs at least one upstream"),
            Self::ZeroWeight(id) => write!(f, "upstream `{id}` has weight 0"),
            Self::Duplicate(id) => write!(f, "upstream `{id}` is listed twice"),
        }
    }
}

impl std::error::Error for BalanceError {}

/// What a balancer knows about one upstream, for `/metrics` and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamStatus {
    /// The upstream's id.
    pub id: String,
    /// Whether it takes traffic.
    pub healthy: bool,
    /// Calls in flight.
    pub active: u32,
    /// EWMA of observed latency, if measured.
    pub ewma: Option<Duration>,
}

/// A balancer over a fixed set of upstreams.
#[derive(Debug)]
pub struct Balancer {
    algorithm: Algorithm,
    upstreams: Vec<Upstream>,
    health_policy: HealthPolicy,
    alpha: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    peers: Vec<Peer>,
    cursor: usize,
    rng: XorShift64,
}

#[derive(Debug, Clone, Default)]
struct Peer {
    active: u32,
    current_weight: i64,
    ewma_secs: Option<f64>,
    health: Health,
}

/// One chosen upstream. Dropping it ends the call (for least connections); report the
/// latency with [`Pick::finish`] for least response time.
#[derive(Debug)]
pub struct Pick<'a> {
    balancer: &'a Balancer,
    index: usize,
}

impl Balancer {
    /// A balancer with default health thresholds, EWMA factor 0.3 and an entropy-seeded
    /// RNG.
    pub fn new(algorithm: Algorithm, upstreams: Vec<Upstream>) -> Result<Self, BalanceError> {
        if upstreams.is_empty() {
            return Err(BalanceError::NoUpstreams);
        }
        for (i, u) in upstreams.iter().enumerate() {
            if u.weight == 0 {
                return Err(BalanceError::ZeroWeight(u.id.clone()));
            }
            if upstreams[..i].iter().any(|v| v.id == u.id) {
                return Err(BalanceError::Duplicate(u.id.clone()));
            }
        }
        Ok(Self {
            algorithm,
            state: Mutex::new(State {
                peers: vec![Peer::default(); upstreams.len()],
                cursor: 0,
                rng: XorShift64::from_entropy(),
            }),
            upstreams,
            health_policy: HealthPolicy::default(),
            alpha: 0.3,
        })
    }

    /// Seeds the RNG of [`Algorithm::Random`] (deterministic picks).
    pub fn with_seed(self, seed: u64) -> Self {
        self.lock().rng = XorShift64::new(seed);
        self
    }

    /// Sets the health thresholds.
    pub fn with_health(mut self, policy: HealthPolicy) -> Self {
        self.health_policy = policy;
        self
    }

    /// Sets the EWMA smoothing factor (weight of the newest sample, clamped to `(0, 1]`).
    pub fn with_ewma_alpha(mut self, alpha: f64) -> Self {
        self.alpha = if alpha.is_finite() {
            alpha.clamp(1e-6, 1.0)
        } else {
            0.3
        };
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The upstreams, in the order given.
    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// Chooses a healthy upstream for a call from `client` (used by IP hash); `None` when
    /// every upstream is unhealthy (answer 503).
    pub fn pick(&self, client: Option<IpAddr>) -> Option<Pick<'_>> {
        let mut state = self.lock();
        let healthy: Vec<usize> = (0..self.upstreams.len())
            .filter(|&i| state.peers[i].health.is_healthy())
            .collect();
        if healthy.is_empty() {
            return None;
        }
        let index = match (self.algorithm, client) {
            (Algorithm::RoundRobin, _) | (Algorithm::IpHash, None) => {
                state.next_in_turn(&healthy, |_, _| false)
            }
            (Algorithm::LeastConnections, _) => state.next_in_turn(&healthy, |p, (a, b)| {
                let (wa, wb) = (self.upstreams[a].weight, self.upstreams[b].weight);
                u64::from(p[a].active) * u64::from(wb) < u64::from(p[b].active) * u64::from(wa)
            }),
            (Algorithm::LeastResponseTime, _) => state.next_in_turn(&healthy, |p, (a, b)| {
                let score = |i: usize| p[i].ewma_secs.unwrap_or(0.0) * f64::from(p[i].active + 1);
                score(a) < score(b)
            }),
            (Algorithm::Weighted, _) => {
                let total: i64 = healthy
                    .iter()
                    .map(|&i| i64::from(self.upstreams[i].weight))
                    .sum();
                let mut best = healthy[0];
                for &i in &healthy {
                    state.peers[i].current_weight += i64::from(self.upstreams[i].weight);
                    if state.peers[i].current_weight > state.peers[best].current_weight {
                        best = i;
                    }
                }
                state.peers[best].current_weight -= total;
                best
            }
            (Algorithm::IpHash, Some(ip)) => {
                let addr = match ip {
                    IpAddr::V4(v4) => v4.octets().to_vec(),
                    IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                *healthy
                    .iter()
                    .max_by_key(|&&i| stable_hash_pair(&addr, self.upstreams[i].id.as_bytes()))
                    .unwrap_or(&healthy[0])
            }
            (Algorithm::Random, _) => {
                let n = healthy.len() as u64;
                healthy[state.rng.below(n) as usize]
            }
        };
        state.peers[index].active += 1;
        Some(Pick {
            balancer: self,
            index,
        })
    }

    /// Records one active health-check result for the upstream at `index` (ignored when out
    /// of range); returns whether its health flipped.
    pub fn record_check(&self, index: usize, ok: bool) -> bool {
        let policy = self.health_policy;
        self.lock()
            .peers
            .get_mut(index)
            .is_some_and(|p| p.health.record(ok, &policy))
    }

    /// The state of every upstream, in order.
    pub fn status(&self) -> Vec<UpstreamStatus> {
        let state = self.lock();
        self.upstreams
            .iter()
            .zip(&state.peers)
            .map(|(u, p)| UpstreamStatus {
                id: u.id.clone(),
                healthy: p.health.is_healthy(),
                active: p.active,
                ewma: p.ewma_secs.map(Duration::from_secs_f64),
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// The best of `healthy` by `better(peers, (candidate, best))`, scanning from the
    /// cursor so that ties go to each upstream in turn; moves the cursor past the choice.
    fn next_in_turn(
        &mut self,
        healthy: &[usize],
        better: impl Fn(&[Peer], (usize, usize)) -> bool,
    ) -> usize {
        let n = self.peers.len();
        let start = self.cursor % n;
        let mut ordered = healthy.to_vec();
        ordered.sort_by_key(|&i| (i + n - start) % n);
        let mut best = ordered[0];
        for &i in &ordered[1..] {
            if better(&self.peers, (i, best)) {
                best = i;
            }
        }
        self.cursor = best + 1;
        best
    }
}

impl Pick<'_> {
    /// The chosen upstream.
    pub fn upstream(&self) -> &Upstream {
        &self.balancer.upstreams[self.index]
    }

    /// The chosen upstream's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Ends the call, recording its latency in the upstream's EWMA.
    pub fn finish(self, latency: Duration) {
        let alpha = self.balancer.alpha;
        let mut state = self.balancer.lock();
        let peer = &mut state.peers[self.index];
        let sample = latency.as_secs_f64();
        peer.ewma_secs = Some(match peer.ewma_secs {
            Some(prev) => alpha * sample + (1.0 - alpha) * prev,
            None => sample,
        });
    }
}

impl Drop for Pick<'_> {
    fn drop(&mut self) {
        let mut state = self.balancer.lock();
        let peer = &mut state.peers[self.index];
        peer.active = peer.active.saturating_sub(1);
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
