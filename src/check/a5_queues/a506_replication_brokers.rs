//! A506: a replication factor larger than the number of brokers.

use super::a501_retry_without_dead_letter::default_note;
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
    let rnote = default_note(q.replication.span, q.name.span);
    let bnote = default_note(q.brokers.span, q.name.span);
    Some(
        Diagnostic::error(
            "A506",
            q.replication.span,
            format!(
                "`{}` keeps {replication} replicas{rnote} of each partition, but has only {brokers} broker{}{bnote}",
                q.name.value,
                if brokers == 1 { "" } else { "s" }
            ),
        )
        .with_primary_label(format!("replication = {replication}{rnote}"))
        .with_label(q.brokers.span, format!("brokers = {brokers}{bnote}"))
        .with_help(format!("set `brokers = {replication}` or more, or `replication = {brokers}`")),
    )
}
