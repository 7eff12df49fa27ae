//! A502: a chain of dead-letter queues that loops back on itself.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Program, Queue};

crate::declare_rule! {
    /// ## What it does
    /// Follows each queue's `dead_letter` to the next queue, and reports a chain that comes
    /// back to a queue already in it (including a queue that is its own dead letter). Every
    /// hop of the loop is labelled.
    ///
    /// ## Why is this bad?
    /// A message that fails everywhere circulates for ever: it is retried, dead-lettered,
    /// retried again, never reaches a place where a person looks at it, and keeps consuming
    /// workers (`shared/seed`, §8 "Dead Letter Queue Management").
    ///
    /// ## Example
    /// ```arch
    /// queue orders     { dead_letter = orders_dlq }
    /// queue orders_dlq { dead_letter = orders }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue orders     { dead_letter = orders_dlq }
    /// queue orders_dlq { }
    /// ```
    A502, Error, "dead-letter chain loops", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    p.queues
        .iter()
        .enumerate()
        .filter_map(|(i, _)| cycle_from(p, i))
        .filter_map(|c| report(&c))
        .collect()
}

/// The loop through queue `start`, in order, when `start` is on one and is its first queue
/// in declaration order (so each loop is reported once).
fn cycle_from(p: &Program, start: usize) -> Option<Vec<&Queue>> {
    let index = |name: &str| p.queues.iter().position(|q| q.name.value == name);
    let mut path = vec![start];
    let mut at = start;
    for _ in 0..p.queues.len() {
        let next = index(&p.queues.get(at)?.dead_letter.as_ref()?.name)?;
        if next == start {
            return Some(path.iter().filter_map(|&i| p.queues.get(i)).collect());
        }
        if next < start || path.contains(&next) {
            return None;
        }
        path.push(next);
        at = next;
    }
    None
}

fn report(cycle: &[&Queue]) -> Option<Diagnostic> {
    let first = cycle.first()?;
    let hop = first.dead_letter.as_ref()?;
    let mut names: Vec<&str> = cycle.iter().map(|q| q.name.value.as_str()).collect();
    names.push(&first.name.value);
    let mut d = Diagnostic::error(
        "A502",
        hop.span,
        format!("the dead-letter chain loops: {}", names.join(" → ")),
    )
    .with_primary_label(format!(
        "`{}` dead-letters to `{}`",
        first.name.value, hop.name
    ));
    for q in cycle.iter().skip(1) {
        if let Some(r) = &q.dead_letter {
            d = d.with_label(
                r.span,
                format!("`{}` dead-letters to `{}`", q.name.value, r.name),
            );
        }
    }
    let last = cycle
        .last()
        .map_or(first.name.value.as_str(), |q| q.name.value.as_str());
    Some(d.with_help(format!(
        "end the chain: remove `dead_letter` from `{last}`, or point it at a queue outside the loop that people and replay tools read"
    )))
}
