//! A207: inconsistent cache sizing (hit ratio above what the capacity gives, or a redis
//! layer too small for its entries).

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Bytes, Cache, CacheLayer, LayerKind, Percent};
use crate::plan::cache_model::zipf_hit_ratio;
use crate::plan::catalogue::Catalogue;
use crate::plan::load::{cache_capacity_entries, entry_bytes};

crate::declare_rule! {
    /// ## What it does
    /// Checks that a cache's sizing figures agree (plan-model.md §3):
    /// - a declared `hit_ratio` above the ideal-cache estimate H(k, s) / H(N, s) for the
    ///   declared `popularity = zipf(s)` over `keys` = N, where k is the capacity of the
    ///   largest layer (`entries`, or `memory` / `size` divided by `value` plus the
    ///   catalogue's per-entry overhead);
    /// - a `redis` layer whose `memory` cannot hold its `entries`:
    ///   entries × (`value` + entry overhead) > `memory`.
    ///
    /// ## Why is this bad?
    /// Capacity planning downstream of the cache trusts the hit ratio: the source sees
    /// λ × (1 − hit ratio). A 95% promise that the cache can only deliver at 60% sends eight
    /// times the planned reads to the database (seed §3, "Cache Layers"). A redis layer
    /// whose entries do not fit evicts constantly, so the real hit ratio falls the same way.
    ///
    /// ## Example
    /// ```arch
    /// cache products {
    ///   keys = 1M  value = 2KB  popularity = zipf(0.8)  hit_ratio = 95%
    ///   layer memory { entries = 10k  ttl = 30s }
    ///   layer redis  { memory = 1GB  entries = 1M  ttl = 10m }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// cache products {
    ///   keys = 1M  value = 2KB  popularity = zipf(0.8)  hit_ratio = 95%
    ///   layer memory { entries = 10k  ttl = 30s }
    ///   layer redis  { memory = 3GB  entries = 1M  ttl = 10m }
    /// }
    /// ```
    A207, Warning, "inconsistent cache sizing", run
}

/// A declared hit ratio may exceed the estimate by this much (a fraction) before it is
/// reported: the estimate is itself approximate.
const SLACK: f64 = 0.005;

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cache in &ctx.program.caches {
        out.extend(hit_ratio_above_estimate(cache, ctx.catalogue));
        out.extend(
            cache
                .layers
                .iter()
                .filter_map(|l| redis_too_small(cache, l, ctx.catalogue)),
        );
    }
    out
}

fn hit_ratio_above_estimate(cache: &Cache, catalogue: &Catalogue) -> Option<Diagnostic> {
    let declared = cache.hit_ratio.as_ref()?;
    let s = cache.popularity.as_ref()?;
    let keys = cache.keys.as_ref()?;
    let capacity = cache_capacity_entries(cache, catalogue)?;
    let n = f64::from(keys.value);
    let estimate = zipf_hit_ratio(capacity, n, s.value);
    if !estimate.is_finite() || declared.value.fraction() <= estimate + SLACK {
        return None;
    }
    // The estimate to one decimal: `36.2%`.
    let at_most = Percent((estimate * 1000.0).round() / 10.0);
    let message = format!(
        "{} declares hit_ratio {}, but an ideal cache of {} entries over {} keys under zipf({}) hits at most {at_most}",
        cache.name.value, declared.value, capacity, keys.value, s.value,
    );
    let mut d = Diagnostic::warning("A207", declared.span, message)
        .with_primary_label(format!("estimate {at_most}"))
        .with_label(s.span, "popularity")
        .with_label(keys.span, "key space");
    if let Some(l) = largest_layer(cache, catalogue, capacity) {
        d = d.with_label(l.kind.span, format!("largest layer: {capacity} entries"));
    }
    Some(d.with_help(format!(
        "lower `hit_ratio` to {at_most} or less, or give the layers more capacity"
    )))
}

fn largest_layer<'c>(
    cache: &'c Cache,
    catalogue: &Catalogue,
    capacity: f64,
) -> Option<&'c CacheLayer> {
    cache
        .layers
        .iter()
        .find(|l| crate::plan::load::layer_capacity_entries(cache, l, catalogue) == Some(capacity))
}

fn redis_too_small(cache: &Cache, layer: &CacheLayer, catalogue: &Catalogue) -> Option<Diagnostic> {
    if layer.kind.value != LayerKind::Redis {
        return None;
    }
    let memory = layer.memory.as_ref()?;
    let entries = layer.entries.as_ref()?;
    let per_entry = entry_bytes(cache, catalogue)?;
    let needed = f64::from(entries.value) * per_entry;
    if needed <= memory.value.0 {
        return None;
    }
    let overhead = catalogue.defaults.entry_overhead_bytes;
    let message = format!(
        "the redis layer of {} needs {} for {} entries × ({} value + {} overhead), but has {}",
        cache.name.value,
        Bytes(needed),
        entries.value,
        Bytes(per_entry - overhead),
        Bytes(overhead),
        memory.value,
    );
    let mut d = Diagnostic::warning("A207", memory.span, message)
        .with_primary_label(format!(
            "holds about {:.0} entries",
            (memory.value.0 / per_entry).floor()
        ))
        .with_label(entries.span, format!("{} entries", entries.value));
    if let Some(v) = &cache.value {
        d = d.with_label(v.span, "mean entry size");
    }
    Some(d.with_help(format!(
        "raise `memory` to at least {}, or lower `entries`",
        Bytes(needed)
    )))
}
