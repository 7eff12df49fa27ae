//! A508: a queue that nothing consumes, or that nothing produces.

use crate::check::common::endpoint_id;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Program, Queue};
use crate::source::Span;
use std::collections::HashMap;

crate::declare_rule! {
    /// ## What it does
    /// Reports a queue without a consumer or without a producer.
    /// - Producers: an endpoint's `publishes`, a job's `publishes`, another queue whose
    ///   `dead_letter` it is, a cache whose `write_behind.buffer` it is.
    /// - Consumers: a service's `consumes` block, a cache that invalidates `on` it, a cache
    ///   whose `write_behind.buffer` it is (the cache drains its own buffer).
    ///
    /// A dead-letter queue needs no consumer: people and replay tools read it.
    ///
    /// ## Why is this bad?
    /// Without a consumer, messages pile up until retention deletes them and the work they
    /// stand for never happens; without a producer, the consumers wait for messages that
    /// never come, which usually means a `publishes` was forgotten (`shared/seed`, §8).
    ///
    /// ## Example
    /// ```arch
    /// queue emails { }
    /// service mailer {
    ///   consumes send { from = emails  work = 20ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// queue emails { }
    /// service mailer {
    ///   consumes send { from = emails  work = 20ms }
    /// }
    /// service users {
    ///   endpoint sign_up { route = "POST /users"  work = 5ms  publishes = [emails] }
    /// }
    /// ```
    A508, Warning, "queue without consumer or producer", run
}

/// Who produces to and who consumes from one queue, as (place, description).
struct Uses {
    producers: Vec<(Span, String)>,
    consumers: Vec<(Span, String)>,
    dead_letter_of: bool,
}

/// Producers and consumers of every queue, in one pass over the program.
fn all_uses(p: &Program) -> HashMap<&str, Uses> {
    let mut map: HashMap<&str, Uses> = HashMap::new();
    for s in &p.services {
        for e in &s.endpoints {
            for r in &e.publishes {
                entry(&mut map, &r.name)
                    .producers
                    .push((r.span, format!("published by `{}`", endpoint_id(s, e))));
            }
        }
        for c in &s.consumers {
            if let Some(r) = &c.from {
                entry(&mut map, &r.name).consumers.push((
                    r.span,
                    format!("consumed by `{}.{}`", s.name.value, c.name.value),
                ));
            }
        }
    }
    for j in &p.jobs {
        if let Some(r) = &j.publishes {
            entry(&mut map, &r.name)
                .producers
                .push((r.span, format!("published by job `{}`", j.name.value)));
        }
    }
    for other in &p.queues {
        if let Some(r) = other
            .dead_letter
            .as_ref()
            .filter(|r| r.name != other.name.value)
        {
            let u = entry(&mut map, &r.name);
            u.producers
                .push((r.span, format!("dead letters of `{}`", other.name.value)));
            u.dead_letter_of = true;
        }
    }
    for c in &p.caches {
        if let Some(r) = c.write_behind.as_ref().and_then(|w| w.buffer.as_ref()) {
            let u = entry(&mut map, &r.name);
            u.producers
                .push((r.span, format!("write-behind buffer of `{}`", c.name.value)));
            u.consumers
                .push((r.span, format!("drained by `{}`", c.name.value)));
        }
        for r in c.invalidate.iter().flat_map(|i| &i.on) {
            entry(&mut map, &r.name)
                .consumers
                .push((r.span, format!("invalidates `{}`", c.name.value)));
        }
    }
    map
}

fn entry<'p, 'm>(map: &'m mut HashMap<&'p str, Uses>, name: &'p str) -> &'m mut Uses {
    map.entry(name).or_insert_with(|| Uses {
        producers: Vec::new(),
        consumers: Vec::new(),
        dead_letter_of: false,
    })
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let uses = all_uses(ctx.program);
    let none = Uses {
        producers: Vec::new(),
        consumers: Vec::new(),
        dead_letter_of: false,
    };
    ctx.program
        .queues
        .iter()
        .filter_map(|q| check(q, uses.get(q.name.value.as_str()).unwrap_or(&none)))
        .collect()
}

fn check(q: &Queue, u: &Uses) -> Option<Diagnostic> {
    let no_consumer = u.consumers.is_empty() && !u.dead_letter_of;
    let no_producer = u.producers.is_empty();
    let name = &q.name.value;
    let (message, help) = match (no_producer, no_consumer) {
        (false, false) => return None,
        (true, true) => (
            format!("nothing publishes to `{name}` and nothing consumes it"),
            format!("remove `{name}`, or add `publishes = [{name}]` to the endpoint that emits these messages and a `consumes x {{ from = {name}  work = ... }}` block to the service that handles them"),
        ),
        (true, false) => (
            format!("nothing publishes to `{name}`: its consumers wait for messages that never come"),
            format!("add `publishes = [{name}]` to the endpoint or job that emits these messages"),
        ),
        (false, true) => (
            format!("nothing consumes `{name}`: its messages pile up until retention deletes them"),
            format!("add `consumes x {{ from = {name}  work = ... }}` to the service that handles these messages"),
        ),
    };
    let mut d = Diagnostic::warning("A508", q.name.span, message).with_primary_label(
        match (no_producer, no_consumer) {
            (true, true) => "no producer, no consumer",
            (true, false) => "no producer",
            _ => "no consumer",
        },
    );
    for (span, text) in u.producers.iter().chain(&u.consumers) {
        d = d.with_label(*span, text.clone());
    }
    Some(d.with_help(help))
}
