//! A202: a cache layer without a TTL, and no invalidation.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::Cache;

crate::declare_rule! {
    /// ## What it does
    /// Reports a cache that has no way to drop an entry: some layer has no `ttl` (or the
    /// cache declares no layer at all) and there is no `invalidate` block with `on`,
    /// `version = true` or `manual = true`.
    ///
    /// ## Why is this bad?
    /// An entry that never expires and is never invalidated is served for ever, however
    /// often the source changes: users keep seeing an old price or a deleted profile. The
    /// seed (`shared/seed`, §3 "Cache Invalidation Strategies") lists the ways out: a TTL,
    /// events, versions or manual purges. A cache needs at least one of them.
    ///
    /// ## Example
    /// ```arch
    /// cache products {
    ///   source = catalog_db
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// cache products {
    ///   source = catalog_db
    ///   layer redis { ttl = 10m }
    /// }
    /// ```
    A202, Warning, "cache entries may be stale forever", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program
        .caches
        .iter()
        .filter(|c| !invalidated(c))
        .filter_map(check_cache)
        .collect()
}

/// True when the cache declares some invalidation mechanism.
fn invalidated(cache: &Cache) -> bool {
    cache
        .invalidate
        .as_ref()
        .is_some_and(|i| !i.on.is_empty() || i.version || i.manual)
}

fn check_cache(cache: &Cache) -> Option<Diagnostic> {
    let name = &cache.name.value;
    let help = "give every layer a `ttl` (`layer redis { ttl = 10m }`), or invalidate entries with `invalidate { on = [a_queue] }`, `version = true` or `manual = true`";
    if cache.layers.is_empty() {
        return Some(
            Diagnostic::warning("A202", cache.name.span, format!("cache `{name}` declares no layer, so no TTL, and no invalidation: its entries may be stale forever"))
                .with_primary_label("no layer with a ttl, no `invalidate`")
                .with_help(help),
        );
    }
    let (i, layer) = cache
        .layers
        .iter()
        .enumerate()
        .find(|(_, l)| l.ttl.is_none() && !l.ttl_written)?;
    let which = format!("L{} ({})", i + 1, layer.kind.value);
    Some(
        Diagnostic::warning("A202", layer.kind.span, format!("cache `{name}`: {which} has no TTL and the cache has no invalidation: its entries may be stale forever"))
            .with_primary_label(format!("{which} never expires entries"))
            .with_label(cache.name.span, "no `invalidate` block drops them either")
            .with_help(help),
    )
}
