//! A705: a rollout batch as large as a service's minimum replicas.

use crate::check::common::plural;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Batch, Percent, Service, Spanned};

crate::declare_rule! {
    /// ## What it does
    /// Reports a service whose minimum `replicas` the system's rollout batch would replace
    /// all at once: the batch (`rollout.batch`, default 25%; a percentage is of the minimum
    /// replicas, rounded up, and at least 1) is at least the minimum replicas.
    ///
    /// ## Why is this bad?
    /// A rolling update takes a batch out of service, deploys it and waits for it to pass
    /// its health check before the next batch (seed §10, rolling updates and zero-downtime
    /// deployments). When the batch covers every instance, each deploy is a full outage of
    /// the service, and a bad build leaves nothing running to roll back to.
    ///
    /// ## Example
    /// ```arch
    /// system shop { rollout { batch = 2 } }
    /// service orders {
    ///   replicas = 2
    ///   endpoint create { route = "POST /orders"  work = 3ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop { rollout { batch = 1 } }
    /// service orders {
    ///   replicas = 2
    ///   endpoint create { route = "POST /orders"  work = 3ms }
    /// }
    /// ```
    A705, Error, "rollout batch takes a service fully down", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let Some(system) = &ctx.program.system else {
        return Vec::new();
    };
    let batch = &system.rollout.batch;
    ctx.program
        .services
        .iter()
        .filter_map(|s| check(s, batch))
        .collect()
}

fn check(s: &Service, batch: &Spanned<Batch>) -> Option<Diagnostic> {
    let min = s.replicas.value.min;
    let down = batch.value.instances_of(min);
    if down < min {
        return None;
    }
    let written = match batch.value {
        Batch::Percent(p) => format!("{} of {min}, rounded up, is {down}", Percent(p)),
        Batch::Count(c) => format!("`batch = {c}`"),
    };
    let help = if min < 2 {
        format!(
            "run at least 2 replicas of {} (`replicas = 2`) so a deploy can replace one at a time",
            s.name.value
        )
    } else {
        format!(
            "set `rollout {{ batch = {} }}` or less, or raise the minimum replicas of {}",
            min - 1,
            s.name.value
        )
    };
    Some(
        Diagnostic::error(
            "A705",
            s.replicas.span,
            format!(
                "a rollout batch replaces {down} {} at once ({written}), and {} runs as few as {min}: a deploy takes it fully down",
                plural(down.into(), "instance", "instances"),
                s.name.value
            ),
        )
        .with_primary_label(format!("minimum {min} {}", plural(min.into(), "replica", "replicas")))
        .with_label(batch.span, format!("{down} {} per batch", plural(down.into(), "instance", "instances")))
        .with_help(help),
    )
}
