//! A404: a limit blocks offenders for less than its counting window.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Limit, Millis};

crate::declare_rule! {
    /// ## What it does
    /// Reports a limit whose `block` is set (longer than 0s) but shorter than the window of
    /// its `rate` (`100/min` counts over one minute, `1000/h` over one hour).
    ///
    /// ## Why is this bad?
    /// `block` is meant to shut out a key that went over the limit for longer than the limit
    /// alone would (`shared/seed`, §7: `blockDuration: 300` on a 60 s window). A block shorter
    /// than the window adds almost nothing: when it ends, the key has not regained its
    /// allowance (the window's counter is still full, or the bucket has barely refilled), so
    /// its requests are refused anyway. The figure suggests a penalty that does not exist.
    ///
    /// ## Example
    /// ```arch
    /// limit login { key = ip  rate = 10/h  block = 5m }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// limit login { key = ip  rate = 10/h  block = 6h }
    /// ```
    A404, Warning, "block shorter than the limit's window", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.limits.iter().filter_map(check_limit).collect()
}

fn check_limit(limit: &Limit) -> Option<Diagnostic> {
    let rate = limit.rate.as_ref()?;
    let (b, w) = (limit.block.value, Millis(limit.window_ms()?));
    if b.0 <= 0.0 || b >= w {
        return None;
    }
    Some(
        Diagnostic::warning(
            "A404",
            limit.block.span,
            format!("limit `{}` blocks an offending key for {b}, less than its {w} window: the block ends before the limit's own window does, so it adds no real penalty", limit.name.value),
        )
        .with_primary_label(format!("block = {b}"))
        .with_label(rate.span, format!("counted over {w}"))
        .with_help(format!("set `block` to at least {w} (the window), or remove it")),
    )
}
