//! A108: a route shadowed by an earlier route of the same gateway.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Gateway, HttpRoute, Route};

crate::declare_rule! {
    /// ## What it does
    /// Reports a gateway route that can never match because an earlier route of the same
    /// gateway matches every request it would (routes are tried in declaration order): a
    /// wildcard or parameter before a more specific path, or a route without a method before
    /// one with a method. Two routes with exactly the same method and pattern are rule A601.
    ///
    /// ## Why is this bad?
    /// The later route's settings (target, auth, limits, cache, timeout) never apply; requests
    /// silently go where the earlier route sends them (seed §9, `registerRoute`; seed §1's
    /// layer-7 balancer also takes the first matching path prefix).
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   route "/api/users/*"            { to = users }
    ///   route "GET /api/users/:id/feed" { to = feed }
    /// }
    /// service users { endpoint get { route = "GET /api/users/:id"  work = 2ms } }
    /// service feed  { endpoint get { route = "GET /api/users/:id/feed"  work = 5ms } }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/users/:id/feed" { to = feed }
    ///   route "/api/users/*"            { to = users }
    /// }
    /// service users { endpoint get { route = "GET /api/users/:id"  work = 2ms } }
    /// service feed  { endpoint get { route = "GET /api/users/:id/feed"  work = 5ms } }
    /// ```
    A108, Warning, "route shadowed by an earlier route", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program
        .gateways
        .iter()
        .flat_map(check_gateway)
        .collect()
}

fn check_gateway(g: &Gateway) -> Vec<Diagnostic> {
    let routes: Vec<&Route> = g.routes.iter().filter(|r| well_formed(r)).collect();
    let mut out = Vec::new();
    for (i, later) in routes.iter().enumerate() {
        let earlier = routes
            .iter()
            .take(i)
            .find(|e| e.http.covers(&later.http) && !same_pattern(&e.http, &later.http));
        if let Some(e) = earlier {
            out.push(shadowed(g, e, later));
        }
    }
    out
}

fn shadowed(g: &Gateway, earlier: &Route, later: &Route) -> Diagnostic {
    Diagnostic::warning(
        "A108",
        later.pattern.span,
        format!(
            "route \"{}\" of gateway `{}` can never match: the earlier route \"{}\" matches every request it would",
            later.pattern.value, g.name.value, earlier.pattern.value
        ),
    )
    .with_primary_label("never reached")
    .with_label(earlier.pattern.span, "this route matches first")
    .with_help(format!(
        "move \"{}\" above \"{}\" (more specific routes first), or remove it",
        later.pattern.value, earlier.pattern.value
    ))
}

/// A route with a pattern that starts with `/` (a missing or malformed one is reported by
/// A007 / A005).
fn well_formed(r: &Route) -> bool {
    r.pattern.span != r.head && r.http.path.starts_with('/')
}

/// Same method and the same pattern up to parameter names (rule A601's duplicates).
fn same_pattern(a: &HttpRoute, b: &HttpRoute) -> bool {
    a.method == b.method && shape(&a.path) == shape(&b.path)
}

fn shape(path: &str) -> Vec<&str> {
    path.trim_matches('/')
        .split('/')
        .map(|s| if s.starts_with(':') { ":" } else { s })
        .collect()
}
