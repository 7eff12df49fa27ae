//! Caches (plan-model.md §3): hit ratio, memory, redis nodes and their node class.
//!
//! - Hit ratio: the declared `hit_ratio`, else the ideal-cache Zipf estimate over the
//!   largest layer (inclusive layers), else 0 (every read reaches the source; noted).
//! - A redis layer holds min(keys, its capacity) entries, its capacity being
//!   `memory / (value + entry_overhead)` (every key when it states no bound); memory =
//!   entries × (value + entry_overhead), else the layer's declared `memory`.
//! - Node class: the cheapest catalogue cache class whose memory × 0.75 holds the layer's
//!   memory spread over its declared nodes; the largest class when none does. Nodes =
//!   max(`nodes`, ⌈memory / (class memory × 0.75)⌉).
//! - `memory` layers live in the services' processes and cost nothing here; a cache with no
//!   redis layer reports the bytes of its largest in-process layer and 0 nodes.
//! - Memory does not grow with traffic in this model, so a cache has no saturation
//!   multiple; a redis layer that already needs more nodes than declared is listed as
//!   saturated at 0× (at any load).

use crate::model::{Cache, CacheLayer, LayerKind};
use crate::plan::catalogue::CacheClass;
use crate::plan::load::{entry_bytes, layer_capacity_entries};
use crate::plan::report::{CachePlan, Trace};

use super::trace::{bytes, ceil_count, money, num, pct, trace, Notes};
use super::Ctx;

/// Share of a node's memory planned for data (plan-model.md §3: node memory × 0.75).
pub const NODE_MEMORY_FILL: f64 = 0.75;

/// A sized cache and its saturation multiple.
pub struct CacheSizing {
    pub plan: CachePlan,
    pub saturates_at: Option<f64>,
}

/// Sizes one cache.
pub fn size_cache(ctx: &Ctx, c: &Cache, notes: &mut Notes) -> CacheSizing {
    let name = &c.name.value;
    let hit_ratio = ctx.loads.caches.get(name).map_or(0.0, |l| l.hit_ratio);
    let mut traces = Vec::new();
    if ctx.detail {
        // Built for its note even when the trace is not kept.
        let hit = hit_trace(ctx, c, hit_ratio, notes);
        if ctx.traces {
            traces.push(hit);
        }
    }
    let per_entry = entry_bytes(c, ctx.catalogue);
    if per_entry.is_some() && ctx.detail {
        notes.add(
            format!(
                "the catalogue entry overhead {} per cached entry",
                bytes(ctx.catalogue.defaults.entry_overhead_bytes)
            ),
            name,
        );
    }
    let keys = c.keys.as_ref().map(|k| f64::from(k.value));
    let mut memory_bytes = 0.0;
    let mut nodes: u32 = 0;
    let mut monthly_cost = 0.0;
    let mut saturated = false;
    let redis: Vec<&CacheLayer> = c
        .layers
        .iter()
        .filter(|l| l.kind.value == LayerKind::Redis)
        .collect();
    for layer in &redis {
        let memory = layer_memory(ctx, c, layer, keys, per_entry, notes);
        let declared = layer.nodes.value.max(1);
        let Some((class_name, class)) = node_class(ctx, memory / f64::from(declared)) else {
            continue;
        };
        let by_memory = ceil_count(memory / (class.memory_bytes * NODE_MEMORY_FILL));
        let layer_nodes = declared.max(by_memory);
        saturated |= by_memory > declared;
        let cost = f64::from(layer_nodes) * class.hourly * ctx.catalogue.hours_per_month;
        let cur = &ctx.catalogue.currency;
        if ctx.traces {
            traces.push(trace(
                "memory_bytes",
                "memory of the redis layer: entries × (value + entry_overhead)",
                vec![
                    ("entries", entries_text(c, layer, keys, per_entry, ctx)),
                    (
                        "value + entry_overhead",
                        per_entry.map_or("unknown".into(), bytes),
                    ),
                ],
                bytes(memory),
            ));
            traces.push(trace(
            "nodes",
            "redis nodes: max(nodes, ⌈memory / (node memory × 0.75)⌉), node class the cheapest that fits",
            vec![
                ("nodes (declared)", num(f64::from(layer.nodes.value))),
                ("memory", bytes(memory)),
                (
                    "node class",
                    format!("{class_name} ({})", bytes(class.memory_bytes)),
                ),
            ],
            num(f64::from(layer_nodes)),
        ));
            traces.push(trace(
                "monthly_cost",
                "nodes × hourly price × hours per month",
                vec![
                    ("nodes", num(f64::from(layer_nodes))),
                    ("hourly", money(class.hourly, cur)),
                    ("hours", num(ctx.catalogue.hours_per_month)),
                ],
                money(cost, cur),
            ));
        }
        memory_bytes += memory;
        nodes = nodes.saturating_add(layer_nodes);
        monthly_cost += cost;
    }
    if redis.is_empty() {
        memory_bytes = c
            .layers
            .iter()
            .map(|l| in_process_bytes(ctx, c, l, keys, per_entry))
            .fold(0.0, f64::max);
        if ctx.traces {
            traces.push(trace(
            "memory_bytes",
            "in-process layers only (no redis): bytes held by the largest layer, no nodes to pay for",
            vec![("layers", num(c.layers.len() as f64))],
            bytes(memory_bytes),
        ));
        }
    }
    CacheSizing {
        plan: CachePlan {
            name: name.clone(),
            hit_ratio,
            memory_bytes,
            nodes,
            monthly_cost,
            traces,
        },
        saturates_at: saturated.then_some(0.0),
    }
}

fn hit_trace(ctx: &Ctx, c: &Cache, hit: f64, notes: &mut Notes) -> Trace {
    if let Some(h) = &c.hit_ratio {
        return trace(
            "hit_ratio",
            "declared `hit_ratio`",
            vec![("hit_ratio", format!("{}", h.value))],
            pct(hit),
        );
    }
    match (&c.popularity, &c.keys) {
        (Some(s), Some(k)) if !c.layers.is_empty() => {
            let capacity = crate::plan::load::cache_capacity_entries(c, ctx.catalogue);
            trace(
                "hit_ratio",
                "ideal cache under Zipf(s) popularity: H(k, s) / H(N, s), H(n, s) = Σ i^(−s)",
                vec![
                    (
                        "k (entries of the largest layer)",
                        capacity.map_or("every key".into(), num),
                    ),
                    ("N (keys)", num(f64::from(k.value))),
                    ("s", num(s.value)),
                ],
                pct(hit),
            )
        }
        _ => {
            notes.add(
                "no `hit_ratio` and no `popularity` with `keys`: a hit ratio of 0 (every read reaches the source)",
                &c.name.value,
            );
            trace(
                "hit_ratio",
                "neither declared nor estimable: 0",
                Vec::new(),
                pct(hit),
            )
        }
    }
}

fn entries(ctx: &Ctx, c: &Cache, layer: &CacheLayer, keys: Option<f64>) -> Option<f64> {
    match (layer_capacity_entries(c, layer, ctx.catalogue), keys) {
        (Some(cap), Some(k)) => Some(cap.min(k)),
        (cap, k) => cap.or(k),
    }
}

fn entries_text(
    c: &Cache,
    layer: &CacheLayer,
    keys: Option<f64>,
    per_entry: Option<f64>,
    ctx: &Ctx,
) -> String {
    match (entries(ctx, c, layer, keys), per_entry) {
        (Some(e), Some(_)) => format!("{} (min of keys and the layer's capacity)", num(e)),
        _ => "unknown: the layer's declared memory is used".into(),
    }
}

fn layer_memory(
    ctx: &Ctx,
    c: &Cache,
    layer: &CacheLayer,
    keys: Option<f64>,
    per_entry: Option<f64>,
    notes: &mut Notes,
) -> f64 {
    match (entries(ctx, c, layer, keys), per_entry) {
        (Some(e), Some(per)) => e * per,
        _ => match &layer.memory {
            Some(m) => m.value.0,
            None => {
                notes.add(
                    "no `value` with `keys` and no layer `memory`: memory not estimated (the declared nodes are priced)",
                    &c.name.value,
                );
                0.0
            }
        },
    }
}

fn in_process_bytes(
    ctx: &Ctx,
    c: &Cache,
    layer: &CacheLayer,
    keys: Option<f64>,
    per_entry: Option<f64>,
) -> f64 {
    match (entries(ctx, c, layer, keys), per_entry) {
        (Some(e), Some(per)) => e * per,
        _ => layer.size.as_ref().map_or(0.0, |s| s.value.0),
    }
}

/// The cheapest cache class whose memory × 0.75 holds `per_node` bytes (ties: the smaller
/// memory, then the name); the largest class when none does.
fn node_class<'c>(ctx: &Ctx<'c>, per_node: f64) -> Option<(&'c str, &'c CacheClass)> {
    let classes = &ctx.catalogue.caches;
    let fits = classes
        .iter()
        .filter(|(_, k)| k.memory_bytes * NODE_MEMORY_FILL >= per_node)
        .min_by(|(an, a), (bn, b)| {
            a.hourly
                .total_cmp(&b.hourly)
                .then(a.memory_bytes.total_cmp(&b.memory_bytes))
                .then(an.cmp(bn))
        });
    let chosen = fits.or_else(|| {
        classes
            .iter()
            .max_by(|(an, a), (bn, b)| a.memory_bytes.total_cmp(&b.memory_bytes).then(bn.cmp(an)))
    });
    chosen.map(|(n, k)| (n.as_str(), k))
}
