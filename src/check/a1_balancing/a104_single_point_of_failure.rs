//! A104: a single point of failure on a synchronous request path under a high SLO.

use crate::check::common::{calls, endpoint_id};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{
    Endpoint, Engine, LayerKind, Pattern, Percent, Program, Replicas, Service, Spanned,
};
use crate::source::Span;
use std::collections::{HashMap, HashSet, VecDeque};

crate::declare_rule! {
    /// ## What it does
    /// When `system.slo` is 99.9% or more, reports every component on a synchronous request
    /// path that runs as a single instance: a gateway or service with fewer than 2 replicas
    /// (including an autoscaling range that may shrink to 1), a database without a replica
    /// (each shard is then one node), and a `read_through` / `write_through` cache on a
    /// single redis node. The request path is what gateway routes reach, followed through
    /// synchronous `calls` and the `reads` / `writes` of the endpoints on it.
    ///
    /// ## Why is this bad?
    /// One instance fails, restarts or is redeployed several times a month, and every request
    /// that needs it fails meanwhile: one node at a typical 99.5% caps the whole path below a
    /// 99.9% target, however redundant the rest is (seed §10: availability comes from
    /// redundancy and failover; §2's comparison table names the single point of failure of
    /// a lone server).
    ///
    /// ## Example
    /// ```arch
    /// system shop { slo = 99.95% }
    /// gateway edge { route "GET /api/items" { to = api } }
    /// service api {
    ///   replicas = 1
    ///   endpoint list { route = "GET /api/items"  work = 2ms  reads = [items_db] }
    /// }
    /// database items_db { replicas = 0 }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop { slo = 99.95% }
    /// gateway edge { route "GET /api/items" { to = api } }
    /// service api {
    ///   replicas = 2..6
    ///   endpoint list { route = "GET /api/items"  work = 2ms  reads = [items_db] }
    /// }
    /// database items_db { replicas = 1 }
    /// ```
    A104, Warning, "single point of failure on a request path", run
}

/// Why a component is on the request path: the reference that first reached it.
struct Via {
    span: Span,
    text: String,
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let Some(slo) = p.slo().filter(|s| s.value.0 >= 99.9 - 1e-9) else {
        return Vec::new();
    };
    let via = request_path(p);
    let mut out = gateways(p, slo);
    out.extend(services(p, slo, &via));
    out.extend(databases(p, slo, &via));
    out.extend(caches(p, slo, &via));
    out
}

/// A warning at `span`, with the SLO that makes it matter and the reference that put the
/// component on the path.
fn warn(
    slo: &Spanned<Percent>,
    span: Span,
    message: String,
    label: &str,
    via: Option<&Via>,
    help: String,
) -> Diagnostic {
    let mut d = Diagnostic::warning(
        "A104",
        span,
        format!("{message} while the SLO is {}", slo.value),
    )
    .with_primary_label(label)
    .with_label(slo.span, format!("SLO {} declared here", slo.value));
    if let Some(v) = via {
        d = d.with_label(v.span, v.text.clone());
    }
    d.with_help(help)
}

fn gateways(p: &Program, slo: &Spanned<Percent>) -> Vec<Diagnostic> {
    let single = p
        .gateways
        .iter()
        .filter(|g| !g.routes.is_empty() && g.replicas.value.min < 2);
    single
        .map(|g| {
            let r = g.replicas.value;
            let msg = format!(
                "gateway `{}` {}, yet every request passes through it",
                g.name.value,
                instances(r)
            );
            let help = "run the gateway with `replicas = 2` or more, spread over zones".to_string();
            warn(slo, g.replicas.span, msg, one(r), None, help)
        })
        .collect()
}

fn services(p: &Program, slo: &Spanned<Percent>, via: &HashMap<String, Via>) -> Vec<Diagnostic> {
    let single = p.services.iter().filter(|s| s.replicas.value.min < 2);
    single
        .filter_map(|s| {
            let v = via.get(&s.name.value)?;
            let r = s.replicas.value;
            let msg = format!("`{}` {} on a synchronous request path", s.name.value, instances(r));
            let help = format!("run `{}` with at least 2 replicas (`replicas = 2` or an autoscaling range starting at 2)", s.name.value);
            Some(warn(slo, s.replicas.span, msg, one(r), Some(v), help))
        })
        .collect()
}

fn databases(p: &Program, slo: &Spanned<Percent>, via: &HashMap<String, Via>) -> Vec<Diagnostic> {
    // DynamoDB replicates inside the managed service; `replicas` does not apply to it.
    let single = p
        .databases
        .iter()
        .filter(|d| d.replicas.value == 0 && d.engine.value != Engine::Dynamodb);
    single
        .filter_map(|d| {
            let v = via.get(&d.name.value)?;
            let nodes = match d.shards.value {
                0 | 1 => "its only node is".to_string(),
                n => format!("each of its {n} shards is a single node,"),
            };
            let msg = format!(
                "`{}` has no replica: {nodes} on a synchronous request path",
                d.name.value
            );
            let help = format!(
                "give `{}` `replicas = 1` or more (per shard) with automatic failover",
                d.name.value
            );
            Some(warn(slo, d.replicas.span, msg, "no replica", Some(v), help))
        })
        .collect()
}

fn caches(p: &Program, slo: &Spanned<Percent>, via: &HashMap<String, Via>) -> Vec<Diagnostic> {
    // Only read-through and write-through put the cache itself on the request path; a
    // cache-aside outage costs hits, not requests.
    let on_path = p.caches.iter().filter(|c| {
        matches!(
            c.pattern.value,
            Pattern::ReadThrough | Pattern::WriteThrough
        )
    });
    on_path
        .filter_map(|c| {
            let v = via.get(&c.name.value)?;
            let layer = c.layers.iter().find(|l| l.kind.value == LayerKind::Redis && l.nodes.value < 2)?;
            let msg = format!("cache `{}` is `{}`, so requests wait on it, and it runs on a single redis node", c.name.value, c.pattern.value);
            let help = "run the redis layer with `nodes = 2` or more (a replica with failover), or use `pattern = cache_aside` so that a cache outage falls back to the source";
            Some(warn(slo, layer.nodes.span, msg, "one redis node", Some(v), help.to_string()).with_label(c.pattern.span, format!("pattern {}", c.pattern.value)))
        })
        .collect()
}

fn instances(r: Replicas) -> String {
    if r.is_autoscaled() {
        format!(
            "can scale in to a single instance (replicas = {}..{})",
            r.min, r.max
        )
    } else {
        "runs a single instance".to_string()
    }
}

fn one(r: Replicas) -> &'static str {
    if r.is_autoscaled() {
        "may shrink to 1 instance"
    } else {
        "single instance"
    }
}

/// Every service, database and cache a gateway route reaches synchronously, with the
/// reference that reached it first.
fn request_path(p: &Program) -> HashMap<String, Via> {
    let mut via: HashMap<String, Via> = HashMap::new();
    let mut queue: VecDeque<(&Service, &Endpoint)> = VecDeque::new();
    for g in &p.gateways {
        for r in &g.routes {
            let Some(to) = &r.to else { continue };
            let target = p
                .cdn(&to.name)
                .and_then(|c| c.origin.as_ref())
                .map_or(to.name.as_str(), |o| o.name.as_str());
            let Some(s) = p.service(target) else { continue };
            let text = format!(
                "reached from gateway `{}` by route \"{}\"",
                g.name.value, r.pattern.value
            );
            via.entry(s.name.value.clone()).or_insert(Via {
                span: to.span,
                text,
            });
            queue.extend(s.endpoints.iter().map(|e| (s, e)));
        }
    }
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    while let Some((s, e)) = queue.pop_front() {
        if !seen.insert((&s.name.value, &e.name.value)) {
            continue;
        }
        let caller = endpoint_id(s, e);
        for c in calls(s, e) {
            let Some((cs, ce)) = p.endpoint(c) else {
                continue;
            };
            let text = format!("called synchronously by `{caller}`");
            via.entry(cs.name.value.clone())
                .or_insert(Via { span: c.span, text });
            queue.push_back((cs, ce));
        }
        let data = e
            .reads
            .iter()
            .map(|t| (t, "read"))
            .chain(e.writes.iter().map(|t| (t, "written")));
        for (t, verb) in data {
            let text = format!("{verb} by `{caller}`");
            via.entry(t.component().to_string()).or_insert(Via {
                span: t.span(),
                text,
            });
        }
    }
    via
}
