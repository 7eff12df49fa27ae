//! A108: a route shadowed by an earlier route of the same gateway.

use crate::check::common::{earlier_routes, same_pattern};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Gateway, Route};

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
    earlier_routes(ctx.program, |e, later| {
        e.http.covers(&later.http) && !same_pattern(&e.http, &later.http)
    })
    .into_iter()
    .map(|(g, earlier, later)| shadowed(g, earlier, later))
    .collect()
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
