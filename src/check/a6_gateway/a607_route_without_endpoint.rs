//! A607: a gateway route to a service that has no endpoint for the route's path.

use crate::check::common::reached_endpoints;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Gateway, HttpRoute, Program, Route};

crate::declare_rule! {
    /// ## What it does
    /// Reports a gateway route whose target service has no endpoint that the route's requests
    /// can reach: no endpoint `route` whose path overlaps the route pattern with a compatible
    /// method (a route or endpoint without a method accepts every method).
    ///
    /// ## Why is this bad?
    /// Every request the gateway forwards on that route ends in a 404 from the service, or
    /// the path was mistyped on one side (seed §9: `registerRoute` maps a path to a service,
    /// which must implement it). It also
    /// leaves the route out of the load, latency and timeout checks, which follow routes to
    /// the endpoints that serve them.
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/orders/:id" { to = orders }
    /// }
    /// service orders {
    ///   endpoint get_order { route = "GET /api/order/:id"  work = 3ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/orders/:id" { to = orders }
    /// }
    /// service orders {
    ///   endpoint get_order { route = "GET /api/orders/:id"  work = 3ms }
    /// }
    /// ```
    A607, Warning, "route reaches a service without a matching endpoint", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    p.gateways
        .iter()
        .flat_map(|g| g.routes.iter().filter_map(move |r| check_route(p, g, r)))
        .collect()
}

fn check_route(p: &Program, g: &Gateway, r: &Route) -> Option<Diagnostic> {
    let s = p.service(&r.to.as_ref()?.name)?;
    if !reached_endpoints(p, r).is_empty() {
        return None;
    }
    let declared: Vec<String> = s
        .endpoints
        .iter()
        .filter_map(|e| e.http.as_ref())
        .map(HttpRoute::display)
        .collect();
    let label = match declared.as_slice() {
        [] => format!("`{}` declares no endpoint with a route", s.name.value),
        [one] => format!("`{}` serves only \"{one}\"", s.name.value),
        more => format!("`{}` serves \"{}\"", s.name.value, more.join("\", \"")),
    };
    Some(
        Diagnostic::warning(
            "A607",
            r.pattern.span,
            format!(
                "route \"{}\" of gateway `{}` goes to `{}`, which has no endpoint for it",
                r.pattern.value, g.name.value, s.name.value
            ),
        )
        .with_primary_label("no endpoint serves this route")
        .with_label(s.name.span, label)
        .with_help(format!(
            "add an endpoint with `route = \"{}\"` to `{}`, fix the path on one side, or point the route at the service that serves it",
            r.http.display(),
            s.name.value
        )),
    )
}
