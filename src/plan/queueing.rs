//! M/M/c queueing formulas for sizing services (`plan-model.md` §2): Erlang B and C, mean
//! queueing delay, the response-time distribution and its quantiles, instance counts at a
//! target utilisation, and the extra instances needed to survive losing a zone.
//!
//! Conventions: `c` is the number of servers (vCPUs of one instance), `lambda` the arrival
//! rate and `mu` the service rate of one server, both per second (any unit works as long as
//! it is the same for both; times come back in its reciprocal). `a = lambda / mu` is the
//! offered load in Erlangs. Pure functions: no I/O, no panics; inputs outside a formula's
//! domain give the documented limit (an unstable queue waits forever: `f64::INFINITY`).

/// Erlang B blocking probability B(c, a) by the stable recursion
/// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
pub fn erlang_b(c: u32, a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    if c == 0 {
        return 1.0;
    }
    if a <= 0.0 {
        return 0.0;
    }
    if a.is_infinite() {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Erlang C probability that an arrival waits, C(c, a) = c·B / (c − a·(1 − B)) with
/// B = [`erlang_b`]; 1.0 when a ≥ c (the queue is unstable) and 0.0 when a ≤ 0.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    if a <= 0.0 {
        return 0.0;
    }
    let servers = f64::from(c);
    if a >= servers {
        return 1.0;
    }
    let b = erlang_b(c, a);
    (servers * b / (servers - a * (1.0 - b))).clamp(0.0, 1.0)
}

/// Mean time spent queueing, Wq = C(c, a) / (c·mu − lambda); 0 with no load and
/// `f64::INFINITY` when the queue is unstable (lambda ≥ c·mu).
pub fn mean_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    if lambda.is_nan() || mu.is_nan() {
        return f64::NAN;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    let capacity = f64::from(c) * mu;
    if mu <= 0.0 || lambda >= capacity {
        return f64::INFINITY;
    }
    erlang_c(c, lambda / mu) / (capacity - lambda)
}

/// Probability that the queueing delay exceeds `t`: P(Wq > t) = C·e^{−(c·mu − lambda)·t}
/// (the Erlang C "service level" is one minus this).
pub fn wait_exceed_probability(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    if lambda.is_nan() || mu.is_nan() || t.is_nan() {
        return f64::NAN;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    let capacity = f64::from(c) * mu;
    if mu <= 0.0 || lambda >= capacity {
        return 1.0;
    }
    let wait = erlang_c(c, lambda / mu);
    if t <= 0.0 {
        return wait;
    }
    wait * (-(capacity - lambda) * t).exp()
}

/// Probability that the response time (queueing plus service) exceeds `t`:
/// with θ = c·mu − lambda,
/// P(Wq + S > t) = (1 − C)·e^{−mu·t} + C·(θ·e^{−mu·t} − mu·e^{−θ·t}) / (θ − mu),
/// and (1 − C)·e^{−mu·t} + C·(1 + mu·t)·e^{−mu·t} in the limit θ = mu. Evaluated in a form
/// with no cancellation near θ = mu. 1.0 when t ≤ 0 or the queue is unstable.
pub fn response_exceed_probability(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    if lambda.is_nan() || mu.is_nan() || t.is_nan() {
        return f64::NAN;
    }
    if t <= 0.0 {
        return 1.0;
    }
    let lambda = lambda.max(0.0);
    let capacity = f64::from(c) * mu;
    if mu <= 0.0 || lambda >= capacity {
        return 1.0;
    }
    let theta = capacity - lambda;
    let wait = erlang_c(c, lambda / mu);
    let service_only = (-mu * t).exp();
    let waited = hypoexponential_survival(mu, theta, t);
    ((1.0 - wait) * service_only + wait * waited).clamp(0.0, 1.0)
}

/// The p-quantile of the response time (queueing plus service): the t with
/// P(Wq + S > t) = 1 − p, found by bracketing and bisection to 1e-12 relative.
/// 0 for p ≤ 0; `f64::INFINITY` for p ≥ 1 or an unstable queue.
pub fn response_quantile(c: u32, lambda: f64, mu: f64, p: f64) -> f64 {
    if lambda.is_nan() || mu.is_nan() || p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return 0.0;
    }
    let capacity = f64::from(c) * mu;
    if p >= 1.0 || mu <= 0.0 || lambda >= capacity || !mu.is_finite() {
        return f64::INFINITY;
    }
    let target = 1.0 - p;
    let exceeds = |t: f64| response_exceed_probability(c, lambda, mu, t) > target;

    // Bracket: start at the mean of the slower stage and double until past the quantile.
    let theta = capacity - lambda.max(0.0);
    let mut lo = 0.0;
    let mut hi = 1.0 / mu.min(theta);
    let mut doublings = 0;
    while exceeds(hi) {
        lo = hi;
        hi *= 2.0;
        doublings += 1;
        if doublings > 2100 || !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if exceeds(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Instances needed to carry `load_rps` requests per second of `work_s` CPU-seconds each on
/// instances of `vcpu` cores at `target_util` utilisation (a fraction: 0.7 for 70%):
/// max(min_replicas, ⌈λ·S / (c·u)⌉). The quotient is nudged down by 1e-9 relative before
/// rounding up so floating-point noise (2.0000000001) does not add an instance.
/// `u32::MAX` when no finite count suffices (vcpu = 0 or target_util ≤ 0).
pub fn instances_needed(
    load_rps: f64,
    work_s: f64,
    vcpu: u32,
    target_util: f64,
    min_replicas: u32,
) -> u32 {
    let demand = load_rps * work_s;
    if demand.is_nan() || demand <= 0.0 {
        return min_replicas;
    }
    let per_instance = f64::from(vcpu) * target_util;
    if per_instance.is_nan() || per_instance <= 0.0 {
        return u32::MAX;
    }
    let exact = demand / per_instance;
    let nudged = exact - 1e-9 * exact.max(1.0);
    // `as` saturates: an infinite or huge quotient becomes u32::MAX.
    let needed = nudged.ceil().max(0.0) as u32;
    needed.max(min_replicas)
}

/// Instances needed so that `n` instances' worth of capacity survives losing one of `zones`
/// equal zones: ⌈n·zones / (zones − 1)⌉. With fewer than two zones no count survives a zone
/// loss; `n` is returned unchanged and the availability model accounts for the outage.
pub fn zone_loss_instances(n: u32, zones: u32) -> u32 {
    if zones < 2 {
        return n;
    }
    let numerator = u64::from(n) * u64::from(zones);
    let denominator = u64::from(zones - 1);
    let needed = numerator.div_ceil(denominator);
    u32::try_from(needed).unwrap_or(u32::MAX)
}

/// P(X + Y > t) for independent exponentials X ~ Exp(a), Y ~ Exp(b):
/// (b·e^{−a·t} − a·e^{−b·t}) / (b − a), written as e^{−lo·t}·(1 + lo·t·φ((hi − lo)·t))
/// with lo = min(a, b), hi = max(a, b), φ(x) = (1 − e^{−x}) / x, which has no
/// cancellation when a ≈ b and gives (1 + a·t)·e^{−a·t} at a = b.
fn hypoexponential_survival(a: f64, b: f64, t: f64) -> f64 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (-lo * t).exp() * (1.0 + lo * t * one_minus_exp_over_x((hi - lo) * t))
}

/// φ(x) = (1 − e^{−x}) / x for x ≥ 0, with φ(0) = 1.
fn one_minus_exp_over_x(x: f64) -> f64 {
    if x < 1e-10 {
        1.0 - 0.5 * x
    } else {
        -(-x).exp_m1() / x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    // Erlang C for two servers at one Erlang, exact by hand: B(1) = 1/2, B(2) = 0.5/2.5 = 1/5,
    // C = 2·(1/5) / (2 − 1·(4/5)) = 1/3.
    #[test]
    fn erlang_c_two_servers_one_erlang_is_one_third() {
        assert!(rel(erlang_c(2, 1.0), 1.0 / 3.0) < 1e-12);
    }

    // Erlang C tables: c = 10, a = 8 → 0.4092. Expected value recomputed independently from
    // the factorial definition [a^c/c! · c/(c−a)] / [Σ_{k<c} a^k/k! + a^c/c! · c/(c−a)]
    // with python3: 0.4091801507964435.
    #[test]
    fn erlang_c_matches_the_table_value_for_ten_servers() {
        assert!(rel(erlang_c(10, 8.0), 0.409_180_150_796_443_5) < 1e-9);
        assert!(rel(erlang_c(10, 8.0), 0.4092) < 0.005);
    }

    // Erlang B: c = 10, a = 5 → 0.01838 (python3 from the recursion and from
    // (a^c/c!) / Σ_{k≤c} a^k/k!: 0.01838457033664814).
    #[test]
    fn erlang_b_ten_servers_five_erlangs() {
        assert!(rel(erlang_b(10, 5.0), 0.018_384_570_336_648_14) < 1e-9);
    }

    // Published Erlang B tables (the standard traffic table of offered Erlangs per number of
    // lines and grade of service, as printed e.g. in V. B. Iversen, "Teletraffic Engineering
    // and Network Planning", DTU / ITU-D, and in call-centre sizing guides). N = 5 at 1% → 1.36 E; N = 10 at 1% → 4.46 E,
    // 2% → 5.08 E, 5% → 6.22 E; N = 20 at 1% → 12.03 E. Solve B(N, A) = target for A and
    // compare with the table to 0.5%.
    #[test]
    fn erlang_b_inverts_to_the_published_table() {
        for (lines, blocking, table_erlangs) in [
            (5, 0.01, 1.36),
            (10, 0.01, 4.46),
            (10, 0.02, 5.08),
            (10, 0.05, 6.22),
            (20, 0.01, 12.03),
        ] {
            let (mut lo, mut hi) = (0.0, 100.0);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if erlang_b(lines, mid) < blocking {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            assert!(
                rel(lo, table_erlangs) < 0.005,
                "N={lines} B={blocking}: {lo} vs table {table_erlangs}"
            );
        }
    }

    // The widely reproduced call-centre worked example ("The Erlang-C formula", Mitan Ltd,
    // www.mitan.co.uk/erlang/elgcmath.htm, copied in many call-centre guides): 360 calls per
    // half hour, 4-minute calls, 55 agents, 15 s answer target. Traffic A = 48 E. Expected
    // values computed independently with python3 from the factorial definition:
    // probability of waiting 0.238700936 (≈ 24%), average speed of answer 8.184 s,
    // 84.59% answered within 15 s.
    #[test]
    fn call_centre_worked_example() {
        let lambda = 360.0 / 1800.0; // calls per second
        let mu = 1.0 / 240.0; // per agent per second
        let agents = 55;
        assert!(rel(lambda / mu, 48.0) < 1e-12);
        assert!(rel(erlang_c(agents, lambda / mu), 0.238_700_936_378_009) < 1e-9);
        assert!(rel(erlang_c(agents, lambda / mu), 0.24) < 0.01);
        assert!(rel(mean_wait(agents, lambda, mu), 8.184_032_104_388_884) < 1e-9);
        let service_level = 1.0 - wait_exceed_probability(agents, lambda, mu, 15.0);
        assert!(rel(service_level, 0.845_883_092_170_580_4) < 1e-9);
    }

    // M/M/1: C = ρ, Wq = ρ/(μ − λ) (any queueing text, e.g. Kleinrock, Queueing Systems
    // vol. 1, §3.2).
    #[test]
    fn single_server_reduces_to_m_m_1() {
        let (lambda, mu) = (7.0, 10.0);
        let rho = lambda / mu;
        assert!(rel(erlang_c(1, rho), rho) < 1e-12);
        assert!(rel(mean_wait(1, lambda, mu), rho / (mu - lambda)) < 1e-12);
    }

    // M/M/1 response time is exponential with rate μ − λ, so P(T > t) = e^{−(μ−λ)t} and the
    // p-quantile is −ln(1 − p)/(μ − λ); p99 = ln(100)/(μ − λ).
    #[test]
    fn single_server_response_time_is_exponential() {
        let (lambda, mu): (f64, f64) = (70.0, 100.0);
        for t in [0.001, 0.01, 0.05, 0.2] {
            let exact = (-(mu - lambda) * t).exp();
            assert!(rel(response_exceed_probability(1, lambda, mu, t), exact) < 1e-12);
        }
        let p99 = response_quantile(1, lambda, mu, 0.99);
        assert!(rel(p99, 100f64.ln() / (mu - lambda)) < 1e-9);
        let p50 = response_quantile(1, lambda, mu, 0.5);
        assert!(rel(p50, 2f64.ln() / (mu - lambda)) < 1e-9);
    }

    // The stable evaluation agrees with the design's formula written out directly, where
    // that formula is well conditioned (θ far from μ).
    #[test]
    fn response_tail_matches_the_direct_formula() {
        for (c, lambda, mu) in [
            (4, 30.0, 10.0),
            (8, 50.0, 10.0),
            (16, 150.0, 10.0),
            (2, 1.0, 1.0),
        ] {
            let theta = f64::from(c) * mu - lambda;
            if (theta - mu).abs() < 1e-3 * mu {
                continue;
            }
            let wait = erlang_c(c, lambda / mu);
            for t in [0.01, 0.1, 0.3, 1.0] {
                let direct = (1.0 - wait) * (-mu * t).exp()
                    + wait * (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu);
                let got = response_exceed_probability(c, lambda, mu, t);
                assert!(rel(got, direct) < 1e-9, "c={c} t={t}: {got} vs {direct}");
            }
        }
    }

    // θ = μ exactly (c = 2, μ = 1, λ = 1): the design's limit form
    // (1 − C)e^{−μt} + C(1 + μt)e^{−μt}; and the function is continuous through it.
    #[test]
    fn response_tail_at_theta_equal_mu_uses_the_limit() {
        let (c, lambda, mu) = (2, 1.0, 1.0);
        let wait = erlang_c(c, lambda / mu);
        for t in [0.1, 1.0, 5.0] {
            let limit = (1.0 - wait) * (-mu * t).exp() + wait * (1.0 + mu * t) * (-mu * t).exp();
            assert!(rel(response_exceed_probability(c, lambda, mu, t), limit) < 1e-12);
            let near = response_exceed_probability(c, lambda + 1e-7, mu, t);
            assert!(rel(near, limit) < 1e-6);
        }
    }

    #[test]
    fn response_tail_starts_at_one_and_decreases() {
        let (c, lambda, mu) = (8, 60.0, 10.0);
        assert_eq!(response_exceed_probability(c, lambda, mu, 0.0), 1.0);
        assert!(response_exceed_probability(c, lambda, mu, 1e-12) > 1.0 - 1e-9);
        let mut previous = 1.0;
        for i in 1..200 {
            let p = response_exceed_probability(c, lambda, mu, f64::from(i) * 0.01);
            assert!(p <= previous);
            previous = p;
        }
    }

    #[test]
    fn quantile_inverts_the_tail() {
        for (c, lambda, mu) in [
            (2, 1.5, 1.0),
            (4, 30.0, 10.0),
            (16, 140.0, 10.0),
            (64, 600.0, 10.0),
        ] {
            for p in [0.5, 0.9, 0.95, 0.99, 0.999] {
                let t = response_quantile(c, lambda, mu, p);
                let tail = response_exceed_probability(c, lambda, mu, t);
                assert!(rel(tail, 1.0 - p) < 1e-9, "c={c} p={p}: tail {tail}");
            }
        }
    }

    #[test]
    fn unstable_or_degenerate_queues_do_not_panic() {
        assert_eq!(erlang_c(4, 4.0), 1.0);
        assert_eq!(erlang_c(4, 0.0), 0.0);
        assert_eq!(erlang_b(0, 3.0), 1.0);
        assert_eq!(mean_wait(4, 50.0, 10.0), f64::INFINITY);
        assert_eq!(mean_wait(0, 1.0, 10.0), f64::INFINITY);
        assert_eq!(mean_wait(4, 0.0, 10.0), 0.0);
        assert_eq!(response_exceed_probability(4, 50.0, 10.0, 1.0), 1.0);
        assert_eq!(response_quantile(4, 50.0, 10.0, 0.99), f64::INFINITY);
        assert_eq!(response_quantile(4, 10.0, 10.0, 1.0), f64::INFINITY);
        assert_eq!(response_quantile(4, 10.0, 10.0, 0.0), 0.0);
        assert!(erlang_c(4, f64::NAN).is_nan());
        // No load: response time is the service time alone, Exp(μ).
        let p99 = response_quantile(4, 0.0, 10.0, 0.99);
        assert!(rel(p99, 100f64.ln() / 10.0) < 1e-9);
    }

    #[test]
    fn instances_needed_rounds_up_at_the_target() {
        // 1000 rps × 10 ms = 10 cores of work; 4 vCPU at 70% = 2.8 → 3.57 → 4.
        assert_eq!(instances_needed(1000.0, 0.01, 4, 0.7, 1), 4);
        // Exactly 2.5 → 3.
        assert_eq!(instances_needed(700.0, 0.01, 4, 0.7, 1), 3);
        // The minimum wins when larger.
        assert_eq!(instances_needed(10.0, 0.01, 4, 0.7, 3), 3);
        assert_eq!(instances_needed(0.0, 0.01, 4, 0.7, 2), 2);
    }

    #[test]
    fn instances_needed_ignores_floating_point_noise() {
        // 2.0000000001 instances' worth of work is 2 instances, not 3.
        let load = 2.000_000_000_1 * 4.0 * 0.7 / 0.01;
        assert_eq!(instances_needed(load, 0.01, 4, 0.7, 1), 2);
        // 0.1 + 0.2 style noise: 3 × 0.7 × 4 / 0.01 rps is exactly 3 instances.
        assert_eq!(instances_needed(840.0, 0.01, 4, 0.7, 1), 3);
        // A real excess still rounds up.
        assert_eq!(instances_needed(2.001 * 280.0, 0.01, 4, 0.7, 1), 3);
    }

    #[test]
    fn instances_needed_without_capacity_saturates() {
        assert_eq!(instances_needed(10.0, 0.01, 0, 0.7, 1), u32::MAX);
        assert_eq!(instances_needed(10.0, 0.01, 4, 0.0, 1), u32::MAX);
    }

    #[test]
    fn zone_loss_adds_a_zone_worth_of_instances() {
        assert_eq!(zone_loss_instances(4, 3), 6);
        assert_eq!(zone_loss_instances(3, 3), 5);
        assert_eq!(zone_loss_instances(2, 2), 4);
        assert_eq!(zone_loss_instances(0, 3), 0);
        assert_eq!(zone_loss_instances(5, 1), 5);
        assert_eq!(zone_loss_instances(u32::MAX, 2), u32::MAX);
    }
}
