//! A506: a replication factor larger than the number of brokers.

use crate::check::common::plural;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::Queue;

crate::declare_rule! {
    /// ## What it does
    /// Reports a queue whose `replication` (3 by default on kafka, 1 elsewhere) is larger
    /// than its `brokers` (3 by default).
    ///
    /// ## Why is this bad?
    /// Each replica of a partition must live on a different broker. With fewer brokers than
    /// replicas the topic cannot be created (Kafka: "replication factor larger than available
    /// brokers"), or runs under-replicated and loses data when a broker fails
    /// (`shared/seed`, §8 and §10).
    ///
    /// ## Example
    /// ```arch
    /// queue orders { engine = kafka  brokers = 2  replication = 3 }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue orders { engine = kafka  brokers = 3  replication = 3 }
    /// ```
    A506, Error, "replication larger than brokers", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.queues.iter().filter_map(check).collect()
}

fn check(q: &Queue) -> Option<Diagnostic> {
    let (replication, brokers) = (q.replication.value, q.brokers.value);
    if replication <= brokers {
        return None;
    }
    let rnote = q.replication.default_note();
    let bnote = q.brokers.default_note();
    Some(
        Diagnostic::error(
            "A506",
            q.replication.span,
            format!(
                "`{}` keeps {replication} replicas{rnote} of each partition, but has only {brokers} {}{bnote}",
                q.name.value,
                plural(brokers.into(), "broker", "brokers")
            ),
        )
        .with_primary_label(format!("replication = {replication}{rnote}"))
        .with_label(q.brokers.span, format!("brokers = {brokers}{bnote}"))
        .with_help(format!("set `brokers = {replication}` or more, or `replication = {brokers}`")),
    )
}
