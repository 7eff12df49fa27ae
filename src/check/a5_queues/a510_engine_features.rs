//! A510: a queue feature that its engine does not have.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Queue, QueueEngine};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports a queue attribute that its `engine` (redis by default) does not implement:
    /// `priority` on kafka (a log has no priorities), `compaction = true` on anything but
    /// kafka (log compaction is a kafka feature; `compaction = false` is accepted
    /// everywhere), and `exchange` on anything but rabbitmq (exchanges are AMQP routing).
    ///
    /// ## Why is this bad?
    /// The setting is silently ignored by the broker or the client library: urgent jobs wait
    /// behind bulk ones, a "compacted" topic grows without bound, fan-out never happens
    /// (`shared/seed`, §8).
    ///
    /// ## Example
    /// ```arch
    /// queue jobs { engine = kafka  priority = 10 }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue jobs { engine = rabbitmq  priority = 10 }
    /// ```
    A510, Error, "feature the queue engine lacks", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for q in &ctx.program.queues {
        let engine = q.engine.value;
        if let Some(p) = q.priority.as_ref().filter(|_| engine == QueueEngine::Kafka) {
            out.push(report(q, p.span, "`priority`", "priority levels", "use `engine = rabbitmq` (or redis) for priorities, or a separate topic per priority"));
        }
        if let Some(c) = q
            .compaction
            .as_ref()
            .filter(|c| c.value && engine != QueueEngine::Kafka)
        {
            out.push(report(q, c.span, "`compaction = true`", "log compaction", "use `engine = kafka` for a compacted topic, or remove `compaction` and bound the queue with `retention` or `max_length`"));
        }
        if let Some(x) = q
            .exchange
            .as_ref()
            .filter(|_| engine != QueueEngine::Rabbitmq)
        {
            out.push(report(q, x.span, "`exchange`", "exchanges", "use `engine = rabbitmq`, or remove `exchange` (fan out with one queue per consumer, or kafka consumer groups)"));
        }
    }
    out
}

fn report(q: &Queue, span: Span, attr: &str, feature: &str, help: &str) -> Diagnostic {
    let engine = q.engine.value;
    let note = q.engine.default_note();
    Diagnostic::error(
        "A510",
        span,
        format!(
            "`{}` sets {attr}, but {engine}{note} has no {feature}",
            q.name.value
        ),
    )
    .with_primary_label(format!("not supported by {engine}"))
    .with_label(q.engine.span, format!("engine = {engine}{note}"))
    .with_help(help)
}
