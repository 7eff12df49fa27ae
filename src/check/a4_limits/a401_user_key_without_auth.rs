//! A401: a per-user limit where requests can arrive without a user identity.

use crate::check::common::{calls, endpoint_id, reached_endpoints};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Gateway, KeyWord, Program, Ref, Route, RouteAuth};
use crate::source::Span;
use std::collections::HashMap;

crate::declare_rule! {
    /// ## What it does
    /// Reports a limit with `key = user` attached where a request can arrive without an
    /// authenticated user: on a route with `auth = none` or `auth = optional` (directly, or
    /// through the gateway-wide `limit`), or on an endpoint that a route without auth (or a
    /// job) reaches, or that no route requiring auth reaches at all.
    ///
    /// ## Why is this bad?
    /// A per-user limiter counts by the user id taken from the token (`shared/seed`, §7,
    /// `rl:user`). Without auth there is no user id: anonymous requests either share one
    /// bucket (one client throttles everybody) or are not counted at all (the limit protects
    /// nothing).
    ///
    /// ## Example
    /// ```arch
    /// limit per_user { key = user  rate = 100/min }
    /// gateway edge {
    ///   route "GET /api/products" { to = catalog  auth = none  limit = per_user }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// limit per_ip { key = ip  rate = 100/min }
    /// gateway edge {
    ///   route "GET /api/products" { to = catalog  auth = none  limit = per_ip }
    /// }
    /// ```
    A401, Error, "per-user limit without auth", run
}

const HELP: &str =
    "require auth on the routes (`auth = jwt`), or count by another key (`key = ip`)";

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut out = Vec::new();
    for gw in &p.gateways {
        out.extend(gateway_limits(p, gw));
        out.extend(route_limits(p, gw));
    }
    out.extend(endpoint_limits(p));
    out
}

/// Per-user limits on routes that do not require auth.
fn route_limits(p: &Program, gw: &Gateway) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for route in gw
        .routes
        .iter()
        .filter(|r| !r.auth.value.requires_identity())
    {
        for l in route.limits.iter().filter(|l| per_user(p, l)) {
            let message = format!(
                "limit `{}` counts per user, but route \"{}\" does not require auth: there is no user to count",
                l.name, route.pattern.value
            );
            out.push(
                Diagnostic::error("A401", l.span, message)
                    .with_primary_label("keyed by user")
                    .with_label(route.auth.span, auth_text(gw, route))
                    .with_help(HELP),
            );
        }
    }
    out
}

/// Per-user limits on endpoints that a request without a user can reach.
fn endpoint_limits(p: &Program) -> Vec<Diagnostic> {
    let reach = reachability(p);
    let mut out = Vec::new();
    for s in &p.services {
        for e in &s.endpoints {
            let id = endpoint_id(s, e);
            let r = reach.get(&id).copied().unwrap_or_default();
            if r.with_auth && r.open.is_none() {
                continue;
            }
            for l in e.limits.iter().filter(|l| per_user(p, l)) {
                let d = match r.open {
                    Some((span, why)) => Diagnostic::error(
                        "A401",
                        l.span,
                        format!("limit `{}` counts per user, but endpoint `{id}` can be reached without auth", l.name),
                    )
                    .with_label(span, why),
                    None => Diagnostic::error(
                        "A401",
                        l.span,
                        format!("limit `{}` counts per user, but no route that requires auth reaches endpoint `{id}`", l.name),
                    )
                    .with_label(e.name.span, "no user identity is guaranteed here"),
                };
                out.push(d.with_primary_label("keyed by user").with_help(HELP));
            }
        }
    }
    out
}

fn per_user(p: &Program, l: &Ref) -> bool {
    p.limit(&l.name).is_some_and(|l| l.keyed_by(KeyWord::User))
}

fn auth_text(gw: &Gateway, route: &Route) -> String {
    match (route.auth.value, route.auth.defaulted) {
        (RouteAuth::Optional, _) => "`auth = optional`: requests may be anonymous".into(),
        (_, true) => format!(
            "no auth: gateway `{}` declares no `auth` block",
            gw.name.value
        ),
        _ => "`auth = none`".into(),
    }
}

/// Gateway-wide per-user limits apply to every route, including those without auth.
fn gateway_limits(p: &Program, gw: &Gateway) -> Vec<Diagnostic> {
    let open: Vec<&Route> = gw
        .routes
        .iter()
        .filter(|r| !r.auth.value.requires_identity())
        .collect();
    if open.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for l in gw.limits.iter().filter(|l| per_user(p, l)) {
        let mut d = Diagnostic::error(
            "A401",
            l.span,
            match open.as_slice() {
                [r] => format!("gateway-wide limit `{}` of `{}` counts per user, but its route \"{}\" does not require auth", l.name, gw.name.value, r.pattern.value),
                _ => format!("gateway-wide limit `{}` of `{}` counts per user, but {} of its routes do not require auth", l.name, gw.name.value, open.len()),
            },
        )
        .with_primary_label("keyed by user, applied to every route");
        for r in &open {
            d = d.with_label(
                r.pattern.span,
                format!("\"{}\": {}", r.pattern.value, auth_text(gw, r)),
            );
        }
        out.push(d.with_help("attach the per-user limit to the routes that require auth only, or count by another key (`key = ip`)"));
    }
    out
}

/// How an endpoint can be reached.
#[derive(Debug, Clone, Copy, Default)]
struct Reach {
    /// Some route that requires auth reaches it.
    with_auth: bool,
    /// Where a request without a user comes from.
    open: Option<(Span, &'static str)>,
}

/// For every endpoint (`svc.ep`): how routes and jobs reach it, directly or through calls.
fn reachability(p: &Program) -> HashMap<String, Reach> {
    let mut reach: HashMap<String, Reach> = HashMap::new();
    for gw in &p.gateways {
        for (i, route) in gw.routes.iter().enumerate() {
            let earlier = gw.routes.get(..i).unwrap_or_default();
            for (svc, e) in reached_endpoints(p, route) {
                // Requests an earlier route matches never get here through this one.
                if e.http
                    .as_ref()
                    .is_some_and(|h| earlier.iter().any(|r| r.http.covers(h)))
                {
                    continue;
                }
                let entry = reach.entry(endpoint_id(svc, e)).or_default();
                if route.auth.value.requires_identity() {
                    entry.with_auth = true;
                } else if entry.open.is_none() {
                    entry.open = Some((route.pattern.span, "this route reaches it without auth"));
                }
            }
        }
    }
    for j in &p.jobs {
        if let Some(r) = &j.runs {
            let entry = reach.entry(r.dotted()).or_default();
            entry.open = entry
                .open
                .or(Some((j.name.span, "this job runs it with no user")));
        }
    }
    propagate(p, &mut reach);
    reach
}

/// Callees inherit how their callers are reached (identity travels with the call).
fn propagate(p: &Program, reach: &mut HashMap<String, Reach>) {
    let mut changed = true;
    while changed {
        changed = false;
        for s in &p.services {
            for e in &s.endpoints {
                let Some(from) = reach.get(&endpoint_id(s, e)).copied() else {
                    continue;
                };
                for c in calls(s, e) {
                    let to = reach.entry(c.dotted()).or_default();
                    if from.with_auth && !to.with_auth {
                        to.with_auth = true;
                        changed = true;
                    }
                    if from.open.is_some() && to.open.is_none() {
                        to.open = from.open.map(|(span, _)| {
                            (
                                span,
                                "requests without auth reach it through calls from here",
                            )
                        });
                        changed = true;
                    }
                }
            }
        }
    }
}
