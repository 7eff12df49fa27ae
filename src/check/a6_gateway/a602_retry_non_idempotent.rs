//! A602: retries on a non-idempotent operation.

use crate::check::common::{calls, endpoint_id, reached_endpoints};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Endpoint, Gateway, Program, Retry, RetryCondition, RetryOn, Route, Service};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports a `retry` with `attempts` > 0 that can repeat a non-idempotent operation: a
    /// gateway route whose requests reach an endpoint that is not idempotent (POST and PATCH
    /// by default, or `idempotent = false`), or, when no endpoint matches, a POST or PATCH
    /// route; and an endpoint whose `retry` (which governs its outbound calls) applies to a
    /// call to a non-idempotent endpoint. A retry limited to `on = [connect]` is not
    /// reported: the request never reached the server.
    ///
    /// ## Why is this bad?
    /// A timeout does not tell whether the first attempt was applied. Retrying it charges a
    /// card twice or creates a duplicate order. The seed's gateway (§9, "Proxy Request with
    /// Retry") retries every proxied request with exponential backoff, whatever its method:
    /// declare such retries only where repeating is safe. Make the operation idempotent (an
    /// idempotency key, then declare `idempotent = true`) or do not retry it.
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   route "POST /api/orders" { to = orders  retry { attempts = 2 } }
    /// }
    /// service orders {
    ///   endpoint create { route = "POST /api/orders"  work = 5ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   route "POST /api/orders" { to = orders  retry { attempts = 2 } }
    /// }
    /// service orders {
    ///   // deduplicated by an Idempotency-Key header
    ///   endpoint create { route = "POST /api/orders"  work = 5ms  idempotent = true }
    /// }
    /// ```
    A602, Warning, "retry on a non-idempotent operation", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut out: Vec<Diagnostic> = p
        .gateways
        .iter()
        .flat_map(|g| g.routes.iter().filter_map(move |r| route_retry(p, g, r)))
        .collect();
    for s in &p.services {
        out.extend(s.endpoints.iter().filter_map(|e| call_retry(p, s, e)));
    }
    out
}

/// A retry that may repeat a request the server already received.
fn retries(retry: Option<&Retry>) -> Option<&Retry> {
    let r = retry.filter(|r| r.attempts.value > 0)?;
    let connect_only = !r.on.is_empty()
        && r.on
            .iter()
            .all(|o| *o == RetryOn::Condition(RetryCondition::Connect));
    (!connect_only).then_some(r)
}

fn route_retry(p: &Program, g: &Gateway, r: &Route) -> Option<Diagnostic> {
    let retry = retries(r.retry.as_ref())?;
    let reached = reached_endpoints(p, r);
    let unsafe_eps: Vec<(&Service, &Endpoint)> = reached
        .iter()
        .copied()
        .filter(|(_, e)| !e.idempotent.value)
        .collect();
    let method_unsafe = reached.is_empty() && r.http.method.is_some_and(|m| !m.is_idempotent());
    if unsafe_eps.is_empty() && !method_unsafe {
        return None;
    }
    let what = match unsafe_eps.as_slice() {
        [] => format!(
            "a {} request",
            r.http.method.map(|m| m.to_string()).unwrap_or_default()
        ),
        [(s, e)] => format!("`{}`, which is not idempotent", endpoint_id(s, e)),
        more => format!("{} non-idempotent endpoints", more.len()),
    };
    let mut d = Diagnostic::warning(
        "A602",
        retry.attempts.span,
        format!(
            "route \"{}\" of gateway `{}` retries {}, but it reaches {what}: a retry can apply it twice",
            r.pattern.value,
            g.name.value,
            times(retry.attempts.value)
        ),
    )
    .with_primary_label(format!("retries {}", times(retry.attempts.value)));
    if method_unsafe {
        d = d.with_label(r.pattern.span, "POST and PATCH are not idempotent");
    }
    for (s, e) in unsafe_eps {
        d = d.with_label(idempotent_span(e), not_idempotent(s, e));
    }
    Some(d.with_help(format!(
        "remove the retry from route \"{}\" (or limit it to `on = [connect]`), or make the operation idempotent with an idempotency key and declare `idempotent = true`",
        r.pattern.value
    )))
}

fn call_retry(p: &Program, s: &Service, e: &Endpoint) -> Option<Diagnostic> {
    let retry = retries(e.retry.as_ref())?;
    let mut targets: Vec<(&Service, &Endpoint)> = Vec::new();
    for (ts, te) in calls(s, e).filter_map(|c| p.endpoint(c)) {
        if !te.idempotent.value && !targets.iter().any(|(_, t)| std::ptr::eq(*t, te)) {
            targets.push((ts, te));
        }
    }
    let ((first_s, first_e), _) = targets.split_first()?;
    let caller = endpoint_id(s, e);
    let mut d = Diagnostic::warning(
        "A602",
        retry.attempts.span,
        format!(
            "`{caller}` retries its calls {}, but it calls `{}`, which is not idempotent{}",
            times(retry.attempts.value),
            endpoint_id(first_s, first_e),
            if targets.len() > 1 {
                format!(" (and {} more)", targets.len() - 1)
            } else {
                String::new()
            }
        ),
    )
    .with_primary_label(format!("retries {}", times(retry.attempts.value)));
    for (ts, te) in &targets {
        d = d.with_label(idempotent_span(te), not_idempotent(ts, te));
    }
    Some(d.with_help(format!(
        "do not retry non-idempotent calls from `{caller}` (move them to an endpoint without `retry`, or use `on = [connect]`), or make the callee idempotent and declare `idempotent = true`"
    )))
}

fn times(n: u32) -> String {
    if n == 1 {
        "once".into()
    } else {
        format!("up to {n} times")
    }
}

/// Where the endpoint's idempotency is stated: the attribute, or its route for a default.
fn idempotent_span(e: &Endpoint) -> Span {
    match &e.route {
        Some(r) if e.idempotent.defaulted => r.span,
        _ => e.idempotent.span,
    }
}

fn not_idempotent(s: &Service, e: &Endpoint) -> String {
    let name = endpoint_id(s, e);
    match e.http.as_ref().and_then(|h| h.method) {
        Some(m) if e.idempotent.defaulted => format!("`{name}` is {m}, not idempotent by default"),
        _ => format!("`{name}` declares `idempotent = false`"),
    }
}
