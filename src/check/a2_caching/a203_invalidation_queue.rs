//! A203: a cache is invalidated by a queue that no writer of its source publishes to.

use crate::check::common::endpoint_id;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Cache, Endpoint, Ref, Service, Target};
use std::collections::HashMap;

crate::declare_rule! {
    /// ## What it does
    /// Reports a queue in a cache's `invalidate { on = [...] }` that no writer of the cache's
    /// source publishes to. A writer is an endpoint whose `writes` names the source database
    /// (or one of its tables, or the cache itself).
    ///
    /// ## Why is this bad?
    /// Event-based invalidation (`shared/seed`, §3 "Cache Invalidation Strategies") only works
    /// when the code that changes the data announces it. If the endpoints that write the
    /// database publish nothing on the invalidation queue, no event ever arrives and the cache
    /// serves old values until their TTL runs out, or for ever.
    ///
    /// ## Example
    /// ```arch
    /// service catalog {
    ///   endpoint update_product {
    ///     route = "PUT /api/products/:id"  work = 3ms
    ///     writes = [catalog_db.products]
    ///   }
    /// }
    /// cache products {
    ///   source = catalog_db.products
    ///   layer redis { ttl = 10m }
    ///   invalidate { on = [product_events] }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service catalog {
    ///   endpoint update_product {
    ///     route = "PUT /api/products/:id"  work = 3ms
    ///     writes = [catalog_db.products]
    ///     publishes = [product_events]
    ///   }
    /// }
    /// ```
    A203, Warning, "invalidation queue with no publishing writer", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let index = write_index(ctx);
    let mut out = Vec::new();
    for cache in &ctx.program.caches {
        let (Some(inv), Some(source)) = (&cache.invalidate, &cache.source) else {
            continue;
        };
        // Unresolved names were reported by A004.
        if ctx.program.database(source.component()).is_none() {
            continue;
        }
        let writers = writers(&index, cache, source.component());
        for queue in inv
            .on
            .iter()
            .filter(|q| ctx.program.queue(&q.name).is_some())
        {
            if !writers
                .iter()
                .any(|(_, e, _)| e.publishes.iter().any(|p| p.name == queue.name))
            {
                out.push(diagnostic(cache, source.component(), queue, &writers));
            }
        }
    }
    out
}

type Writer<'a> = (&'a Service, &'a Endpoint, &'a Target);

/// Component name → the endpoints that write it (with their first write of it), in
/// declaration order, each tagged with its position; built once for all caches.
fn write_index<'a>(ctx: &'a Context) -> HashMap<&'a str, Vec<(usize, Writer<'a>)>> {
    let mut index: HashMap<&str, Vec<(usize, Writer)>> = HashMap::new();
    let mut position = 0;
    for s in &ctx.program.services {
        for e in &s.endpoints {
            for (i, t) in e.writes.iter().enumerate() {
                let c = t.component();
                if e.writes[..i].iter().all(|earlier| earlier.component() != c) {
                    index.entry(c).or_default().push((position, (s, e, t)));
                }
            }
            position += 1;
        }
    }
    index
}

/// Endpoints that write the cache's source database or the cache, with the write target
/// (the first one of the two the endpoint writes).
fn writers<'a>(
    index: &HashMap<&str, Vec<(usize, Writer<'a>)>>,
    cache: &Cache,
    db: &str,
) -> Vec<Writer<'a>> {
    let mut found: Vec<(usize, Writer<'a>)> = index
        .get(db)
        .into_iter()
        .chain(index.get(cache.name.value.as_str()))
        .flatten()
        .copied()
        .collect();
    found.sort_by_key(|(position, (_, e, t))| {
        let at = e
            .writes
            .iter()
            .position(|w| std::ptr::eq(w, *t))
            .unwrap_or(0);
        (*position, at)
    });
    found.dedup_by_key(|(position, _)| *position);
    found.into_iter().map(|(_, w)| w).collect()
}

fn diagnostic(
    cache: &Cache,
    db: &str,
    queue: &Ref,
    writers: &[(&Service, &Endpoint, &Target)],
) -> Diagnostic {
    let q = &queue.name;
    let c = &cache.name.value;
    let message = match writers {
        [] => format!("cache `{c}` is invalidated by `{q}`, but no endpoint writes its source `{db}`, so nothing publishes the changes on `{q}`"),
        [(s, e, _)] => format!("cache `{c}` is invalidated by `{q}`, but `{}`, the only writer of `{db}`, does not publish to `{q}`", endpoint_id(s, e)),
        _ => format!("cache `{c}` is invalidated by `{q}`, but none of the {} endpoints that write `{db}` publishes to `{q}`", writers.len()),
    };
    let mut d = Diagnostic::warning("A203", queue.span, message)
        .with_primary_label(format!("no writer of `{db}` publishes to `{q}`"));
    for (s, e, t) in writers {
        d = d.with_label(
            t.span(),
            format!(
                "`{}` writes `{db}` without publishing to `{q}`",
                endpoint_id(s, e)
            ),
        );
    }
    let help = match writers.first() {
        Some((s, e, _)) => format!("add `publishes = [{q}]` to `{}` (and every other writer of `{db}`), or invalidate on a queue they publish to", endpoint_id(s, e)),
        None => format!("declare the endpoints that write `{db}` with `writes = [{db}]` and `publishes = [{q}]`"),
    };
    d.with_help(help)
}
