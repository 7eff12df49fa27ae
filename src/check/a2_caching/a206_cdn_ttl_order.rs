//! A206: a CDN behaviour's TTLs are out of order.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Behavior, Cdn, Millis, Spanned};

crate::declare_rule! {
    /// ## What it does
    /// Reports a CDN `behavior` whose TTLs break `min_ttl` ≤ `ttl` ≤ `max_ttl` (for the ones
    /// that are given; `min_ttl` ≤ `max_ttl` when `ttl` is absent).
    ///
    /// ## Why is this bad?
    /// The edge clamps the origin's `Cache-Control` between `min_ttl` and `max_ttl`, and uses
    /// `ttl` when the origin says nothing (`shared/seed`, §4: `minTTL`, `defaultTTL`,
    /// `maxTTL`). Out of order, the bounds contradict each other: providers reject the
    /// configuration, or silently apply one of the bounds, so objects live for a time nobody
    /// chose.
    ///
    /// ## Example
    /// ```arch
    /// cdn assets {
    ///   origin = edge
    ///   behavior "/static/*" { min_ttl = 1d  ttl = 1h  max_ttl = 365d }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// cdn assets {
    ///   origin = edge
    ///   behavior "/static/*" { min_ttl = 1h  ttl = 1d  max_ttl = 365d }
    /// }
    /// ```
    A206, Error, "CDN TTLs out of order", run
}

type Ttl<'a> = (&'static str, &'a Spanned<Millis>);

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cdn in &ctx.program.cdns {
        for b in &cdn.behaviors {
            let min = b.min_ttl.as_ref().map(|t| ("min_ttl", t));
            let ttl = b.ttl.as_ref().map(|t| ("ttl", t));
            let max = b.max_ttl.as_ref().map(|t| ("max_ttl", t));
            let before = out.len();
            out.extend(pair(cdn, b, min, ttl));
            out.extend(pair(cdn, b, ttl, max));
            if out.len() == before {
                out.extend(pair(cdn, b, min, max));
            }
        }
    }
    out
}

/// A diagnostic when `low` > `high`; the primary span is the `high` side's value.
fn pair(cdn: &Cdn, b: &Behavior, low: Option<Ttl>, high: Option<Ttl>) -> Option<Diagnostic> {
    let ((ln, lt), (hn, ht)) = (low?, high?);
    if lt.value.0 <= ht.value.0 {
        return None;
    }
    let (l, h) = (lt.value, ht.value);
    Some(
        Diagnostic::error(
            "A206",
            ht.span,
            format!("cdn `{}` behavior \"{}\": `{hn}` {h} is below `{ln}` {l} (needs min_ttl <= ttl <= max_ttl)", cdn.name.value, b.pattern.value),
        )
        .with_primary_label(format!("{hn} = {h}"))
        .with_label(lt.span, format!("{ln} = {l}, above {hn}"))
        .with_help(format!("raise `{hn}` to at least {l}, or lower `{ln}` to at most {h}")),
    )
}
