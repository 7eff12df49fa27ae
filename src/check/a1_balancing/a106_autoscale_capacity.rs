//! A106: the autoscale maximum cannot carry the declared peak at the autoscale target.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Millis, Percent, Service};
use crate::plan::load::ServiceLoad;

crate::declare_rule! {
    /// ## What it does
    /// For every autoscaled service (a `replicas` range or an `autoscale` block), computes
    /// the instances it needs at the declared peak with the plan model (plan-model.md §1–§2):
    /// the load of its endpoints (`rps`, or `share` of `system.traffic.peak`, plus what
    /// synchronous callers add) times their traffic-weighted mean `work` gives the busy CPU
    /// cores; divided by the instance class's vCPUs at the autoscale target (`autoscale.cpu`,
    /// else the catalogue's default), rounded up. Reports it when that exceeds the maximum
    /// of `replicas`.
    ///
    /// ## Why is this bad?
    /// At peak the autoscaler hits its ceiling while the target is still exceeded: every
    /// instance runs hotter than planned, queues grow and latency climbs until requests
    /// time out (seed §2, "Horizontal vs Vertical Scaling", hybrid scaling). The ceiling
    /// exists to cap cost; it has to be above what the peak needs.
    ///
    /// ## Example
    /// ```arch
    /// system shop { traffic { peak = 10k/s } }
    /// service search {
    ///   instance = medium
    ///   replicas = 2..8
    ///   autoscale { cpu = 60% }
    ///   endpoint query { route = "GET /search"  share = 100%  work = 5ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop { traffic { peak = 10k/s } }
    /// service search {
    ///   instance = medium
    ///   replicas = 2..24
    ///   autoscale { cpu = 60% }
    ///   endpoint query { route = "GET /search"  share = 100%  work = 5ms }
    /// }
    /// ```
    A106, Warning, "autoscale maximum cannot carry the peak", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let loads = ctx.loads();
    ctx.program
        .services
        .iter()
        .filter(|s| s.replicas.value.is_autoscaled() || s.autoscale.is_some())
        .filter_map(|s| check(s, loads.services.get(&s.name.value)?))
        .collect()
}

fn check(s: &Service, l: &ServiceLoad) -> Option<Diagnostic> {
    let needed = l.instances_needed?;
    let max = s.replicas.value.max;
    if l.target_utilization <= 0.0 || l.target_utilization > 1.0 || needed <= max {
        return None;
    }
    let vcpu = l.vcpu?;
    let target = Percent(l.target_utilization * 100.0);
    let target_text = if l.target_is_default {
        format!("the default {target} target")
    } else {
        format!("the {target} autoscale target")
    };
    let message = format!(
        "{} needs {needed} instances of {} ({vcpu} vCPU) at {target_text} to carry {:.0} rps × {} of work ({:.1} busy cores), but `replicas` allows at most {max}",
        s.name.value,
        l.instance,
        l.load_rps,
        Millis(l.work_ms),
        l.busy_cores,
    );
    let mut d = Diagnostic::warning("A106", s.replicas.span, message)
        .with_primary_label(format!("at most {max} instances"))
        .with_label(s.name.span, format!("{:.0} rps at peak", l.load_rps));
    if let Some(cpu) = s.autoscale.as_ref().and_then(|a| a.cpu.as_ref()) {
        d = d.with_label(cpu.span, format!("target {target} CPU"));
    }
    Some(d.with_help(format!(
        "raise the maximum to at least {needed} (`replicas = {}..{needed}`), use a larger `instance`, or reduce `work`",
        s.replicas.value.min
    )))
}
