//! A606: a canary with a weight outside (0%, 100%), or of a service no route reaches.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Canary, Gateway, Percent};

crate::declare_rule! {
    /// ## What it does
    /// Reports a gateway `canary` whose `weight` is not strictly between 0% and 100%, or whose
    /// `of` names a service that no route of the same gateway sends requests to.
    ///
    /// ## Why is this bad?
    /// A canary sends a small share of one service's traffic to a new version (seed §9,
    /// "Canary Deployments": 10% of `user-service`, an `X-Canary` header, a sticky cookie). At 0% the new version gets no traffic and the rollout proves
    /// nothing; at 100% it is a full cut-over without the safety of a canary. A canary of a
    /// service the gateway never routes to never receives a request: usually a typo or a
    /// route that was moved to another gateway.
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/users/:id" { to = users }
    ///   canary users_v2 { of = users  version = "2.0.0"  weight = 100% }
    /// }
    /// service users { endpoint get_user { route = "GET /api/users/:id"  work = 2ms } }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/users/:id" { to = users }
    ///   canary users_v2 { of = users  version = "2.0.0"  weight = 5% }
    /// }
    /// service users { endpoint get_user { route = "GET /api/users/:id"  work = 2ms } }
    /// ```
    A606, Error, "canary weight outside (0%, 100%) or canary of an unrouted service", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for g in &ctx.program.gateways {
        for c in &g.canaries {
            out.extend(weight(c));
            out.extend(unrouted(g, c));
        }
    }
    out
}

fn weight(c: &Canary) -> Option<Diagnostic> {
    let w = c.weight.as_ref()?;
    if w.value > 0.0 && w.value < 100.0 {
        return None;
    }
    let why = if w.value <= 0.0 {
        "the new version would get no traffic"
    } else {
        "that is a full cut-over, not a canary"
    };
    Some(
        Diagnostic::error("A606", w.span, format!("canary `{}` has a weight of {}: {why}", c.name.value, Percent(w.value)))
            .with_primary_label("weight outside (0%, 100%)")
            .with_help("give the canary a small share such as `weight = 5%`, and raise it step by step; at 100% deploy the version instead"),
    )
}

fn unrouted(g: &Gateway, c: &Canary) -> Option<Diagnostic> {
    let of = c.of.as_ref()?;
    if g.routes
        .iter()
        .any(|r| r.to.as_ref().is_some_and(|t| t.name == of.name))
    {
        return None;
    }
    let mut routed: Vec<&str> = Vec::new();
    for t in g.routes.iter().filter_map(|r| r.to.as_ref()) {
        if !routed.contains(&t.name.as_str()) {
            routed.push(&t.name);
        }
    }
    let label = if routed.is_empty() {
        format!("gateway `{}` has no route", g.name.value)
    } else {
        format!(
            "gateway `{}` routes to `{}`",
            g.name.value,
            routed.join("`, `")
        )
    };
    Some(
        Diagnostic::error(
            "A606",
            of.span,
            format!(
                "canary `{}` splits traffic of `{}`, but no route of gateway `{}` goes to `{}`",
                c.name.value, of.name, g.name.value, of.name
            ),
        )
        .with_primary_label("never receives traffic")
        .with_label(g.name.span, label)
        .with_help(format!(
            "point the canary at a service this gateway routes to, or add a route to `{}`",
            of.name
        )),
    )
}
