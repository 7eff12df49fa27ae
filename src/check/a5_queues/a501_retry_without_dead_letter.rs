//! A501: a queue that retries but has no dead-letter queue drops messages after the last try.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::Queue;

crate::declare_rule! {
    /// ## What it does
    /// Reports a queue whose `retry` block allows attempts (`attempts` > 0, 3 by default)
    /// but that declares no `dead_letter` queue.
    ///
    /// ## Why is this bad?
    /// After the last attempt a failing message ("poison message") is dropped: the order is
    /// never shipped and nobody knows. A dead-letter queue keeps it for inspection and
    /// replay (`shared/seed`, §8 "Dead Letter Queue Management").
    ///
    /// ## Example
    /// ```arch
    /// queue orders { engine = rabbitmq  retry { attempts = 5 } }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue orders { engine = rabbitmq  retry { attempts = 5 }  dead_letter = orders_dlq }
    /// queue orders_dlq { engine = rabbitmq }
    /// ```
    A501, Warning, "retries without a dead-letter queue", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.queues.iter().filter_map(check).collect()
}

fn check(q: &Queue) -> Option<Diagnostic> {
    let retry = q.retry.as_ref()?;
    let attempts = retry.attempts.value;
    if attempts == 0 || q.dead_letter.is_some() {
        return None;
    }
    let note = retry.attempts.default_note();
    Some(
        Diagnostic::warning(
            "A501",
            retry.attempts.span,
            format!("`{}` retries a failing message {attempts} times{note}, then drops it: there is no `dead_letter` queue", q.name.value),
        )
        .with_primary_label(format!("{attempts} attempts, then the message is lost"))
        .with_label(q.name.span, format!("`{}` has no `dead_letter`", q.name.value))
        .with_help(format!("add `dead_letter = {}_dlq` and declare `queue {}_dlq {{ }}`", q.name.value, q.name.value)),
    )
}
