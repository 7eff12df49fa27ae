//! A101: `balance = weighted` without valid weights.

use crate::check::common::plural;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Balance, Service};

crate::declare_rule! {
    /// ## What it does
    /// Reports a service with `balance = weighted` whose `weights` are missing, contain a
    /// weight of zero or less, or (with a fixed replica count) do not give one weight per
    /// replica.
    ///
    /// ## Why is this bad?
    /// Weighted round robin sends each instance a share of the traffic proportional to its
    /// weight (seed §1, "Weighted Round Robin"). Without weights the balancer has nothing to
    /// weigh; a zero or negative weight starves an instance or is rejected by the proxy; a
    /// list longer or shorter than the instances leaves some of them with an arbitrary share.
    ///
    /// ## Example
    /// ```arch
    /// service api {
    ///   replicas = 3
    ///   balance  = weighted
    ///   weights  = [5, 1]
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service api {
    ///   replicas = 3
    ///   balance  = weighted
    ///   weights  = [5, 1, 1]
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    A101, Error, "weighted balancing without valid weights", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program
        .services
        .iter()
        .filter(|s| s.balance.value == Balance::Weighted)
        .flat_map(check_service)
        .collect()
}

fn check_service(s: &Service) -> Vec<Diagnostic> {
    let name = &s.name.value;
    let Some(weights) = &s.weights else {
        return vec![Diagnostic::error("A101", s.balance.span, format!("`{name}` uses weighted balancing but declares no `weights`"))
            .with_primary_label("weighted without weights")
            .with_help(format!("add `weights = [...]` with one positive weight per replica, or choose another `balance` for `{name}`"))];
    };
    let mut out: Vec<Diagnostic> = weights
        .value
        .iter()
        .filter(|w| w.value <= 0)
        .map(|w| {
            Diagnostic::error("A101", w.span, format!("`{name}` has a weight of {}: weights must be positive", w.value))
                .with_primary_label("weight ≤ 0")
                .with_help("give every replica a weight of 1 or more; to take an instance out of rotation, lower `replicas` instead")
        })
        .collect();
    let replicas = s.replicas.value;
    let count = weights.value.len();
    if !replicas.is_autoscaled() && count != replicas.min as usize {
        out.push(
            Diagnostic::error(
                "A101",
                weights.span,
                format!(
                    "`{name}` lists {count} {} for {} {}",
                    plural(count as u64, "weight", "weights"),
                    replicas.min,
                    plural(replicas.min.into(), "replica", "replicas")
                ),
            )
            .with_primary_label(format!(
                "{count} {}",
                plural(count as u64, "weight", "weights")
            ))
            .with_label(s.replicas.span, replicas_label(s))
            .with_help(format!(
                "give exactly one weight per replica ({} weights), or change `replicas`",
                replicas.min
            )),
        );
    }
    out
}

fn replicas_label(s: &Service) -> String {
    let n = s.replicas.value.min;
    if s.replicas.defaulted {
        format!("{n} replicas by default")
    } else {
        format!(
            "{n} {} declared here",
            plural(n.into(), "replica", "replicas")
        )
    }
}
