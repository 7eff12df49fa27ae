//! A103: an inverted replica range, or an autoscale target outside (0%, 100%).

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Name, Percent, Replicas, Spanned};

crate::declare_rule! {
    /// ## What it does
    /// Reports a replica range whose minimum is above its maximum (`replicas = 10..3` on a
    /// service or gateway), and an autoscale CPU target that is not strictly between 0% and
    /// 100%.
    ///
    /// ## Why is this bad?
    /// The autoscaler keeps the replica count between the bounds (seed §2, the `AutoScaler`
    /// with `targetCPU: 70`);
    /// with min > max there is no valid count, and providers reject or silently swap the
    /// bounds. A target of 0% scales out forever; 100% or more never scales out, because an
    /// instance cannot be busier than fully busy.
    ///
    /// ## Example
    /// ```arch
    /// service api {
    ///   replicas = 10..3
    ///   autoscale { cpu = 100% }
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service api {
    ///   replicas = 3..10
    ///   autoscale { cpu = 70% }
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    A103, Error, "inverted replica range or autoscale target outside (0%, 100%)", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut out: Vec<Diagnostic> = p
        .services
        .iter()
        .map(|s| (&s.name, &s.replicas))
        .chain(p.gateways.iter().map(|g| (&g.name, &g.replicas)))
        .filter_map(|(name, r)| inverted(name, r))
        .collect();
    for s in &p.services {
        let Some(cpu_attr) = s.autoscale.as_ref().and_then(|a| a.cpu.as_ref()) else {
            continue;
        };
        let cpu = cpu_attr.value;
        if cpu > 0.0 && cpu < 100.0 {
            continue;
        }
        let why = if cpu <= 0.0 {
            "it would scale out without end"
        } else {
            "an instance never gets that busy, so it never scales out"
        };
        out.push(
            Diagnostic::error(
                "A103",
                cpu_attr.span,
                format!(
                    "`{}` autoscales at a CPU target of {}: {why}",
                    s.name.value,
                    Percent(cpu)
                ),
            )
            .with_primary_label("target outside (0%, 100%)")
            .with_help("set `autoscale { cpu = ... }` between 0% and 100%, typically 60%–75%"),
        );
    }
    out
}

fn inverted(name: &Name, r: &Spanned<Replicas>) -> Option<Diagnostic> {
    let Replicas { min, max } = r.value;
    (min > max).then(|| {
        Diagnostic::error(
            "A103",
            r.span,
            format!(
                "`{}` has a replica range {min}..{max}: the minimum is above the maximum",
                name.value
            ),
        )
        .with_primary_label("min > max")
        .with_help(format!(
            "write the smaller bound first: `replicas = {max}..{min}`"
        ))
    })
}
