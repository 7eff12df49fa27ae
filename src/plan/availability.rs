//! Availability compositions (`plan-model.md` §6): redundant replicas in parallel, hard
//! dependencies in series, a hot standby region, the traffic-weighted system figure and
//! the downtime it implies per 30-day month.
//!
//! Every availability here is a fraction (0.9995, not 99.95); use [`from_percent`] on the
//! catalogue's percentages. Components are assumed to fail independently, as in the
//! published guidance the tests cite. Pure functions: no I/O, no panics.

/// Seconds in the 30-day month used for downtime figures.
const SECONDS_PER_MONTH: f64 = 30.0 * 86_400.0;

/// A percentage (99.95) as a fraction (0.9995).
pub fn from_percent(percent: f64) -> f64 {
    percent / 100.0
}

/// Availability of `n` independent replicas of availability `a` of which any one suffices:
/// 1 − (1 − a)ⁿ. Zero replicas are never available.
pub fn parallel(a: f64, n: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    1.0 - (1.0 - a).powf(f64::from(n))
}

/// Availability of parts that are all needed (hard dependencies in series): their product;
/// 1.0 for no parts.
pub fn series(parts: impl IntoIterator<Item = f64>) -> f64 {
    parts.into_iter().product()
}

/// Two independent stacks of availability `a` in parallel (a hot standby region):
/// 1 − (1 − a)².
pub fn hot_standby(a: f64) -> f64 {
    parallel(a, 2)
}

/// Expected downtime in seconds per 30-day month at availability `a`: (1 − a)·30·86 400,
/// with 1 − a clamped to [0, 1].
pub fn downtime_per_month_s(a: f64) -> f64 {
    (1.0 - a).clamp(0.0, 1.0) * SECONDS_PER_MONTH
}

/// Weighted mean of availabilities, Σ wᵢ·aᵢ / Σ wᵢ, from `(weight, availability)` pairs
/// (weights are traffic shares or request rates). Negative or NaN weights count as zero;
/// when no weight is positive the plain mean is used, and no pairs at all give 1.0.
pub fn weighted_mean(pairs: &[(f64, f64)]) -> f64 {
    if pairs.is_empty() {
        return 1.0;
    }
    let weight = |w: f64| if w > 0.0 { w } else { 0.0 };
    let total: f64 = pairs.iter().map(|&(w, _)| weight(w)).sum();
    if total > 0.0 && total.is_finite() {
        pairs.iter().map(|&(w, a)| weight(w) * a).sum::<f64>() / total
    } else {
        pairs.iter().map(|&(_, a)| a).sum::<f64>() / pairs.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    // Azure Architecture Center / Microsoft Learn, "Composite SLAs": an App Service web app
    // (99.95%) that writes to Azure SQL Database (99.99%) has a composite SLA of
    // 99.95% × 99.99% ≈ 99.94%.
    #[test]
    fn azure_composite_sla_web_app_and_sql_database() {
        let composite = series([0.9995, 0.9999]);
        assert!(close(composite, 0.9994, 0.000_005), "{composite}");
    }

    // Same source: with a queue (99.9%) as a fallback for the database, "database or queue"
    // = 1 − (0.0001 × 0.001) = 99.99999%, and web app and (database or queue) ≈ 99.95%.
    #[test]
    fn azure_composite_sla_with_fallback_queue() {
        let database_or_queue = 1.0 - (1.0 - 0.9999) * (1.0 - 0.999);
        assert!(close(database_or_queue, 0.999_999_9, 1e-12));
        let total = series([0.9995, database_or_queue]);
        assert!(close(total, 0.9995, 0.000_005), "{total}");
    }

    // AWS Well-Architected Framework, Reliability Pillar, "Availability": with hard
    // dependencies the availability is the product, 99.99% × 99.99% × 99.99% = 99.97%.
    #[test]
    fn aws_hard_dependencies_multiply() {
        let a = series([0.9999, 0.9999, 0.9999]);
        assert!(close(a, 0.9997, 0.000_005), "{a}");
    }

    // Same source, "Calculating availability with redundant components": two independent
    // components of 99.9% give 100% − (0.1% × 0.1%) = 99.9999%; a 99.5% component with two
    // spares (three in all) gives 1 − 0.005³ = 99.9999875%. Two 99% components give 99.99%.
    #[test]
    fn aws_redundant_components_multiply_failure_rates() {
        assert!(close(parallel(0.999, 2), 0.999_999, 1e-12));
        assert!(close(parallel(0.995, 3), 0.999_999_875, 1e-12));
        assert!(close(parallel(0.99, 2), 0.9999, 1e-12));
        assert!(close(hot_standby(0.99), 0.9999, 1e-12));
    }

    // Azure Architecture Center, availability table (30-day month): 99.9% allows 43.2 minutes
    // of downtime a month, 99.95% 21.6 minutes, 99.99% 4.32 minutes.
    #[test]
    fn downtime_per_month_matches_the_published_table() {
        assert!(close(downtime_per_month_s(0.999), 43.2 * 60.0, 1e-6));
        assert!(close(downtime_per_month_s(0.9995), 21.6 * 60.0, 1e-6));
        assert!(close(downtime_per_month_s(0.9999), 4.32 * 60.0, 1e-6));
        assert_eq!(downtime_per_month_s(1.0), 0.0);
        assert_eq!(downtime_per_month_s(0.0), SECONDS_PER_MONTH);
    }

    #[test]
    fn parallel_edge_cases() {
        assert_eq!(parallel(0.9, 0), 0.0);
        assert!(close(parallel(0.9, 1), 0.9, 1e-15));
        assert_eq!(parallel(1.0, 3), 1.0);
        assert_eq!(parallel(0.0, 3), 0.0);
    }

    #[test]
    fn series_of_nothing_is_always_up() {
        assert_eq!(series(std::iter::empty()), 1.0);
        assert!(close(series(vec![0.5, 0.5]), 0.25, 1e-15));
    }

    #[test]
    fn weighted_mean_weights_by_traffic() {
        // 900 rps at 99.99% and 100 rps at 99%: (900·0.9999 + 100·0.99)/1000 = 0.99891.
        let a = weighted_mean(&[(900.0, 0.9999), (100.0, 0.99)]);
        assert!(close(a, 0.998_91, 1e-12), "{a}");
        assert_eq!(weighted_mean(&[]), 1.0);
        // No positive weight: the plain mean.
        assert!(close(weighted_mean(&[(0.0, 0.9), (0.0, 0.7)]), 0.8, 1e-15));
        // A negative weight counts as zero.
        assert!(close(weighted_mean(&[(-5.0, 0.1), (1.0, 0.9)]), 0.9, 1e-15));
    }

    #[test]
    fn percent_converts_to_fraction() {
        assert!(close(from_percent(99.95), 0.9995, 1e-15));
    }
}
