//! Monthly cost (plan-model.md §7): one line per component, largest first.
//!
//! Components price themselves (instances, nodes, brokers, storage; see their modules).
//! A CDN's line is its `egress` per 30-day month (scaled with the traffic) at the
//! catalogue's CDN price per GB (1 GB = 10⁹ bytes); without `egress` it is not priced.

use crate::model::Cdn;
use crate::plan::report::{CostLine, CostPlan};

use super::inputs::MONTH_S;
use super::trace::{bytes, money, Notes};
use super::Ctx;

/// The monthly CDN delivery cost of `cdn` at the context's traffic multiple.
pub fn cdn_cost(ctx: &Ctx, cdn: &Cdn, notes: &mut Notes) -> f64 {
    let Some(egress) = &cdn.egress else {
        notes.add("no `egress`: CDN delivery not priced", &cdn.name.value);
        return 0.0;
    };
    let per_month = egress.value.per_second() * MONTH_S * ctx.multiple;
    let price = ctx.catalogue.network.cdn_gb;
    if ctx.detail {
        notes.add(
            format!(
                "CDN delivery of {} a month (`egress`) at {} per GB (catalogue network.cdn_gb)",
                bytes(egress.value.per_second() * MONTH_S),
                money(price, &ctx.catalogue.currency)
            ),
            &cdn.name.value,
        );
    }
    per_month / 1e9 * price
}

/// A cost line.
pub fn line(name: &str, kind: &str, monthly: f64) -> CostLine {
    CostLine {
        name: name.to_string(),
        kind: kind.to_string(),
        monthly,
    }
}

/// The cost section from lines in declaration order: largest first (ties keep that
/// order), with their total.
pub fn cost_plan(ctx: &Ctx, mut lines: Vec<CostLine>) -> CostPlan {
    lines.sort_by(|a, b| b.monthly.total_cmp(&a.monthly));
    CostPlan {
        currency: ctx.catalogue.currency.clone(),
        monthly_total: lines.iter().map(|l| l.monthly).sum(),
        by_component: lines,
    }
}
