//! A509: an exponential backoff whose `max` is below its base.

use crate::check::common::endpoint_id;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Backoff, Millis, Retry};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports `backoff = exponential(base, max = m)` with `m` below `base`, in the `retry`
    /// block of a queue, an endpoint or a gateway route.
    ///
    /// ## Why is this bad?
    /// The cap is meant to bound a growing delay (`shared/seed`, §8, retry with exponential
    /// backoff). Below the base it clamps every delay, the first one included, to `max`:
    /// the backoff is really a short fixed delay, and a struggling dependency is hammered
    /// instead of given time to recover. The figures were most likely swapped.
    ///
    /// ## Example
    /// ```arch
    /// queue orders { retry { attempts = 5  backoff = exponential(30s, max = 1s) }  dead_letter = orders_dlq }
    /// queue orders_dlq { }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue orders { retry { attempts = 5  backoff = exponential(1s, max = 30s) }  dead_letter = orders_dlq }
    /// queue orders_dlq { }
    /// ```
    A509, Error, "backoff max below its base", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut places: Vec<(&Retry, String, Span)> = Vec::new();
    places.extend(p.queues.iter().filter_map(|q| {
        Some((
            q.retry.as_ref()?,
            format!("queue `{}`", q.name.value),
            q.name.span,
        ))
    }));
    for s in &p.services {
        places.extend(s.endpoints.iter().filter_map(|e| {
            Some((
                e.retry.as_ref()?,
                format!("endpoint `{}`", endpoint_id(s, e)),
                e.name.span,
            ))
        }));
    }
    for g in &p.gateways {
        places.extend(g.routes.iter().filter_map(|r| {
            Some((
                r.retry.as_ref()?,
                format!("route \"{}\" of `{}`", r.pattern.value, g.name.value),
                r.pattern.span,
            ))
        }));
    }
    places
        .into_iter()
        .filter_map(|(r, what, span)| check(r, &what, span))
        .collect()
}

fn check(retry: &Retry, what: &str, owner: Span) -> Option<Diagnostic> {
    let backoff = retry.backoff.as_ref()?;
    let Backoff::Exponential {
        base_ms,
        max_ms: Some(max_ms),
    } = backoff.value
    else {
        return None;
    };
    if max_ms >= base_ms {
        return None;
    }
    let (base, max) = (Millis(base_ms), Millis(max_ms));
    Some(
        Diagnostic::error(
            "A509",
            backoff.span,
            format!("the retry backoff of {what} starts at {base} but is capped at {max}: every delay is clamped to {max}"),
        )
        .with_primary_label(format!("max {max} < base {base}"))
        .with_label(owner, what.to_string())
        .with_help(format!("swap the figures: `exponential({max}, max = {base})`, or write `fixed({max})` if a constant delay is meant")),
    )
}
