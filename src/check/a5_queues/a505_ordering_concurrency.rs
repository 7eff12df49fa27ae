//! A505: ordering by `key` on an engine without partitions, consumed in parallel.

use super::a501_retry_without_dead_letter::default_note;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Consumer, Queue, QueueEngine, Service};

crate::declare_rule! {
    /// ## What it does
    /// Reports a queue that declares an ordering `key` on an engine without partitions
    /// (every engine but `kafka`) and is consumed with `concurrency` > 1 (`concurrency`
    /// counts the consumers of a `consumes` block across all of the service's instances).
    ///
    /// ## Why is this bad?
    /// Only partitions keep per-key order with parallel consumers: kafka sends each key to
    /// one partition, read by one consumer. On a single shared queue, two messages of the
    /// same key go to two workers and finish in any order (`shared/seed`, §8, ordered
    /// processing): "cancelled" is applied before "created".
    ///
    /// ## Example
    /// ```arch
    /// queue order_events { engine = rabbitmq  key = order_id }
    /// service shipping {
    ///   consumes events { from = order_events  concurrency = 8  work = 5ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue order_events { engine = kafka  partitions = 8  key = order_id }
    /// service shipping {
    ///   consumes events { from = order_events  concurrency = 8  work = 5ms }
    /// }
    /// ```
    A505, Warning, "ordering key with parallel consumers on an engine without partitions", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for q in ctx
        .program
        .queues
        .iter()
        .filter(|q| q.engine.value != QueueEngine::Kafka)
    {
        for s in &ctx.program.services {
            for c in s
                .consumers
                .iter()
                .filter(|c| c.from.as_ref().is_some_and(|f| f.name == q.name.value))
            {
                out.extend(check(q, s, c));
            }
        }
    }
    out
}

fn check(q: &Queue, s: &Service, c: &Consumer) -> Option<Diagnostic> {
    let key = q.key.as_ref()?;
    let concurrency = c.concurrency.value;
    if concurrency <= 1 {
        return None;
    }
    let engine = q.engine.value;
    let enote = default_note(q.engine.span, q.name.span);
    Some(
        Diagnostic::warning(
            "A505",
            c.concurrency.span,
            format!(
                "`{}` orders messages by `{}`, but `{}.{}` consumes it with concurrency {concurrency} and {engine}{enote} has no partitions: messages of one key are processed out of order",
                q.name.value, key.value, s.name.value, c.name.value
            ),
        )
        .with_primary_label(format!("{concurrency} parallel consumers"))
        .with_label(key.span, format!("ordering by `{}`", key.value))
        .with_label(q.engine.span, format!("engine = {engine}{enote}"))
        .with_help(format!(
            "use `engine = kafka`, whose partitions keep each key on one consumer, or set `concurrency = 1` on `{}.{}`",
            s.name.value, c.name.value
        )),
    )
}
