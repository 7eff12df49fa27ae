//! A704: an RPO shorter than the backup interval, with nothing else to recover from.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{DrStrategy, System};

crate::declare_rule! {
    /// ## What it does
    /// Reports a `dr.rpo` that the recovery sources cannot meet: no point-in-time recovery
    /// (`backup.pitr = false`), no replica in the DR region, and an RPO shorter than the
    /// backup interval (the `incremental` interval if set, else that of `full`), or no
    /// `backup` at all. A `hot` or `warm` standby keeps a replica in the DR region that is
    /// fed continuously, so it meets short RPOs; a `cold` standby keeps none and restores
    /// from backups.
    ///
    /// ## Why is this bad?
    /// After losing the primary region, a cold standby is rebuilt from the last backup:
    /// everything written since is gone. With daily backups that is up to a day of data,
    /// whatever the RPO promises (seed §10, backup and disaster-recovery strategies).
    ///
    /// ## Example
    /// ```arch
    /// system shop {
    ///   regions = [us_east, eu_west]
    ///   backup { full = daily }
    ///   dr { strategy = cold  region = eu_west  rpo = 15m  rto = 4h }
    /// }
    /// region us_east { }
    /// region eu_west { }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop {
    ///   regions = [us_east, eu_west]
    ///   backup { full = daily  incremental = 15m }
    ///   dr { strategy = cold  region = eu_west  rpo = 15m  rto = 4h }
    /// }
    /// region us_east { }
    /// region eu_west { }
    /// ```
    A704, Error, "RPO shorter than the backup interval", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.system.iter().filter_map(check).collect()
}

fn check(s: &System) -> Option<Diagnostic> {
    let dr = s.dr.as_ref()?;
    let rpo = dr.rpo.as_ref()?;
    let strategy = dr.strategy.as_ref()?;
    if strategy.value != DrStrategy::Cold {
        return None;
    }
    let region = dr
        .region
        .as_ref()
        .map(|r| r.name.as_str())
        .unwrap_or("the DR region");
    let d = match &s.backup {
        None => Diagnostic::error(
            "A704",
            rpo.span,
            format!(
                "dr.rpo {} cannot be met: no `backup` is declared and a cold standby keeps no replica in {region}",
                rpo.value
            ),
        )
        .with_primary_label(format!("rpo {}", rpo.value))
        .with_help(format!("add `backup {{ incremental = {} }}` or `pitr = true`, or use `strategy = warm`", rpo.value)),
        Some(b) => {
            if b.pitr.value {
                return None;
            }
            let (interval, span, what) = match &b.incremental {
                Some(i) => (i.value, i.span, "incremental"),
                None => (b.full.value.interval(), b.full.span, "full"),
            };
            if rpo.value.0 >= interval.0 {
                return None;
            }
            Diagnostic::error(
                "A704",
                rpo.span,
                format!(
                    "dr.rpo {} is shorter than the {what} backup interval {}, with `pitr = false` and no replica in {region} (cold standby)",
                    rpo.value,
                    interval
                ),
            )
            .with_primary_label(format!("rpo {}", rpo.value))
            .with_label(span, format!("a backup every {}", interval))
            .with_help(format!(
                "set `incremental = {}` or `pitr = true` in `backup`, use `strategy = warm` (a replica in {region}), or raise `rpo` to {}",
                rpo.value,
                interval
            ))
        }
    };
    Some(d.with_label(strategy.span, "a cold standby keeps no replica"))
}
