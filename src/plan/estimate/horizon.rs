//! Traffic at a multiple of the peak, and the horizon table (plan-model.md §1, §7).
//!
//! Every rate in the model is linear in the peak: entry loads (`share × peak` and `rps`),
//! what calls propagate, cache reads and misses (hit ratios do not depend on load), the
//! declared database `reads`/`writes` and queue `rate`, and CDN `egress` all scale by the
//! same multiple k. Month m of the horizon runs the whole estimate at k = (1 + g)^m, so
//! every component is re-sized at that month's peak; storage grows linearly with m.

use crate::plan::load::Loads;
use crate::plan::report::HorizonMonth;

/// `loads` with every rate multiplied by `k` (work, wait and hit ratios unchanged). The
/// per-service `instances_needed` of `load` is cleared: the estimate sizes services itself.
pub fn scaled(loads: &Loads, k: f64) -> Loads {
    let mut out = loads.clone();
    out.endpoints.values_mut().for_each(|l| *l *= k);
    out.entry.values_mut().for_each(|l| *l *= k);
    for s in out.services.values_mut() {
        s.load_rps *= k;
        s.busy_cores *= k;
        s.instances_needed = None;
    }
    out.routes.iter_mut().for_each(|r| r.load_rps *= k);
    for c in out.caches.values_mut() {
        c.reads_rps *= k;
        c.writes_rps *= k;
        c.misses_rps *= k;
    }
    for d in out.databases.values_mut() {
        d.reads_rps *= k;
        d.writes_rps *= k;
    }
    out.queues.values_mut().for_each(|r| *r *= k);
    out
}

/// The multiple of today's peak in month `m` at monthly growth `g`: (1 + g)^m.
pub fn growth_factor(g: f64, m: u32) -> f64 {
    let f = (1.0 + g).powf(f64::from(m));
    if f.is_finite() {
        f
    } else {
        f64::MAX
    }
}

/// Months 0..=`months`: the peak at each month and the monthly cost `cost(m, k)` of the
/// estimate re-run at that month's multiple k. Months are independent, so they are
/// estimated on all available cores (the result does not depend on how many).
pub fn table(
    peak_rps: f64,
    months: u32,
    g: f64,
    cost: impl Fn(u32, f64) -> f64 + Sync,
) -> Vec<HorizonMonth> {
    let all: Vec<u32> = (0..=months).collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, all.len().max(1));
    let chunk = all.len().div_ceil(workers).max(1);
    let month = |m: u32| {
        let k = growth_factor(g, m);
        HorizonMonth {
            month: m,
            peak_rps: peak_rps * k,
            monthly_cost: cost(m, k),
        }
    };
    if workers == 1 {
        return all.into_iter().map(month).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(|&m| month(m)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
