//! A102: a health check whose timeout is not shorter than its interval.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Millis, Service};

crate::declare_rule! {
    /// ## What it does
    /// Reports a service whose health check `timeout` is equal to or longer than its
    /// `interval`.
    ///
    /// ## Why is this bad?
    /// A probe that may still be waiting when the next one starts means probes overlap: a
    /// slow instance gets several probes in flight, and a hung one is declared unhealthy only
    /// after `unhealthy_after` × `timeout` instead of `unhealthy_after` × `interval` (seed §1,
    /// "Implementation with Health Checks", which probes every 10s with a 5s timeout).
    ///
    /// ## Example
    /// ```arch
    /// service api {
    ///   health { interval = 5s  timeout = 5s }
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service api {
    ///   health { interval = 10s  timeout = 2s }
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    A102, Error, "health-check timeout not shorter than its interval", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program
        .services
        .iter()
        .filter_map(check_service)
        .collect()
}

fn check_service(s: &Service) -> Option<Diagnostic> {
    let (timeout, interval) = (&s.health.timeout, &s.health.interval);
    if timeout.value < interval.value {
        return None;
    }
    let timeout_text = format!("{}{}", timeout.value, timeout.default_note());
    let interval_text = format!("{}{}", interval.value, interval.default_note());
    Some(
        Diagnostic::error(
            "A102",
            timeout.span,
            format!(
                "the health check of `{}` waits up to {timeout_text} for a probe, but probes run every {interval_text}",
                s.name.value
            ),
        )
        .with_primary_label(format!("timeout {timeout_text}"))
        .with_label(interval.span, format!("interval {interval_text}"))
        .with_help(format!(
            "make `timeout` shorter than `interval`, for example `health {{ interval = {}  timeout = {} }}`",
            Millis(timeout.value.0 * 2.0),
            timeout.value
        )),
    )
}
