//! A402: a per-instance limit on a target that runs several instances.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Limit, Program, Rate, Ref, Replicas, Scope, Spanned};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports a limit with `scope = local` attached to a gateway, a route or an endpoint
    /// whose gateway or service runs more than one replica (the maximum, when autoscaled).
    ///
    /// ## Why is this bad?
    /// A local limiter keeps its counters in each instance's memory. The load balancer
    /// spreads a client's requests over the instances, so each instance lets through the
    /// full rate: with 4 replicas a 100/min limit lets 400/min pass, and the figure changes
    /// whenever the service scales. The seed keeps the counters in Redis for this reason
    /// (`shared/seed`, §7, `RateLimiterRedis`).
    ///
    /// ## Example
    /// ```arch
    /// limit per_ip { key = ip  rate = 100/min  scope = local }
    /// gateway edge {
    ///   replicas = 3
    ///   limit = per_ip
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// limit per_ip { key = ip  rate = 100/min  scope = distributed }
    /// gateway edge {
    ///   replicas = 3
    ///   limit = per_ip
    /// }
    /// ```
    A402, Warning, "local limit on a replicated target", run
}

/// Where a limit is attached and how many instances enforce it.
struct Use<'a> {
    at: Span,
    /// `gateway `edge`` or `service `shop``: whose instances count.
    runner: String,
    replicas: &'a Spanned<Replicas>,
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let uses = attachments(p);
    let mut out = Vec::new();
    for limit in &p.limits {
        let Some(scope) = limit.scope.as_ref().filter(|s| s.value == Scope::Local) else {
            continue;
        };
        let here: Vec<&Use> = uses
            .iter()
            .filter(|(l, u)| l.name == limit.name.value && u.replicas.value.max > 1)
            .map(|(_, u)| u)
            .collect();
        if let Some(worst) = here.iter().max_by_key(|u| u.replicas.value.max) {
            out.push(diagnostic(limit, scope, worst, &here));
        }
    }
    out
}

/// Every limit reference with the instances that enforce it.
fn attachments(p: &Program) -> Vec<(&Ref, Use<'_>)> {
    let mut out = Vec::new();
    for gw in &p.gateways {
        let runner = format!("gateway `{}`", gw.name.value);
        let at = |l: &Ref| Use {
            at: l.span,
            runner: runner.clone(),
            replicas: &gw.replicas,
        };
        out.extend(
            gw.limits
                .iter()
                .chain(gw.routes.iter().flat_map(|r| &r.limits))
                .map(|l| (l, at(l))),
        );
    }
    for s in &p.services {
        for e in &s.endpoints {
            let runner = format!("service `{}`", s.name.value);
            out.extend(e.limits.iter().map(|l| {
                (
                    l,
                    Use {
                        at: l.span,
                        runner: runner.clone(),
                        replicas: &s.replicas,
                    },
                )
            }));
        }
    }
    out
}

fn diagnostic(limit: &Limit, scope: &Spanned<Scope>, worst: &Use, all: &[&Use]) -> Diagnostic {
    let n = worst.replicas.value.max;
    let count = replicas_text(worst);
    let effective = match &limit.rate {
        Some(r) => format!(
            ": the effective limit is up to {n} × {} = {}",
            r.value,
            Rate {
                amount: r.value.amount * f64::from(n),
                ..r.value
            }
        ),
        None => format!(": the effective limit is up to {n} times the rate"),
    };
    let mut d = Diagnostic::warning(
        "A402",
        scope.span,
        format!("limit `{}` is counted per instance (`scope = local`), but {} enforces it separately on each of {count}{effective}", limit.name.value, worst.runner),
    )
    .with_primary_label("counters kept in each instance");
    for u in all {
        d = d.with_label(
            u.at,
            format!("attached here: {} runs {}", u.runner, replicas_text(u)),
        );
    }
    d.with_help(format!("set `scope = distributed` on `{}` (shared counters in Redis), or divide the rate by the number of instances", limit.name.value))
}

/// `3 replicas`, `up to 8 replicas`, `2 replicas (the default)`.
fn replicas_text(u: &Use) -> String {
    let r = u.replicas.value;
    if r.is_autoscaled() {
        format!("up to {} replicas", r.max)
    } else {
        format!("{} replicas{}", r.max, u.replicas.default_note())
    }
}
