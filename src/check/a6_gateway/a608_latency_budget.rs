//! A608: a route's p99 target below the work and wait of its synchronous call chain.

use crate::check::common::{calls, endpoint_id, reached_endpoints};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Endpoint, Gateway, Millis, Program, Route, Service, Spanned};
use std::collections::HashMap;

crate::declare_rule! {
    /// ## What it does
    /// Reports a gateway route whose p99 latency target (`latency` on the route, or
    /// `system.latency` as the default for every route) is below the sum of `work` and `wait`
    /// along the longest synchronous chain that starts at an endpoint the route reaches and
    /// follows `calls`.
    ///
    /// ## Why is this bad?
    /// `work` and `wait` are the time one request spends on CPU and on I/O at each hop, with
    /// no queueing at all. If even that exceeds the target, the target cannot be met at any
    /// load, and the p99 (which adds queueing, retries and tail latency) is further still.
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/feed" { to = feed  latency = 50ms }
    /// }
    /// service feed {
    ///   endpoint get { route = "GET /api/feed"  work = 10ms  wait = 30ms  calls = [users.get] }
    /// }
    /// service users {
    ///   endpoint get { route = "GET /users/:id"  work = 5ms  wait = 20ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/feed" { to = feed  latency = 100ms }
    /// }
    /// service feed {
    ///   endpoint get { route = "GET /api/feed"  work = 10ms  wait = 30ms  calls = [users.get] }
    /// }
    /// service users {
    ///   endpoint get { route = "GET /users/:id"  work = 5ms  wait = 20ms }
    /// }
    /// ```
    A608, Warning, "route latency target below its call chain's work and wait", run
}

type Hop<'p> = (&'p Service, &'p Endpoint);

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let default = p.system.as_ref().and_then(|s| s.latency.as_ref());
    let mut memo = HashMap::new();
    let mut out = Vec::new();
    for g in &p.gateways {
        for r in &g.routes {
            let Some(target) = r.latency.as_ref().or(default) else {
                continue;
            };
            let longest = reached_endpoints(p, r)
                .into_iter()
                .map(|hop| chain(p, hop, &mut memo, &mut Vec::new()))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((total, hops)) = longest.filter(|(total, _)| *total > target.value.0) {
                out.push(report(
                    g,
                    r,
                    target,
                    r.latency.is_none(),
                    Millis(total),
                    &hops,
                ));
            }
        }
    }
    out
}

/// The longest chain of `work + wait` from this endpoint through its synchronous calls.
/// A call back into the chain is skipped (a cycle is rule A604).
fn chain<'p>(
    p: &'p Program,
    (s, e): Hop<'p>,
    memo: &mut HashMap<String, (f64, Vec<Hop<'p>>)>,
    stack: &mut Vec<String>,
) -> (f64, Vec<Hop<'p>>) {
    let id = endpoint_id(s, e);
    if let Some(done) = memo.get(&id) {
        return done.clone();
    }
    stack.push(id.clone());
    let mut best: (f64, Vec<Hop<'p>>) = (0.0, Vec::new());
    // Chains deeper than the plan model follows are cut there (as `plan::load` does), so a
    // hostile program cannot exhaust the stack.
    let deep_enough = stack.len() >= crate::plan::load::MAX_CALL_DEPTH;
    let callees = calls(s, e)
        .filter_map(|c| p.endpoint(c))
        .filter(|_| !deep_enough);
    for callee in callees {
        if stack.contains(&endpoint_id(callee.0, callee.1)) {
            continue;
        }
        let sub = chain(p, callee, memo, stack);
        if sub.0 > best.0 {
            best = sub;
        }
    }
    stack.pop();
    let own = e.work.as_ref().map_or(0.0, |w| w.value.0) + e.wait.value.0;
    let mut hops = vec![(s, e)];
    hops.extend(best.1);
    let result = (own + best.0, hops);
    memo.insert(id, result.clone());
    result
}

fn report(
    g: &Gateway,
    r: &Route,
    target: &Spanned<Millis>,
    from_system: bool,
    total: Millis,
    hops: &[Hop],
) -> Diagnostic {
    let names: Vec<String> = hops
        .iter()
        .map(|(s, e)| format!("`{}`", endpoint_id(s, e)))
        .collect();
    let (span, origin) = if from_system {
        (r.pattern.span, " (the default from `system.latency`)")
    } else {
        (target.span, "")
    };
    let mut d = Diagnostic::warning(
        "A608",
        span,
        format!(
            "route \"{}\" of gateway `{}` has a p99 target of {}{origin}, but its synchronous chain {} takes at least {} of work and wait",
            r.pattern.value,
            g.name.value,
            target.value,
            names.join(" → "),
            total
        ),
    )
    .with_primary_label(format!("{}p99 target {}", if from_system { "default " } else { "" }, target.value));
    if from_system {
        d = d.with_label(target.span, "the default p99 target of every route");
    }
    for (s, e) in hops {
        let work = e.work.as_ref().map_or(Millis(0.0), |w| w.value);
        d = d.with_label(
            e.name.span,
            format!(
                "`{}`: work {work} + wait {}",
                endpoint_id(s, e),
                e.wait.value
            ),
        );
    }
    d.with_help(format!(
        "raise the route's `latency` to at least {total}, or shorten the chain: cache the slow reads, make calls parallel or asynchronous, or reduce `work`"
    ))
}
