//! Cache hit-ratio model (`plan-model.md` §3): the hit ratio of an ideal cache holding the
//! `k` most popular of `N` keys whose popularity follows Zipf(s), H(k, s) / H(N, s), with
//! the generalised harmonic number H(n, s) = Σ_{i=1}^{n} i^{−s}.
//!
//! The model is the one used by Breslau, Cao, Fan, Phillips and Shenker, "Web Caching and
//! Zipf-like Distributions: Evidence and Implications" (IEEE INFOCOM 1999). Pure functions:
//! no I/O, no panics.

/// Largest n summed term by term; above it the tail is approximated.
const EXACT_LIMIT: f64 = 100_000.0;

/// Terms summed exactly before the Euler–Maclaurin tail takes over, for large n.
const HEAD_TERMS: u32 = 10_000;

/// Generalised harmonic number H(n, s) = Σ_{i=1}^{⌊n⌋} i^{−s} (0 for n < 1). Exact sum for
/// n ≤ 100 000; above that, the exact sum of the first 10 000 terms plus the Euler–Maclaurin
/// tail (integral, end-point half terms, first- and third-derivative corrections), accurate
/// to far better than 1e-9 relative. s = 1 (the logarithmic case) is handled without
/// cancellation; n = ∞ gives ζ(s) for s > 1 and ∞ otherwise.
pub fn harmonic(n: f64, s: f64) -> f64 {
    if n.is_nan() || s.is_nan() {
        return f64::NAN;
    }
    let n = n.floor();
    if n < 1.0 {
        return 0.0;
    }
    if n <= EXACT_LIMIT {
        // n ≤ 100 000 here, so the conversion is exact.
        return exact_sum(n as u32, s);
    }
    let m = f64::from(HEAD_TERMS);
    let f = |x: f64| x.powf(-s);
    // f'(x) = −s·x^{−s−1}, f'''(x) = −s(s+1)(s+2)·x^{−s−3}.
    let d1 = |x: f64| -s * x.powf(-s - 1.0);
    let d3 = |x: f64| -s * (s + 1.0) * (s + 2.0) * x.powf(-s - 3.0);
    // Σ_{i=m}^{n} f(i) ≈ ∫_m^n f + (f(m) + f(n))/2 + (f'(n) − f'(m))/12 − (f'''(n) − f'''(m))/720.
    // The head sums 1..=m, so the tail adds Σ_{i=m}^{n} f(i) − f(m).
    let tail = power_integral(m, n, s) + 0.5 * (f(n) - f(m)) + (d1(n) - d1(m)) / 12.0
        - (d3(n) - d3(m)) / 720.0;
    exact_sum(HEAD_TERMS, s) + tail
}

/// Hit ratio of an ideal cache of `capacity` entries over `keys` keys with Zipf(s)
/// popularity: H(min(k, N), s) / H(N, s), clamped to [0, 1]; 1.0 when the cache holds every
/// key (k ≥ N) and 0.0 when it holds none (k ≤ 0). Fractional counts are rounded down.
pub fn zipf_hit_ratio(capacity: f64, keys: f64, s: f64) -> f64 {
    if capacity.is_nan() || keys.is_nan() || s.is_nan() {
        return f64::NAN;
    }
    if capacity <= 0.0 {
        return 0.0;
    }
    if capacity >= keys {
        return 1.0;
    }
    let all = harmonic(keys, s);
    if all.is_nan() || all <= 0.0 {
        return 0.0;
    }
    (harmonic(capacity, s) / all).clamp(0.0, 1.0)
}

/// Σ_{i=1}^{n} i^{−s}, added smallest term first for accuracy.
fn exact_sum(n: u32, s: f64) -> f64 {
    (1..=n).rev().map(|i| f64::from(i).powf(-s)).sum()
}

/// ∫_m^n x^{−s} dx = m^{1−s}·(e^{(1−s)·ln(n/m)} − 1)/(1 − s), which is ln(n/m) at s = 1;
/// computed with `exp_m1` so s near 1 loses no precision.
fn power_integral(m: f64, n: f64, s: f64) -> f64 {
    let log_ratio = (n / m).ln();
    let t = 1.0 - s;
    if t == 0.0 {
        return log_ratio;
    }
    let x = t * log_ratio;
    let scaled = if x.abs() < 1e-12 {
        // (e^x − 1)/t = log_ratio·(e^x − 1)/x ≈ log_ratio·(1 + x/2).
        log_ratio * (1.0 + 0.5 * x)
    } else {
        x.exp_m1() / t
    };
    m.powf(t) * scaled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn small_sums_are_exact() {
        assert_eq!(harmonic(1.0, 0.8), 1.0);
        assert_eq!(harmonic(0.5, 1.0), 0.0);
        // H(10) = 7381/2520.
        assert!(rel(harmonic(10.0, 1.0), 7381.0 / 2520.0) < 1e-15);
        // s = 0 counts the terms.
        assert_eq!(harmonic(1234.0, 0.0), 1234.0);
    }

    // The design allows 0.5% for the closed form; it is held to 1e-9 here against the exact
    // sum at n = 200 000 and 1 000 000.
    #[test]
    fn approximation_matches_the_exact_sum() {
        for n in [200_000u32, 1_000_000] {
            for s in [0.6, 0.8, 0.9, 1.0, 1.2] {
                let exact = exact_sum(n, s);
                let approx = harmonic(f64::from(n), s);
                assert!(
                    rel(approx, exact) < 1e-9,
                    "n={n} s={s}: {approx} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn approximation_is_continuous_at_the_switch_over() {
        for s in [0.6, 1.0, 1.2] {
            let below = harmonic(EXACT_LIMIT, s);
            let above = harmonic(EXACT_LIMIT + 1.0, s);
            let step = (EXACT_LIMIT + 1.0).powf(-s);
            assert!(rel(above - below, step) < 1e-6, "s={s}");
        }
    }

    // Asymptotics: H(n, 1) = ln n + γ + 1/(2n) − 1/(12n²) + …, γ = 0.5772156649015329.
    #[test]
    fn large_harmonic_numbers_follow_the_log_asymptote() {
        let gamma = 0.577_215_664_901_532_9;
        for n in [1e7f64, 1e9, 1e12] {
            let expected = n.ln() + gamma + 0.5 / n - 1.0 / (12.0 * n * n);
            assert!(rel(harmonic(n, 1.0), expected) < 1e-12, "n={n}");
        }
    }

    // H(∞, 2) = ζ(2) = π²/6; H(n, 2) = π²/6 − 1/n + 1/(2n²) − ….
    #[test]
    fn convergent_series_reach_zeta() {
        let zeta2 = std::f64::consts::PI * std::f64::consts::PI / 6.0;
        assert!(rel(harmonic(f64::INFINITY, 2.0), zeta2) < 1e-12);
        let n = 1e8;
        assert!(rel(harmonic(n, 2.0), zeta2 - 1.0 / n + 0.5 / (n * n)) < 1e-12);
        assert_eq!(harmonic(f64::INFINITY, 0.9), f64::INFINITY);
    }

    // Worked value: N = 1000 keys, a cache of 100, s = 1:
    // H(100)/H(1000) = 5.187377517639621 / 7.485470860550345 = 0.692992814250063
    // (python3: sum(1/i for i in range(1, n+1))).
    #[test]
    fn worked_hit_ratio() {
        assert!(rel(harmonic(100.0, 1.0), 5.187_377_517_639_621) < 1e-14);
        assert!(rel(harmonic(1000.0, 1.0), 7.485_470_860_550_345) < 1e-14);
        assert!(rel(zipf_hit_ratio(100.0, 1000.0, 1.0), 0.692_992_814_250_063) < 1e-12);
        // s = 0.8: 0.525826511576791 (python3, same way).
        assert!(rel(zipf_hit_ratio(100.0, 1000.0, 0.8), 0.525_826_511_576_791) < 1e-12);
    }

    #[test]
    fn hit_ratio_bounds_and_monotonicity() {
        assert_eq!(zipf_hit_ratio(0.0, 1000.0, 1.0), 0.0);
        assert_eq!(zipf_hit_ratio(-5.0, 1000.0, 1.0), 0.0);
        assert_eq!(zipf_hit_ratio(1000.0, 1000.0, 1.0), 1.0);
        assert_eq!(zipf_hit_ratio(5000.0, 1000.0, 1.0), 1.0);
        // Uniform popularity (s = 0): the hit ratio is the fraction cached.
        assert!(rel(zipf_hit_ratio(250.0, 1000.0, 0.0), 0.25) < 1e-12);
        let mut previous = 0.0;
        for k in [1e3, 1e4, 1e5, 1e6, 1e7] {
            let h = zipf_hit_ratio(k, 1e8, 0.9);
            assert!(h > previous && h < 1.0);
            previous = h;
        }
    }
}
