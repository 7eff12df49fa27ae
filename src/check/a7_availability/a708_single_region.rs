//! A708: an SLO of 99.99% or more in a single region.

use crate::check::common::system_regions;
use crate::check::Context;
use crate::diagnostic::Diagnostic;

/// SLOs from this percentage up need more than one region.
const MULTI_REGION_SLO: f64 = 99.99;

crate::declare_rule! {
    /// ## What it does
    /// Reports `system.slo` ≥ 99.99% when the system runs in fewer than two regions
    /// (`system.regions`, or every declared region when it is not given).
    ///
    /// ## Why is this bad?
    /// 99.99% allows 4.3 minutes of downtime a month. One cloud region is itself committed
    /// at about that level, so a single regional incident spends the whole budget before
    /// any failure of your own (seed §10, multi-region deployment and disaster recovery).
    ///
    /// ## Example
    /// ```arch
    /// system shop {
    ///   slo = 99.99%
    ///   regions = [us_east]
    /// }
    /// region us_east { availability = 99.999% }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop {
    ///   slo = 99.99%
    ///   regions = [us_east, eu_west]
    ///   dr { strategy = hot  region = eu_west  rpo = 1m  rto = 5m }
    /// }
    /// region us_east { availability = 99.999% }
    /// region eu_west { availability = 99.999% }
    /// ```
    A708, Warning, "99.99% SLO with a single region", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let Some(slo) = ctx.program.slo() else {
        return Vec::new();
    };
    let regions = system_regions(ctx.program);
    if slo.value.0 < MULTI_REGION_SLO - 1e-9 || regions.len() >= 2 {
        return Vec::new();
    }
    let mut d = Diagnostic::warning(
        "A708",
        slo.span,
        match regions.first() {
            Some((r, _)) => format!(
                "slo {} with a single region ({r}): one regional incident spends the whole budget",
                slo.value
            ),
            None => format!(
                "slo {} with no region declared: one regional incident spends the whole budget",
                slo.value
            ),
        },
    )
    .with_primary_label(format!("{} needs more than one region", slo.value));
    if let Some((_, span)) = regions.first() {
        d = d.with_label(*span, "the only region");
    }
    vec![d.with_help(
        "add a second region to `system.regions` with `dr { strategy = hot ... }`, or lower `slo`",
    )]
}
