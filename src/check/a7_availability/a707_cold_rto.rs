//! A707: a cold standby with an RTO below one hour.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::DrStrategy;

/// Shortest RTO a cold standby can be expected to meet, milliseconds.
const COLD_MIN_RTO_MS: f64 = 3_600_000.0;

crate::declare_rule! {
    /// ## What it does
    /// Reports `dr.strategy = cold` with a `dr.rto` below 1 hour.
    ///
    /// ## Why is this bad?
    /// A cold standby has no running infrastructure: recovery provisions servers and
    /// databases, restores the latest backup and redeploys every service before traffic
    /// moves, which takes hours, not minutes (seed §10, hot, warm and cold standby). An RTO
    /// below an hour needs a warm standby (scaled-down but running, data replicated) or a
    /// hot one.
    ///
    /// ## Example
    /// ```arch
    /// system shop {
    ///   regions = [us_east, eu_west]
    ///   backup { pitr = true }
    ///   dr { strategy = cold  region = eu_west  rpo = 1h  rto = 15m }
    /// }
    /// region us_east { }
    /// region eu_west { }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop {
    ///   regions = [us_east, eu_west]
    ///   backup { pitr = true }
    ///   dr { strategy = warm  region = eu_west  rpo = 1h  rto = 15m }
    /// }
    /// region us_east { }
    /// region eu_west { }
    /// ```
    A707, Warning, "cold standby with RTO under 1h", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let Some(dr) = ctx.program.system.as_ref().and_then(|s| s.dr.as_ref()) else {
        return Vec::new();
    };
    let (Some(strategy), Some(rto)) = (&dr.strategy, &dr.rto) else {
        return Vec::new();
    };
    if strategy.value != DrStrategy::Cold || rto.value.0 >= COLD_MIN_RTO_MS {
        return Vec::new();
    }
    vec![Diagnostic::warning(
        "A707",
        rto.span,
        format!(
            "dr.rto {} is too short for a cold standby, which needs hours to provision and restore",
            rto.value
        ),
    )
    .with_primary_label(format!("rto {}", rto.value))
    .with_label(strategy.span, "cold: nothing runs in the DR region")
    .with_help("use `strategy = warm` (or `hot`), or raise `rto` to at least 1h")]
}
