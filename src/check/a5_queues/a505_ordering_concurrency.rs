//! A505: ordering by `key` on an engine without partitions, consumed in parallel.

use super::common::consumer_groups;
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
    consumer_groups(ctx.program)
        .iter()
        .filter(|g| g.queue.engine.value != QueueEngine::Kafka)
        .flat_map(|g| {
            g.consumers
                .iter()
                .filter_map(|c| check(g.queue, g.service, c))
        })
        .collect()
}

fn check(q: &Queue, s: &Service, c: &Consumer) -> Option<Diagnostic> {
    let key = q.key.as_ref()?;
    let concurrency = c.concurrency.value;
    if concurrency <= 1 {
        return None;
    }
    let engine = q.engine.value;
    let enote = q.engine.default_note();
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
