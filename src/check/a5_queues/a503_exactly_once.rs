//! A503: `delivery = exactly_once` on an engine that cannot provide it.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Delivery, Queue, QueueEngine};

crate::declare_rule! {
    /// ## What it does
    /// Reports a queue with `delivery = exactly_once` whose `engine` is not `kafka`, the only
    /// engine here with transactional (exactly-once) delivery.
    ///
    /// ## Why is this bad?
    /// RabbitMQ, Redis, SQS and NATS deliver at least once: after a crash or a timeout a
    /// message is delivered again (`shared/seed`, §8, delivery semantics). Code written for
    /// exactly once then charges a card twice.
    ///
    /// ## Example
    /// ```arch
    /// queue payments { engine = sqs  delivery = exactly_once }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue payments { engine = sqs  delivery = at_least_once }
    /// ```
    /// and make the consumer idempotent (a deduplication key per message), or use
    /// `engine = kafka` with transactions.
    A503, Error, "exactly-once delivery on an engine without it", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.queues.iter().filter_map(check).collect()
}

fn check(q: &Queue) -> Option<Diagnostic> {
    if q.delivery.value != Delivery::ExactlyOnce || q.engine.value == QueueEngine::Kafka {
        return None;
    }
    let engine = q.engine.value;
    let note = q.engine.default_note();
    Some(
        Diagnostic::error("A503", q.delivery.span, format!("`{}` asks for exactly-once delivery, but {engine}{note} delivers at least once", q.name.value))
            .with_primary_label("not available on this engine")
            .with_label(q.engine.span, format!("engine = {engine}{note}"))
            .with_help("use `delivery = at_least_once` with idempotent consumers (deduplicate by message id), or `engine = kafka`"),
    )
}
