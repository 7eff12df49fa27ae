//! A604: a cycle of synchronous calls.

use crate::check::common::calls;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Endpoint, Program, Service};
use crate::source::Span;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{HashMap, VecDeque};

crate::declare_rule! {
    /// ## What it does
    /// Reports every cycle of synchronous `calls` between endpoints (directly, or through a
    /// service-wide `calls`), and shows each hop of the cycle.
    ///
    /// ## Why is this bad?
    /// A request that comes back to an endpoint it is already waiting on holds a connection or
    /// worker at every hop: under load the services exhaust each other's pools and deadlock,
    /// and a slowdown anywhere in the loop amplifies itself through the retries and timeouts
    /// of every hop (seed §8: work that need not be answered now belongs on a queue).
    ///
    /// ## Example
    /// ```arch
    /// service orders {
    ///   endpoint create { route = "POST /orders"  work = 5ms  calls = [stock.reserve] }
    ///   endpoint get    { route = "GET /orders/:id"  work = 2ms }
    /// }
    /// service stock {
    ///   endpoint reserve { route = "POST /stock/reserve"  work = 3ms  calls = [orders.create] }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service orders {
    ///   endpoint create { route = "POST /orders"  work = 5ms  calls = [stock.reserve] }
    ///   endpoint get    { route = "GET /orders/:id"  work = 2ms }
    /// }
    /// service stock {
    ///   endpoint reserve { route = "POST /stock/reserve"  work = 3ms  calls = [orders.get] }
    /// }
    /// ```
    A604, Error, "cycle of synchronous calls", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let g = ctx.graph.call_graph();
    let p = ctx.program;
    // Kosaraju runs without recursion: a call chain thousands deep cannot overflow the stack.
    kosaraju_scc(&g)
        .into_iter()
        .filter(|scc| scc.len() > 1 || scc.first().is_some_and(|&n| g.contains_edge(n, n)))
        .filter_map(|scc| report(p, &g, &scc))
        .collect()
}

fn report(p: &Program, g: &DiGraph<String, ()>, scc: &[NodeIndex]) -> Option<Diagnostic> {
    // Start at the endpoint declared first, so the report is stable.
    let start = *scc
        .iter()
        .min_by_key(|&&n| lookup(p, &g[n]).map(|(_, e)| (e.name.span.file, e.name.span.start)))?;
    let cycle = shortest_cycle(g, scc, start)?;
    let hops: Vec<(Span, String)> = cycle
        .windows(2)
        .filter_map(|w| hop(p, &g[w[0]], &g[w[1]]))
        .collect();
    let ((first_span, first_text), rest) = hops.split_first()?;
    let names: Vec<&str> = cycle.iter().map(|&n| g[n].as_str()).collect();
    let others: Vec<&str> = scc
        .iter()
        .filter(|n| !cycle.contains(n))
        .map(|&n| g[n].as_str())
        .collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(" (the loop also takes in `{}`)", others.join("`, `"))
    };
    let mut d = Diagnostic::error(
        "A604",
        *first_span,
        format!("synchronous call cycle: {}{also}", names.join(" → ")),
    )
    .with_primary_label(first_text.clone());
    for (span, text) in rest {
        d = d.with_label(*span, text.clone());
    }
    Some(d.with_help(
        "break the cycle: make one of these calls asynchronous (publish an event to a queue), or move the shared logic so that calls go one way only",
    ))
}

/// The nodes of a shortest cycle through `start` inside the component, `start` at both ends.
fn shortest_cycle(
    g: &DiGraph<String, ()>,
    scc: &[NodeIndex],
    start: NodeIndex,
) -> Option<Vec<NodeIndex>> {
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for next in g.neighbors(n) {
            if next == start {
                // Walk back from `n` to `start` (which has no parent), then close the loop.
                let mut path = vec![n];
                let mut at = n;
                while let Some(&prev) = parent.get(&at) {
                    path.push(prev);
                    at = prev;
                }
                path.reverse();
                path.push(start);
                return Some(path);
            }
            if scc.contains(&next) && !parent.contains_key(&next) {
                parent.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    None
}

/// The call `from` → `to` as written: its span and a label.
fn hop(p: &Program, from: &str, to: &str) -> Option<(Span, String)> {
    let (s, e) = lookup(p, from)?;
    let call = calls(s, e).find(|c| c.dotted() == to)?;
    Some((call.span, format!("`{from}` calls `{to}`")))
}

fn lookup<'p>(p: &'p Program, id: &str) -> Option<(&'p Service, &'p Endpoint)> {
    let (svc, ep) = id.split_once('.')?;
    let s = p.service(svc)?;
    Some((s, s.endpoints.iter().find(|e| e.name.value == ep)?))
}
