//! A504: a consumer group with more consumers than the topic has partitions.

use super::common::consumer_groups;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Consumer, Queue, QueueEngine, Service};

crate::declare_rule! {
    /// ## What it does
    /// For a `kafka` queue, reports a consumer group with more consumers than the queue has
    /// `partitions` (6 by default). Each service consuming the queue is one consumer group
    /// (every group receives every message); its consumers are the `concurrency` of its
    /// `consumes` blocks from that queue, summed (`concurrency` counts consumers across all
    /// of the service's instances, as in the plan model). Other engines have no partitions
    /// (any number of consumers share one queue), so the rule applies to kafka only.
    ///
    /// ## Why is this bad?
    /// Kafka gives each partition to one consumer of a group: the consumers past the
    /// partition count sit idle (`shared/seed`, §8). Scaling the service out adds cost and
    /// no throughput, and the lag keeps growing.
    ///
    /// ## Example
    /// ```arch
    /// queue clicks { engine = kafka  partitions = 6 }
    /// service counter {
    ///   consumes clicks { from = clicks  concurrency = 16  work = 1ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue clicks { engine = kafka  partitions = 16 }
    /// service counter {
    ///   consumes clicks { from = clicks  concurrency = 16  work = 1ms }
    /// }
    /// ```
    A504, Warning, "more consumers than partitions", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    consumer_groups(ctx.program)
        .iter()
        .filter(|g| g.queue.engine.value == QueueEngine::Kafka)
        .filter_map(|g| check(g.queue, g.service, &g.consumers))
        .collect()
}

fn check(q: &Queue, s: &Service, group: &[&Consumer]) -> Option<Diagnostic> {
    let first = group.first()?;
    let consumers: u64 = group.iter().map(|c| u64::from(c.concurrency.value)).sum();
    let partitions = u64::from(q.partitions.value);
    if consumers <= partitions {
        return None;
    }
    let pnote = q.partitions.default_note();
    let mut d = Diagnostic::warning(
        "A504",
        first.concurrency.span,
        format!(
            "`{}` consumes `{}` with {consumers} consumers, but the topic has {partitions} partitions{pnote}: {} of the group's consumers sit idle",
            s.name.value,
            q.name.value,
            consumers - partitions
        ),
    )
    .with_primary_label(format!("{} consumers", first.concurrency.value))
    .with_label(q.partitions.span, format!("{partitions} partitions{pnote}"));
    for c in group.iter().skip(1) {
        d = d.with_label(
            c.concurrency.span,
            format!(
                "`{}` adds {} consumers to the same group",
                c.name.value, c.concurrency.value
            ),
        );
    }
    Some(d.with_help(format!(
        "raise `partitions` of `{}` to at least {consumers}, or lower the concurrency of `{}` to {partitions} in all",
        q.name.value, s.name.value
    )))
}
