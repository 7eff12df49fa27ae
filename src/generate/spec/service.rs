//! The spec of one service crate: its endpoints, consumers and jobs, and every limit,
//! cache, table, queue and upstream service they reach.

use super::common::{self, ms};
use crate::model::*;
use crate::plan::catalogue::Catalogue;
use archc_runtime::spec::*;
use std::collections::BTreeSet;

/// The body limit of a service no gateway fronts.
const DEFAULT_BODY_LIMIT: u64 = 1024 * 1024;

/// Builds the spec of `service`.
pub fn service_spec(program: &Program, service: &Service, catalogue: &Catalogue) -> ServiceSpec {
    let mut needs = Needs::default();
    let endpoints = service
        .endpoints
        .iter()
        .map(|e| endpoint(program, e, &mut needs))
        .collect();
    let consumers = service
        .consumers
        .iter()
        .filter_map(|c| {
            let from = c.from.as_ref()?.name.clone();
            needs.queues.insert(from.clone());
            Some(ConsumerSpec {
                name: c.name.value.clone(),
                from,
                concurrency: c.concurrency.value.max(1),
                batch: c.batch.value.max(1),
            })
        })
        .collect();
    let jobs = jobs_of(program, service, &mut needs);
    let replicated = service.replicas.value.max > 1;
    ServiceSpec {
        name: service.name.value.clone(),
        port: port(service.port.value),
        health_path: common::health_path(service),
        endpoints,
        consumers,
        jobs,
        limits: needs
            .limits
            .iter()
            .filter_map(|l| program.limit(l))
            .map(|l| common::limit(l, replicated))
            .collect(),
        caches: caches(program, &mut needs),
        tables: needs
            .tables
            .iter()
            .filter_map(|t| {
                let (db, table) = t.split_once('.')?;
                let db = program.database(db)?;
                let table = db.tables.iter().find(|x| x.name.value == table)?;
                Some(common::table(db, table))
            })
            .collect(),
        queues: queues(program, &needs),
        upstreams: needs
            .upstreams
            .iter()
            .filter_map(|s| program.service(s))
            .map(|s| UpstreamSpec {
                name: s.name.value.clone(),
                url_env: common::url_env(&s.name.value),
                default_url: common::local_url(s),
                health_path: common::health_path(s),
            })
            .collect(),
        shed: shed(program, service, catalogue),
        body_limit: body_limit(program, service),
        redis_cluster: program.redis_cluster(),
    }
}

/// What a service's members refer to, collected in a stable order.
#[derive(Default)]
struct Needs {
    limits: BTreeSet<String>,
    caches: BTreeSet<String>,
    tables: BTreeSet<String>,
    queues: BTreeSet<String>,
    upstreams: BTreeSet<String>,
}

fn port(p: u32) -> u16 {
    u16::try_from(p).unwrap_or(8080)
}

fn target(program: &Program, t: &Target, needs: &mut Needs) -> Option<TargetSpec> {
    match t {
        Target::Member(p) => {
            let id = p.parts.join(".");
            needs.tables.insert(id.clone());
            Some(TargetSpec::Table { id })
        }
        Target::Component(r) => match program.kind_of(&r.name)? {
            Kind::Cache => {
                needs.caches.insert(r.name.clone());
                Some(TargetSpec::Cache {
                    name: r.name.clone(),
                })
            }
            Kind::Database => Some(TargetSpec::Database {
                name: r.name.clone(),
            }),
            _ => None,
        },
    }
}

fn endpoint(program: &Program, e: &Endpoint, needs: &mut Needs) -> EndpointSpec {
    let reads = e
        .reads
        .iter()
        .filter_map(|t| target(program, t, needs))
        .collect();
    let writes = e
        .writes
        .iter()
        .filter_map(|t| target(program, t, needs))
        .collect();
    for q in &e.publishes {
        needs.queues.insert(q.name.clone());
    }
    for l in &e.limits {
        needs.limits.insert(l.name.clone());
    }
    let calls = e
        .calls
        .iter()
        .filter_map(|c| {
            let (svc, ep) = program.endpoint(c)?;
            needs.upstreams.insert(svc.name.value.clone());
            let http = ep.http.as_ref()?;
            Some(CallSpec {
                service: svc.name.value.clone(),
                endpoint: ep.name.value.clone(),
                method: http.method.map(|m| m.to_string()).unwrap_or("GET".into()),
                path: http.path.clone(),
                idempotent: ep.idempotent.value,
            })
        })
        .collect();
    let call_backoff = BackoffSpec::Exponential {
        base_ms: 100,
        max_ms: 1600,
    };
    EndpointSpec {
        name: e.name.value.clone(),
        method: e
            .http
            .as_ref()
            .map(|h| h.method.map(|m| m.to_string()).unwrap_or("GET".into())),
        path: e.http.as_ref().map(|h| h.path.clone()),
        reads,
        writes,
        publishes: e.publishes.iter().map(|q| q.name.clone()).collect(),
        calls,
        timeout_ms: ms(e.timeout.value),
        retry: e.retry.as_ref().map(|r| common::retry(r, call_backoff)),
        breaker: e.breaker.as_ref().map(common::breaker),
        idempotent: e.idempotent.value,
        limits: e.limits.iter().map(|l| l.name.clone()).collect(),
        critical: e.critical.value,
    }
}

/// Jobs run by this service: those whose `runs` is one of its endpoints, and publish-only
/// jobs, which run in the first service that publishes to the same queue (or the first
/// service of the program when none does).
fn jobs_of(program: &Program, service: &Service, needs: &mut Needs) -> Vec<JobSpec> {
    program
        .jobs
        .iter()
        .filter(|j| job_runner(program, j) == Some(service.name.value.as_str()))
        .map(|j| {
            if let Some(q) = &j.publishes {
                needs.queues.insert(q.name.clone());
            }
            JobSpec {
                name: j.name.value.clone(),
                schedule: j
                    .schedule
                    .as_ref()
                    .map(|s| s.value.clone())
                    .unwrap_or_default(),
                runs: j.runs.as_ref().and_then(|r| r.member().map(str::to_string)),
                publishes: j.publishes.iter().map(|q| q.name.clone()).collect(),
                timeout_ms: j.timeout.as_ref().map(|t| ms(t.value)).unwrap_or(0),
                overlap: j.overlap.value,
            }
        })
        .collect()
}

/// The service that runs a job.
pub fn job_runner<'p>(program: &'p Program, job: &Job) -> Option<&'p str> {
    if let Some(runs) = &job.runs {
        return program.service(runs.root()).map(|s| s.name.value.as_str());
    }
    let queue = job.publishes.as_ref()?;
    program
        .services
        .iter()
        .find(|s| {
            s.endpoints
                .iter()
                .any(|e| e.publishes.iter().any(|p| p.name == queue.name))
        })
        .or(program.services.first())
        .map(|s| s.name.value.as_str())
}

fn caches(program: &Program, needs: &mut Needs) -> Vec<CacheSpec> {
    let mut out = Vec::new();
    for name in needs.caches.clone() {
        let Some(c) = program.cache(&name) else {
            continue;
        };
        if let Some(Target::Member(p)) = &c.source {
            needs.tables.insert(p.parts.join("."));
        }
        if let Some(inv) = &c.invalidate {
            needs.queues.extend(inv.on.iter().map(|q| q.name.clone()));
        }
        if let Some(b) = c.write_behind.as_ref().and_then(|w| w.buffer.as_ref()) {
            needs.queues.insert(b.name.clone());
        }
        out.push(common::cache(c));
    }
    out
}

/// The queues named, plus their dead-letter queues (a consumer's failures land there).
fn queues(program: &Program, needs: &Needs) -> Vec<QueueSpec> {
    let mut names = needs.queues.clone();
    for q in &needs.queues {
        if let Some(d) = program.queue(q).and_then(|q| q.dead_letter.as_ref()) {
            names.insert(d.name.clone());
        }
    }
    names
        .iter()
        .filter_map(|q| program.queue(q))
        .map(common::queue)
        .collect()
}

/// Load shedding from `system.shed`. The in-flight bound is Little's law at the shedding
/// CPU level: at utilisation `u` an instance with `v` vCPUs completes `u·v/work` requests
/// per second, each in flight for `work + wait`.
fn shed(program: &Program, service: &Service, catalogue: &Catalogue) -> Option<ShedSpec> {
    let shed = program.system.as_ref()?.shed.as_ref()?;
    let at_cpu = shed.at_cpu.value.fraction().clamp(0.0, 1.0);
    let vcpu = catalogue
        .instance(&service.instance.value)
        .map(|c| f64::from(c.vcpu))
        .unwrap_or(2.0);
    let (mut work, mut wait, mut n) = (0.0, 0.0, 0.0);
    for e in &service.endpoints {
        if let Some(w) = &e.work {
            work += w.value.0;
            wait += e.wait.value.0;
            n += 1.0;
        }
    }
    let per_cpu = if n > 0.0 && work > 0.0 {
        (work + wait) / work
    } else {
        // No `work` declared: assume requests wait as long as they compute.
        2.0
    };
    let max_in_flight = (at_cpu * vcpu * per_cpu).ceil().max(1.0);
    Some(ShedSpec {
        at_cpu,
        max_in_flight: max_in_flight.min(f64::from(u32::MAX)) as u32,
    })
}

fn body_limit(program: &Program, service: &Service) -> u64 {
    program
        .gateways
        .iter()
        .filter(|g| {
            g.routes
                .iter()
                .any(|r| r.to.as_ref().is_some_and(|t| t.name == service.name.value))
        })
        .map(|g| common::bytes(g.body_limit.value))
        .max()
        .unwrap_or(DEFAULT_BODY_LIMIT)
}
