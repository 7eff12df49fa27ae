//! A201: an upper cache layer keeps entries longer than a lower one.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Cache, CacheLayer, Millis, Spanned};

crate::declare_rule! {
    /// ## What it does
    /// Reports a cache layer whose `ttl` is longer than the `ttl` of a layer below it
    /// (layers are declared L1 first: the in-process `memory` layer, then `redis`, …).
    ///
    /// ## Why is this bad?
    /// A lookup stops at the first layer that has the key. When L1 keeps an entry longer than
    /// L2, L1 goes on serving a value that L2 has already dropped and reloaded from the
    /// database: instances disagree with each other and with the shared layer, and an
    /// invalidation that only reaches L2 is undone by L1. The seed's multi-layer cache
    /// (`shared/seed`, §3 "Cache Hierarchy") keeps L1 short (1 s) and L2 longer (5 min).
    ///
    /// ## Example
    /// ```arch
    /// cache products {
    ///   source = catalog_db
    ///   layer memory { entries = 10k  ttl = 10m }
    ///   layer redis  { ttl = 1m }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// cache products {
    ///   source = catalog_db
    ///   layer memory { entries = 10k  ttl = 30s }
    ///   layer redis  { ttl = 10m }
    /// }
    /// ```
    A201, Warning, "upper cache layer outlives a lower one", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.caches.iter().flat_map(check_cache).collect()
}

fn check_cache(cache: &Cache) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, upper) in cache.layers.iter().enumerate() {
        let Some(upper_ttl) = &upper.ttl else {
            continue;
        };
        // The lower layer with the shortest TTL: the one the upper layer outlives most.
        let shortest = cache
            .layers
            .iter()
            .enumerate()
            .skip(i + 1)
            .filter_map(|(j, l)| l.ttl.as_ref().map(|t| (j, l, t)))
            .min_by(|a, b| a.2.value.0.total_cmp(&b.2.value.0));
        let Some((j, lower, lower_ttl)) = shortest else {
            continue;
        };
        if upper_ttl.value.0 > lower_ttl.value.0 {
            out.push(diagnostic(
                cache,
                (i, upper, upper_ttl),
                (j, lower, lower_ttl),
            ));
        }
    }
    out
}

fn diagnostic(
    cache: &Cache,
    upper: (usize, &CacheLayer, &Spanned<Millis>),
    lower: (usize, &CacheLayer, &Spanned<Millis>),
) -> Diagnostic {
    let (ui, ul, ut) = upper;
    let (li, ll, lt) = lower;
    let (up, low) = (format!("L{}", ui + 1), format!("L{}", li + 1));
    Diagnostic::warning(
        "A201",
        ut.span,
        format!(
            "cache `{}`: {up} ({}) keeps entries for {}, longer than {low} ({}) below it ({}): {up} serves values {low} has already dropped",
            cache.name.value,
            ul.kind.value,
            ut.value,
            ll.kind.value,
            lt.value
        ),
    )
    .with_primary_label(format!("{up} ttl {}", ut.value))
    .with_label(lt.span, format!("{low} expires entries after {}", lt.value))
    .with_help(format!("make the {up} ttl at most {} (upper layers usually keep a fraction of the lower layer's TTL)", lt.value))
}
