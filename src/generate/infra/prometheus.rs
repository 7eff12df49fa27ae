//! `infra/prometheus/prometheus.yml` (scrapes every service and gateway) and `alerts.yml`:
//! multi-window burn-rate alerts from `system.slo` (Google SRE workbook, ch. 5: 14.4x over
//! 1h/5m and 6x over 6h/30m page, 1x over 3d/6h opens a ticket), per-route error rate and
//! p99 latency against the declared `latency`, queue lag, dead-letter depth, open breakers
//! and rate-limit rejections. Metric names are the runtime's (`runtime/src/http/metrics.rs`).

use super::{conv, duration, InfraFile, Model};
use crate::generate::templates::Templates;
use crate::model::*;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Target {
    job: String,
    target: String,
    kind: &'static str,
}

#[derive(Serialize, Clone)]
pub struct Rule {
    record: Option<String>,
    alert: Option<String>,
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct PromCtx {
    targets: Vec<Target>,
    groups: Vec<Group>,
}

/// The burn-rate windows: (long, short, burn factor, severity, for).
pub const BURN_WINDOWS: [(&str, &str, f64, &str, &str); 3] = [
    ("1h", "5m", 14.4, "page", "2m"),
    ("6h", "30m", 6.0, "page", "15m"),
    ("3d", "6h", 1.0, "ticket", "1h"),
];

fn record(name: String, expr: String) -> Rule {
    Rule {
        record: Some(name),
        alert: None,
        expr,
        for_: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

fn alert(name: String, expr: String, for_: &str, severity: &str, summary: String) -> Rule {
    let mut labels = BTreeMap::new();
    labels.insert("severity".to_string(), severity.to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), summary);
    Rule {
        record: None,
        alert: Some(name),
        expr,
        for_: Some(for_.to_string()),
        labels,
        annotations,
    }
}

/// A number as PromQL writes it, without float noise (`0.0005`, `0.25`).
fn num(x: f64) -> String {
    let s = format!("{:.10}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

fn slo_groups(program: &Program) -> Vec<Group> {
    let Some(slo) = program.slo() else {
        return Vec::new();
    };
    let budget = (1.0 - slo.value.fraction()).max(1e-6);
    let mut windows: Vec<&str> = BURN_WINDOWS.iter().flat_map(|w| [w.0, w.1]).collect();
    windows.sort_unstable();
    windows.dedup();
    let records = windows
        .iter()
        .map(|w| {
            record(
                format!("archc:slo_errors:ratio_rate{w}"),
                format!(
                    "sum(rate(http_requests_total{{status=~\"5..\"}}[{w}])) / clamp_min(sum(rate(http_requests_total[{w}])), 1e-9)"
                ),
            )
        })
        .collect();
    let alerts = BURN_WINDOWS
        .iter()
        .map(|(long, short, factor, severity, for_)| {
            let threshold = num(factor * budget);
            alert(
                format!("SLOBurnRate{long}"),
                format!(
                    "archc:slo_errors:ratio_rate{long} > {threshold} and archc:slo_errors:ratio_rate{short} > {threshold}"
                ),
                for_,
                severity,
                format!(
                    "{}x the error budget of the {}% SLO burning over {long} (and still over {short})",
                    num(*factor),
                    num(slo.value.0)
                ),
            )
        })
        .collect();
    vec![
        Group {
            name: "slo-recording".into(),
            rules: records,
        },
        Group {
            name: "slo-burn-rate".into(),
            rules: alerts,
        },
    ]
}

/// The endpoint of `service` serving `METHOD path`.
fn endpoint_for<'s>(s: &'s Service, method: Option<Method>, path: &str) -> Option<&'s Endpoint> {
    s.endpoints.iter().find(|e| {
        e.http.as_ref().is_some_and(|h| {
            h.path == path && (method.is_none() || h.method.is_none() || h.method == method)
        })
    })
}

fn route_groups(program: &Program) -> Vec<Group> {
    let system_latency = program
        .system
        .as_ref()
        .and_then(|s| s.latency.as_ref())
        .map(|l| conv::ms(l.value));
    let error_threshold = program
        .slo()
        .map(|s| (10.0 * (1.0 - s.value.fraction())).min(0.05))
        .unwrap_or(0.05);
    let mut latency = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    // Routes first (their `latency` is the declared target), then endpoints no route reaches.
    let mut targets: Vec<(String, String, Option<u64>, String)> = Vec::new();
    for g in &program.gateways {
        for r in &g.routes {
            let Some(s) = r.to.as_ref().and_then(|t| program.service(&t.name)) else {
                continue;
            };
            let Some(e) = endpoint_for(s, r.http.method, &r.http.path) else {
                continue;
            };
            let target = r
                .latency
                .as_ref()
                .or(e.latency.as_ref())
                .map(|l| conv::ms(l.value))
                .or(system_latency);
            targets.push((
                s.name.value.clone(),
                e.name.value.clone(),
                target,
                format!("route `{}`", r.http.display()),
            ));
        }
    }
    for s in &program.services {
        for e in &s.endpoints {
            let target = e
                .latency
                .as_ref()
                .map(|l| conv::ms(l.value))
                .or(system_latency);
            targets.push((
                s.name.value.clone(),
                e.name.value.clone(),
                target,
                format!("endpoint `{}.{}`", s.name.value, e.name.value),
            ));
        }
    }
    for (service, endpoint, target, what) in targets {
        if !seen.insert((service.clone(), endpoint.clone())) {
            continue;
        }
        let sel = format!("service=\"{service}\",endpoint=\"{endpoint}\"");
        let id = super::super::templates::camel(&format!("{service}_{endpoint}"));
        if let Some(ms) = target {
            latency.push(alert(
                format!("LatencyP99{id}"),
                format!(
                    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m]))) > {}",
                    num(ms as f64 / 1000.0)
                ),
                "10m",
                "page",
                format!("p99 of {what} above its {} target", duration(ms)),
            ));
        }
        errors.push(alert(
            format!("ErrorRate{id}"),
            format!(
                "sum(rate(http_requests_total{{{sel},status=~\"5..\"}}[5m])) / clamp_min(sum(rate(http_requests_total{{{sel}}}[5m])), 1e-9) > {}",
                num(error_threshold)
            ),
            "5m",
            "page",
            format!("more than {}% of {what} answers are 5xx", num(error_threshold * 100.0)),
        ));
    }
    vec![
        Group {
            name: "latency".into(),
            rules: latency,
        },
        Group {
            name: "errors".into(),
            rules: errors,
        },
    ]
}

fn queue_group(program: &Program) -> Group {
    let mut rules = Vec::new();
    for s in &program.services {
        for c in &s.consumers {
            let Some(q) = c.from.as_ref() else { continue };
            let work_ms = c
                .work
                .as_ref()
                .map(|w| w.value.0)
                .filter(|w| *w > 0.0)
                .unwrap_or(10.0);
            // One minute of what the consumer drains, unless autoscaling declares a depth.
            let drain =
                f64::from(c.concurrency.value.max(1)) * f64::from(c.batch.value.max(1)) * 60_000.0
                    / work_ms;
            let depth = s
                .autoscale
                .as_ref()
                .filter(|a| a.queue.as_ref().is_some_and(|aq| aq.name == q.name))
                .and_then(|a| a.depth.as_ref())
                .map(|d| f64::from(d.value));
            let threshold = depth.unwrap_or(drain).ceil();
            rules.push(alert(
                format!(
                    "QueueLag{}",
                    super::super::templates::camel(&format!("{}_{}", s.name.value, c.name.value))
                ),
                format!(
                    "max(queue_lag_messages{{queue=\"{}\"}}) > {}",
                    q.name,
                    num(threshold)
                ),
                "10m",
                "page",
                format!(
                    "consumer `{}.{}` is more than {} messages behind on `{}`",
                    s.name.value,
                    c.name.value,
                    num(threshold),
                    q.name
                ),
            ));
        }
    }
    let mut dlqs: Vec<&str> = program
        .queues
        .iter()
        .filter_map(|q| q.dead_letter.as_ref().map(|d| d.name.as_str()))
        .collect();
    dlqs.sort_unstable();
    dlqs.dedup();
    for d in dlqs {
        rules.push(alert(
            format!("DeadLetters{}", super::super::templates::camel(d)),
            format!("max(dead_letter_depth{{queue=\"{d}\"}}) > 0"),
            "5m",
            "ticket",
            format!("messages are landing in the dead-letter queue `{d}`"),
        ));
    }
    Group {
        name: "queues".into(),
        rules,
    }
}

fn resilience_group(program: &Program) -> Group {
    let mut rules = Vec::new();
    for s in &program.services {
        if s.endpoints.iter().any(|e| e.breaker.is_some()) {
            rules.push(alert(
                format!(
                    "BreakerOpen{}",
                    super::super::templates::camel(&s.name.value)
                ),
                format!(
                    "max by (service, upstream) (breaker_open{{service=\"{}\"}}) == 1",
                    s.name.value
                ),
                "1m",
                "page",
                format!("a circuit breaker of `{}` is open", s.name.value),
            ));
        }
    }
    for l in &program.limits {
        rules.push(alert(
            format!("RateLimited{}", super::super::templates::camel(&l.name.value)),
            format!(
                "sum by (service) (rate(rate_limit_rejections_total{{limit=\"{}\"}}[5m])) / clamp_min(sum by (service) (rate(http_requests_total[5m])), 1e-9) > 0.05",
                l.name.value
            ),
            "10m",
            "ticket",
            format!("limit `{}` refuses more than 5% of requests", l.name.value),
        ));
    }
    Group {
        name: "resilience".into(),
        rules,
    }
}

pub fn files(model: &Model, templates: &Templates, out: &mut Vec<InfraFile>) -> Result<(), String> {
    let targets = model
        .deployables
        .iter()
        .map(|d| Target {
            job: d.name.clone(),
            target: format!("{}:{}", d.host, d.port),
            kind: d.kind,
        })
        .collect();
    let mut groups = slo_groups(model.program);
    groups.extend(route_groups(model.program));
    groups.push(queue_group(model.program));
    groups.push(resilience_group(model.program));
    groups.retain(|g| !g.rules.is_empty());
    let ctx = PromCtx { targets, groups };
    model.render(
        templates,
        "infra/prometheus.yml.j2",
        &ctx,
        "infra/prometheus/prometheus.yml".into(),
        out,
    )?;
    model.render(
        templates,
        "infra/alerts.yml.j2",
        &ctx,
        "infra/prometheus/alerts.yml".into(),
        out,
    )
}
