//! A tiny, seedable pseudo-random generator ([`XorShift64`], xorshift64*) for jitter,
//! random balancing and ULID randomness. Not cryptographic; deterministic when seeded so
//! tests can assert exact values.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// xorshift64* (Vigna, 2016): 64 bits of state, period 2^64 − 1, good enough statistical
/// quality for jitter and load spreading.
#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// A generator from `seed`. Seed 0 (the one fixed point of xorshift) is replaced by a
    /// fixed non-zero constant, so every seed gives a working generator.
    pub fn new(seed: u64) -> Self {
        let state = crate::hash::splitmix64(seed);
        Self {
            state: if state == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                state
            },
        }
    }

    /// A generator seeded from the process's hash randomness (different every run).
    pub fn from_entropy() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(u64::from(std::process::id()));
        Self::new(h.finish())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform float in `[0, 1)` (53 bits of precision).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[0, n)` (Lemire's multiply-shift; the bias is below 2^-32 for
    /// any `n` this crate uses). Returns 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = XorShift64::new(42);
        let mut b = XorShift64::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = XorShift64::new(43);
        assert_ne!(XorShift64::new(42).next_u64(), c.next_u64());
    }

    #[test]
    fn zero_seed_works() {
        let mut r = XorShift64::new(0);
        let first = r.next_u64();
        assert_ne!(first, 0);
        assert_ne!(first, r.next_u64());
    }

    #[test]
    fn floats_in_unit_interval_and_below_is_bounded() {
        let mut r = XorShift64::new(7);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
            let i = r.below(10);
            buckets[i as usize] += 1;
        }
        for count in buckets {
            assert!((800..1200).contains(&count), "skewed: {buckets:?}");
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn entropy_seeds_differ() {
        let a = XorShift64::from_entropy().next_u64();
        let b = XorShift64::from_entropy().next_u64();
        assert_ne!(a, b);
    }
}
