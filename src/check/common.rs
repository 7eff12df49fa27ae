//! Helpers that rules of several families share: how gateway routes match and shadow each
//! other, which endpoints a route reaches, synchronous calls, the system's regions, and a
//! word or two for messages. A helper only one family uses lives in that family's
//! `common.rs`; rule files export nothing but their `RULE`.

use crate::model::{path_covers, Endpoint, Gateway, HttpRoute, PathRef, Program, Route, Service};
use crate::source::Span;

/// True when some request path matches both patterns (one pattern covers the other).
pub(crate) fn paths_overlap(a: &str, b: &str) -> bool {
    path_covers(a, b) || path_covers(b, a)
}

/// True when some request matches both routes: the methods agree (or one matches every
/// method) and the paths overlap.
pub(crate) fn routes_overlap(a: &HttpRoute, b: &HttpRoute) -> bool {
    let methods = a.method.is_none() || b.method.is_none() || a.method == b.method;
    methods && paths_overlap(&a.path, &b.path)
}

/// The endpoints of a route's target service that its requests can reach: paths that
/// overlap, methods that agree (a missing method accepts every method).
pub(crate) fn reached_endpoints<'p>(p: &'p Program, r: &Route) -> Vec<(&'p Service, &'p Endpoint)> {
    let Some(s) = r.to.as_ref().and_then(|t| p.service(&t.name)) else {
        return Vec::new();
    };
    s.endpoints
        .iter()
        .filter(|e| e.http.as_ref().is_some_and(|h| routes_overlap(&r.http, h)))
        .map(|e| (s, e))
        .collect()
}

/// For each well-formed gateway route that meets `matches` against an earlier route of its
/// gateway, the gateway, the first such earlier route and the route (routes are tried in
/// declaration order).
pub(crate) fn earlier_routes(
    p: &Program,
    matches: impl Fn(&Route, &Route) -> bool,
) -> Vec<(&Gateway, &Route, &Route)> {
    let mut out = Vec::new();
    for g in &p.gateways {
        let routes: Vec<&Route> = g.routes.iter().filter(|r| well_formed(r)).collect();
        for (i, later) in routes.iter().enumerate() {
            if let Some(earlier) = routes.iter().take(i).find(|e| matches(e, later)) {
                out.push((g, *earlier, *later));
            }
        }
    }
    out
}

/// A route with a pattern that starts with `/` (a missing or malformed one is reported by
/// A007 / A005).
fn well_formed(r: &Route) -> bool {
    r.pattern.span != r.head && r.http.path.starts_with('/')
}

/// Same method and the same pattern up to parameter names (rule A601's duplicates).
pub(crate) fn same_pattern(a: &HttpRoute, b: &HttpRoute) -> bool {
    a.method == b.method && shape(&a.path) == shape(&b.path)
}

fn shape(path: &str) -> Vec<&str> {
    path.trim_matches('/')
        .split('/')
        .map(|s| if s.starts_with(':') { ":" } else { s })
        .collect()
}

/// The synchronous calls an endpoint makes: its own `calls`, then its service's.
pub(crate) fn calls<'a>(s: &'a Service, e: &'a Endpoint) -> impl Iterator<Item = &'a PathRef> {
    e.calls.iter().chain(&s.calls)
}

/// `service.endpoint`, the name of an endpoint in messages and in the call graph.
pub(crate) fn endpoint_id(s: &Service, e: &Endpoint) -> String {
    format!("{}.{}", s.name.value, e.name.value)
}

/// The system's regions, primary first: `system.regions` when it lists any, else every
/// declared `region`, each with the span to point at.
pub(crate) fn system_regions(program: &Program) -> Vec<(&str, Span)> {
    match &program.system {
        Some(s) if !s.regions.is_empty() => s
            .regions
            .iter()
            .map(|r| (r.name.as_str(), r.span))
            .collect(),
        _ => program
            .regions
            .iter()
            .map(|r| (r.name.value.as_str(), r.name.span))
            .collect(),
    }
}

/// `one` for a count of 1, else `many`: `plural(n, "shard", "shards")`.
pub(crate) fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
