//! The saturation table (plan-model.md §7): for every component with a ceiling, the
//! multiple of today's peak at which it reaches 100% of that ceiling, smallest first.
//!
//! Ceilings: the fixed `replicas` or autoscale maximum of services and gateways (at their
//! target utilisation), the declared shards and replicas of databases, the declared
//! partitions and consumer concurrency of queues, and the declared nodes of caches (whose
//! memory does not grow with traffic: 0 when already too small, else no row). Every load in
//! the model is linear in the peak, so each multiple is found analytically by the
//! component's module; `tests/plan_props.rs` checks them against the estimate re-run at
//! the scaled peak.

use crate::plan::report::Bottleneck;

/// Rows for the components that have a multiple, given in declaration order, sorted
/// ascending (ties keep declaration order).
pub fn bottlenecks<'a>(rows: impl IntoIterator<Item = (&'a str, Option<f64>)>) -> Vec<Bottleneck> {
    let mut out: Vec<Bottleneck> = rows
        .into_iter()
        .filter_map(|(name, k)| {
            k.filter(|k| !k.is_nan()).map(|saturates_at| Bottleneck {
                component: name.to_string(),
                saturates_at,
            })
        })
        .collect();
    out.sort_by(|a, b| a.saturates_at.total_cmp(&b.saturates_at));
    out
}
