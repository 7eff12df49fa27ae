//! A603: a caller's timeout shorter than the callee's timeout times the attempts.

use crate::check::common::{calls, endpoint_id, reached_endpoints};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Endpoint, Millis, Retry, Service, Spanned};

crate::declare_rule! {
    /// ## What it does
    /// Reports a caller whose timeout cannot cover its callee's worst case, `callee timeout ×
    /// (attempts + 1)`: an endpoint and the endpoints it `calls` (its own `retry` governs its
    /// outbound calls), and a gateway route and the endpoints its requests reach (the route's
    /// `retry`).
    ///
    /// ## Why is this bad?
    /// The caller gives up while the callee is still working or still retrying: the user gets
    /// an error for a request that may well succeed downstream, and the retries keep loading a
    /// callee nobody waits for any more (seed §9: the gateway's per-route `timeout`, 30s by
    /// default, and its proxy retries). Timeouts must shrink from the edge inwards.
    ///
    /// ## Example
    /// ```arch
    /// service web {
    ///   endpoint home {
    ///     route = "GET /"  work = 2ms  timeout = 2s  calls = [users.get_user]
    ///     retry { attempts = 2 }
    ///   }
    /// }
    /// service users {
    ///   endpoint get_user { route = "GET /users/:id"  work = 2ms  timeout = 1s }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service web {
    ///   endpoint home {
    ///     route = "GET /"  work = 2ms  timeout = 2s  calls = [users.get_user]
    ///     retry { attempts = 2 }
    ///   }
    /// }
    /// service users {
    ///   endpoint get_user { route = "GET /users/:id"  work = 2ms  timeout = 500ms }
    /// }
    /// ```
    A603, Warning, "caller timeout shorter than the callee's timeout × attempts", run
}

/// One side of a call: its name and its timeout (which may be a default).
struct Side<'a> {
    name: String,
    timeout: &'a Spanned<Millis>,
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut out = Vec::new();
    for g in &p.gateways {
        for r in &g.routes {
            let caller = Side {
                name: format!(
                    "route \"{}\" of gateway `{}`",
                    r.pattern.value, g.name.value
                ),
                timeout: &r.timeout,
            };
            let callees: Vec<Side> = reached_endpoints(p, r)
                .into_iter()
                .map(|(s, e)| endpoint_side(s, e))
                .collect();
            out.extend(check(&caller, r.retry.as_ref(), &callees));
        }
    }
    for s in &p.services {
        for e in &s.endpoints {
            let mut callees: Vec<Side> = Vec::new();
            for (cs, ce) in calls(s, e).filter_map(|c| p.endpoint(c)) {
                let side = endpoint_side(cs, ce);
                // A call to itself is a cycle (A604), not a budget question.
                let own = std::ptr::eq(ce, e);
                if !own && !callees.iter().any(|c| c.name == side.name) {
                    callees.push(side);
                }
            }
            out.extend(check(&endpoint_side(s, e), e.retry.as_ref(), &callees));
        }
    }
    out
}

fn endpoint_side<'a>(s: &Service, e: &'a Endpoint) -> Side<'a> {
    Side {
        name: format!("`{}`", endpoint_id(s, e)),
        timeout: &e.timeout,
    }
}

fn check(caller: &Side, retry: Option<&Retry>, callees: &[Side]) -> Option<Diagnostic> {
    let attempts = retry.map_or(0, |r| r.attempts.value);
    let tries = f64::from(attempts) + 1.0;
    let mut late: Vec<&Side> = callees
        .iter()
        .filter(|c| caller.timeout.value.0 < c.timeout.value.0 * tries)
        .collect();
    late.sort_by(|a, b| b.timeout.value.0.total_cmp(&a.timeout.value.0));
    let worst = late.first()?;
    let total = Millis(worst.timeout.value.0 * tries);
    let budget = if attempts > 0 {
        format!(
            "{} tries × {} = {total}",
            u64::from(attempts) + 1,
            worst.timeout.value
        )
    } else {
        worst.timeout.value.to_string()
    };
    let default = caller.timeout.defaulted;
    let mut d = Diagnostic::warning(
        "A603",
        caller.timeout.span,
        format!(
            "{} gives up after {}{}, but {} may take {budget}",
            caller.name,
            caller.timeout.value,
            if default {
                " (the default timeout)"
            } else {
                ""
            },
            worst.name
        ),
    )
    .with_primary_label(format!(
        "{}timeout {}",
        if default { "default " } else { "" },
        caller.timeout.value
    ));
    for c in &late {
        d = d.with_label(
            c.timeout.span,
            format!(
                "{} times out after {}{}",
                c.name,
                c.timeout.value,
                c.timeout.default_note()
            ),
        );
    }
    if let Some(r) = retry.filter(|_| attempts > 0) {
        d = d.with_label(
            r.attempts.span,
            format!(
                "{attempts} retries, {} tries in all",
                u64::from(attempts) + 1
            ),
        );
    }
    Some(d.with_help(format!(
        "raise the caller's `timeout` to at least {total}, lower the callee's `timeout`, or retry less"
    )))
}
