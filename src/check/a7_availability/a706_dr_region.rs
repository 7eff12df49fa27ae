//! A706: the DR region is the primary region, or not one of the system's regions.

use crate::check::common::system_regions;
use crate::check::Context;
use crate::diagnostic::Diagnostic;

crate::declare_rule! {
    /// ## What it does
    /// Reports a `dr.region` that is the primary region (the first of `system.regions`),
    /// or that is not listed in `system.regions`. Without `system.regions`, the system's
    /// regions are every declared region in declaration order.
    ///
    /// ## Why is this bad?
    /// Disaster recovery is a second region that survives the loss of the first (seed §10,
    /// hot, warm and cold standby). A standby in the primary region fails with it; a
    /// standby in a region the system does not run in gets no deployment, data placement
    /// or geo-routing, so failover has nowhere ready to go.
    ///
    /// ## Example
    /// ```arch
    /// system shop {
    ///   regions = [us_east, eu_west]
    ///   dr { strategy = warm  region = us_east  rpo = 5m  rto = 15m }
    /// }
    /// region us_east { }
    /// region eu_west { }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop {
    ///   regions = [us_east, eu_west]
    ///   dr { strategy = warm  region = eu_west  rpo = 5m  rto = 15m }
    /// }
    /// region us_east { }
    /// region eu_west { }
    /// ```
    A706, Error, "DR region is the primary or undeclared", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let program = ctx.program;
    let Some(region) = program
        .system
        .as_ref()
        .and_then(|s| s.dr.as_ref())
        .and_then(|d| d.region.as_ref())
    else {
        return Vec::new();
    };
    if program.region(&region.name).is_none() {
        return Vec::new();
    }
    let regions = system_regions(program);
    let Some((primary, primary_span)) = regions.first() else {
        return Vec::new();
    };
    let d = if *primary == region.name {
        Diagnostic::error(
            "A706",
            region.span,
            format!(
                "dr.region {} is the primary region: it fails together with what it should replace",
                region.name
            ),
        )
        .with_primary_label("the DR region")
        .with_label(
            *primary_span,
            "the primary region (first of system.regions)",
        )
        .with_help(match regions.get(1) {
            Some((other, _)) => format!("set `region = {other}`"),
            None => {
                "declare a second region, add it to `system.regions` and name it in `dr.region`"
                    .to_string()
            }
        })
    } else if !regions.iter().any(|(r, _)| *r == region.name) {
        let names: Vec<&str> = regions.iter().map(|(r, _)| *r).collect();
        Diagnostic::error(
            "A706",
            region.span,
            format!(
                "dr.region {} is not one of the system's regions ({})",
                region.name,
                names.join(", ")
            ),
        )
        .with_primary_label("not in system.regions")
        .with_label(*primary_span, "system.regions starts here")
        .with_help(format!("add {} to `system.regions`", region.name))
    } else {
        return Vec::new();
    };
    vec![d]
}
