//! A204: a write-behind cache without a durable buffer queue.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Cache, Delivery, Pattern, Program};

crate::declare_rule! {
    /// ## What it does
    /// Reports a write-behind cache (`pattern = write_behind`, or a `write_behind` block)
    /// whose pending writes are not kept in a durable queue: `write_behind { buffer = ... }`
    /// is missing, or names a queue with `delivery = at_most_once`.
    ///
    /// ## Why is this bad?
    /// Write-behind acknowledges a write as soon as the cache has it and writes the database
    /// later (`shared/seed`, §3, `writeBehind`). Until the flush, the write exists only in the
    /// buffer: if that is process memory, or a queue allowed to drop messages, a crash or a
    /// restart loses writes the client was told had succeeded.
    ///
    /// ## Example
    /// ```arch
    /// cache sessions {
    ///   source = users_db
    ///   pattern = write_behind
    ///   layer redis { ttl = 1h }
    ///   write_behind { batch = 100  flush = 1s }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue session_writes { engine = kafka }
    /// cache sessions {
    ///   source = users_db
    ///   pattern = write_behind
    ///   layer redis { ttl = 1h }
    ///   write_behind { batch = 100  flush = 1s  buffer = session_writes }
    /// }
    /// ```
    A204, Warning, "write-behind without a durable buffer", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program
        .caches
        .iter()
        .filter_map(|c| check_cache(ctx.program, c))
        .collect()
}

fn check_cache(program: &Program, cache: &Cache) -> Option<Diagnostic> {
    let wb = cache.write_behind.as_ref();
    if cache.pattern.value != Pattern::WriteBehind && wb.is_none() {
        return None;
    }
    let name = &cache.name.value;
    let Some(buffer) = wb.and_then(|w| w.buffer.as_ref()) else {
        let span = wb.map(|w| w.span).unwrap_or(cache.pattern.span);
        return Some(
            Diagnostic::warning("A204", span, format!("cache `{name}` is write-behind but keeps pending writes in memory: a crash loses writes already acknowledged"))
                .with_primary_label("no `buffer` queue")
                .with_label(cache.name.span, format!("`{name}` acknowledges writes before the database has them"))
                .with_help("add `write_behind { buffer = a_queue }` naming a durable queue (for example `engine = kafka`)"),
        );
    };
    let queue = program.queue(&buffer.name)?;
    if queue.delivery.value != Delivery::AtMostOnce {
        return None;
    }
    Some(
        Diagnostic::warning("A204", buffer.span, format!("cache `{name}` buffers its pending writes in `{}`, which has `delivery = at_most_once`: a lost message is a lost write", buffer.name))
            .with_primary_label("buffer may drop messages")
            .with_label(queue.delivery.span, "messages may be dropped here")
            .with_help(format!("set `delivery = at_least_once` on `{}`, or buffer in a durable queue", buffer.name)),
    )
}
