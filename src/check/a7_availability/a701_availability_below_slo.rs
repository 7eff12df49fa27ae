//! A701: the availability computed from the topology is below `system.slo`.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::Kind;
use crate::plan::topology::{format_percent, system_availability, SystemAvailability, WeakPoint};

crate::declare_rule! {
    /// ## What it does
    /// Computes the availability of every gateway route from the topology, as `archc plan`
    /// does (plan-model.md §6): the product of what its synchronous chain needs (the
    /// gateway and each service with their replicas, each database shard with its replicas,
    /// read-/write-through caches, queues published to, the region), doubled by a hot DR
    /// region, then the traffic-weighted mean over routes. Reports it when it is below
    /// `system.slo`, with the weakest component of the heaviest route. Figures the program
    /// does not give (per-instance availability, region availability) come from the price
    /// catalogue, and the message says which were used.
    ///
    /// ## Why is this bad?
    /// An SLO the architecture cannot reach on paper will be missed in production: every
    /// hard dependency multiplies its unavailability into the request path (seed §10,
    /// "High Availability Architecture"). Two replicas of a 99.5% instance give 99.9975%;
    /// one gives 99.5%, which alone spends a 99.9% budget five times over.
    ///
    /// ## Example
    /// ```arch
    /// system shop { slo = 99.95% }
    /// gateway edge { route "GET /api/items" { to = items } }
    /// service items {
    ///   availability = 95%
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop { slo = 99.95% }
    /// gateway edge { route "GET /api/items" { to = items } }
    /// service items {
    ///   availability = 95%
    ///   replicas = 4
    ///   endpoint list { route = "GET /api/items"  work = 2ms }
    /// }
    /// ```
    A701, Error, "computed availability below the SLO", run
}

/// Slack for floating-point noise when comparing with the target.
const EPSILON: f64 = 1e-12;

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let Some(slo) = ctx.program.slo() else {
        return Vec::new();
    };
    let target = slo.value.fraction();
    let loads = ctx.loads();
    let computed = system_availability(ctx.program, ctx.catalogue, loads);
    if computed.system + EPSILON >= target {
        return Vec::new();
    }
    let mut message = format!(
        "the topology gives {} availability, below the SLO of {}",
        format_percent(computed.system),
        format_percent(target)
    );
    if let Some(w) = &computed.weakest {
        message.push_str(&format!("; weakest component: {}", describe(ctx, w)));
    }
    if !computed.assumptions.is_empty() {
        message.push_str(&format!("; using {}", computed.assumptions.join("; ")));
    }
    let mut d = Diagnostic::error("A701", slo.span, message).with_primary_label(format!(
        "target {}, computed {}",
        format_percent(target),
        format_percent(computed.system)
    ));
    if let Some(w) = &computed.weakest {
        d = label_weakest(ctx, d, w);
    }
    vec![d.with_help(help(&computed))]
}

/// `orders (2 replicas at 99.5% = 99.9975%)`, or `region us_east at 99.99%`.
fn describe(ctx: &Context, w: &WeakPoint) -> String {
    let at = format_percent(w.availability);
    match w.kind {
        Kind::Region if ctx.program.region(&w.component).is_some() => {
            format!("region {} at {at}", w.component)
        }
        Kind::Region => format!("the region at {at}"),
        _ => format!("{} ({} = {at})", w.component, w.detail),
    }
}

fn label_weakest(ctx: &Context, d: Diagnostic, w: &WeakPoint) -> Diagnostic {
    let program = ctx.program;
    let name = program
        .components()
        .into_iter()
        .find(|(kind, n)| *kind == w.kind && n.value == w.component);
    let d = match name {
        Some((_, n)) => d.with_label(
            n.span,
            format!(
                "weakest component: {} = {}",
                w.detail,
                format_percent(w.availability)
            ),
        ),
        None => d,
    };
    let route = w
        .gateway
        .as_deref()
        .and_then(|g| program.gateway(g))
        .and_then(|g| g.routes.iter().find(|r| r.pattern.value == w.route));
    match route {
        Some(r) if w.load_rps > 0.0 => d.with_label(
            r.pattern.span,
            format!("the heaviest route, {:.0} rps", w.load_rps),
        ),
        Some(r) => d.with_label(
            r.pattern.span,
            "the least available route (no load declared)",
        ),
        None => d,
    }
}

fn help(computed: &SystemAvailability) -> String {
    let fix = match computed.weakest.as_ref().map(|w| w.kind) {
        Some(Kind::Region) if !computed.hot_dr => {
            "add a second region with `dr { strategy = hot ... }`".to_string()
        }
        Some(Kind::Database) => "add `replicas` to the weakest database".to_string(),
        Some(Kind::Cache) => {
            "add redis `nodes`, or use `pattern = cache_aside` so reads fall back to the source"
                .to_string()
        }
        Some(_) => {
            "add replicas to the weakest component, or declare its real `availability`".to_string()
        }
        None => "add replicas on the request path".to_string(),
    };
    format!("{fix}; or lower `slo` to what the topology gives (`archc plan` shows every route)")
}
