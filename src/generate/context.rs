//! The values the templates see: one context per service crate, per gateway crate and for
//! the workspace (README, docs). Templates only format; every decision is made here.

use super::spec::common as conv;
use super::templates::{camel, rust_ident};
use super::{value, CommonContext};
use crate::model::*;
use crate::plan::catalogue::Catalogue;
use archc_runtime::spec::{GatewaySpec, ServiceSpec, ShardBySpec, TargetSpec};
use minijinja::Value;
use serde::Serialize;

#[derive(Serialize)]
struct EndpointCtx {
    name: String,
    ident: String,
    route: Option<String>,
    method: Option<String>,
    path: Option<String>,
    /// `read`, `write`, `call` or `custom` (answers 501 until written).
    behaviour: &'static str,
    summary: String,
    /// The table a read or write endpoint works on (`db.table`).
    table: Option<String>,
    /// Whether the path has a `:param` (the row id).
    has_param: bool,
    limits: Vec<LimitCtx>,
}

#[derive(Serialize)]
struct LimitCtx {
    name: String,
    /// Requests that may pass before the first refusal is certain.
    attempts: u64,
}

#[derive(Serialize)]
struct MemberCtx {
    name: String,
    ident: String,
    doc: String,
}

#[derive(Serialize)]
struct ConsumerCtx {
    name: String,
    ident: String,
    from: String,
    dead_letter: Option<String>,
    attempts: u32,
}

#[derive(Serialize)]
struct TableCtx {
    id: String,
    shards: u32,
    sharded: bool,
}

#[derive(Serialize)]
struct CacheCtx {
    name: String,
    /// A read endpoint over the cache with an id in its path, used by the hit test.
    reader: Option<String>,
    source: Option<String>,
}

#[derive(Serialize)]
struct ServiceCtx<'a> {
    common: &'a CommonContext,
    name: String,
    lib: String,
    trait_name: String,
    port: u16,
    endpoints: Vec<EndpointCtx>,
    consumers: Vec<ConsumerCtx>,
    jobs: Vec<MemberCtx>,
    tables: Vec<TableCtx>,
    caches: Vec<CacheCtx>,
    /// What `src/generated/mod.rs` imports from `archc_runtime::service`, sorted as rustfmt would.
    service_imports: Vec<&'static str>,
}

/// What an endpoint does by default, and the table it works on (through a cache, the
/// cache's source).
fn behaviour(
    e: &archc_runtime::spec::EndpointSpec,
    spec: &ServiceSpec,
) -> (&'static str, Option<String>) {
    let table_of = |targets: &[TargetSpec]| {
        targets.iter().find_map(|t| match t {
            TargetSpec::Table { id } => Some(id.clone()),
            TargetSpec::Cache { name } => spec
                .caches
                .iter()
                .find(|c| &c.name == name)
                .and_then(|c| c.source.clone()),
            TargetSpec::Database { .. } => None,
        })
    };
    if !e.writes.is_empty() {
        ("write", table_of(&e.writes))
    } else if !e.reads.is_empty() {
        ("read", table_of(&e.reads))
    } else if !e.calls.is_empty() {
        ("call", None)
    } else {
        ("custom", None)
    }
}

fn summary(e: &archc_runtime::spec::EndpointSpec) -> String {
    let target = |t: &TargetSpec| match t {
        TargetSpec::Cache { name } => format!("cache `{name}`"),
        TargetSpec::Table { id } => format!("`{id}`"),
        TargetSpec::Database { name } => format!("database `{name}`"),
    };
    let mut parts = Vec::new();
    if !e.reads.is_empty() {
        let r: Vec<String> = e.reads.iter().map(target).collect();
        parts.push(format!("reads {}", r.join(", ")));
    }
    if !e.writes.is_empty() {
        let w: Vec<String> = e.writes.iter().map(target).collect();
        parts.push(format!("writes {}", w.join(", ")));
    }
    if !e.publishes.is_empty() {
        parts.push(format!("publishes to {}", e.publishes.join(", ")));
    }
    if !e.calls.is_empty() {
        let c: Vec<String> = e
            .calls
            .iter()
            .map(|c| format!("{}.{}", c.service, c.endpoint))
            .collect();
        parts.push(format!("calls {}", c.join(", ")));
    }
    if parts.is_empty() {
        "no generated behaviour: answers 501 until you implement it".into()
    } else {
        parts.join("; ")
    }
}

/// The context of `services/NAME/*`.
pub fn service(common: &CommonContext, service: &Service, spec: &ServiceSpec) -> Value {
    let endpoints = spec
        .endpoints
        .iter()
        .map(|e| {
            let (behaviour, table) = behaviour(e, spec);
            let limits = e
                .limits
                .iter()
                .filter_map(|l| spec.limits.iter().find(|x| &x.name == l))
                .map(|l| LimitCtx {
                    name: l.name.clone(),
                    attempts: (l.rate.count + l.burst).saturating_add(2).min(20_000),
                })
                .collect();
            EndpointCtx {
                name: e.name.clone(),
                ident: rust_ident(&e.name),
                route: e
                    .method
                    .as_ref()
                    .zip(e.path.as_ref())
                    .map(|(m, p)| format!("{m} {p}")),
                method: e.method.clone(),
                path: e.path.clone(),
                behaviour,
                summary: summary(e),
                table,
                has_param: e.path.as_ref().is_some_and(|p| p.contains("/:")),
                limits,
            }
        })
        .collect();
    let consumers = spec
        .consumers
        .iter()
        .map(|c| {
            let queue = spec.queues.iter().find(|q| q.name == c.from);
            ConsumerCtx {
                name: c.name.clone(),
                ident: format!("consume_{}", c.name),
                from: c.from.clone(),
                dead_letter: queue.and_then(|q| q.dead_letter.clone()),
                attempts: queue.map(|q| q.retry.attempts).unwrap_or(0),
            }
        })
        .collect();
    let jobs = spec
        .jobs
        .iter()
        .map(|j| MemberCtx {
            name: j.name.clone(),
            ident: format!("job_{}", j.name),
            doc: format!("Job `{}` on `{}` (UTC).", j.name, j.schedule),
        })
        .collect();
    let tables = spec
        .tables
        .iter()
        .map(|t| TableCtx {
            id: t.id.clone(),
            shards: t.shards,
            sharded: t.shards > 1 && t.shard_by != ShardBySpec::None,
        })
        .collect();
    let caches = spec
        .caches
        .iter()
        .map(|c| CacheCtx {
            name: c.name.clone(),
            reader: spec
                .endpoints
                .iter()
                .find(|e| {
                    e.method.as_deref() == Some("GET")
                        && e.path.as_ref().is_some_and(|p| p.contains("/:"))
                        && e.reads
                            .iter()
                            .any(|t| matches!(t, TargetSpec::Cache { name } if name == &c.name))
                })
                .map(|e| e.name.clone()),
            source: c.source.clone(),
        })
        .collect();
    let mut service_imports = vec!["Handlers"];
    if !spec.endpoints.is_empty() {
        service_imports.extend(["Outcome", "Request"]);
    }
    if !spec.consumers.is_empty() {
        service_imports.push("MessageOutcome");
    }
    if !(spec.endpoints.is_empty() && spec.consumers.is_empty() && spec.jobs.is_empty()) {
        service_imports.push("Context");
    }
    service_imports.sort_unstable();
    value(&ServiceCtx {
        common,
        service_imports,
        name: service.name.value.clone(),
        lib: format!("{}_service", service.name.value),
        trait_name: format!("{}Handlers", camel(&service.name.value)),
        port: spec.port,
        endpoints,
        consumers,
        jobs,
        tables,
        caches,
    })
}

#[derive(Serialize)]
struct GatewayCtx<'a> {
    common: &'a CommonContext,
    name: String,
    lib: String,
    port: u16,
    routes: Vec<String>,
}

/// The context of `gateways/NAME/*`.
pub fn gateway(common: &CommonContext, gateway: &Gateway, spec: &GatewaySpec) -> Value {
    value(&GatewayCtx {
        common,
        name: gateway.name.value.clone(),
        lib: format!("{}_gateway", gateway.name.value),
        port: spec.port,
        routes: spec
            .routes
            .iter()
            .map(|r| format!("{} {} → {}", r.method, r.path, r.to))
            .collect(),
    })
}

#[derive(Serialize)]
struct EnvVar {
    name: String,
    default: String,
    meaning: String,
}

#[derive(Serialize)]
struct CrateCtx {
    name: String,
    kind: &'static str,
    dir: String,
    port: u16,
    env: Vec<EnvVar>,
}

#[derive(Serialize)]
struct ComponentCtx {
    kind: String,
    name: String,
    facts: Vec<String>,
}

#[derive(Serialize)]
struct WorkspaceCtx<'a> {
    common: &'a CommonContext,
    crates: Vec<CrateCtx>,
    mermaid: String,
    components: Vec<ComponentCtx>,
    capacity: String,
    databases: Vec<String>,
    sharded: Vec<(String, u32)>,
}

fn env(name: String, default: impl Into<String>, meaning: impl Into<String>) -> EnvVar {
    EnvVar {
        name,
        default: default.into(),
        meaning: meaning.into(),
    }
}

/// The variables every service and gateway reads.
fn serve_env(port: u16) -> Vec<EnvVar> {
    vec![
        env("PORT".into(), port.to_string(), "listening port"),
        env(
            "ACCESS_LOG".into(),
            "on",
            "one JSON line per request on stderr; `off` turns it off",
        ),
    ]
}

fn backend_env(program: &Program, spec: &ServiceSpec) -> Vec<EnvVar> {
    let mut out = serve_env(spec.port);
    let uses_redis = !spec.caches.is_empty() || spec.limits.iter().any(|l| l.distributed);
    let uses_redis = uses_redis || spec.queues.iter().any(|q| q.engine == "redis");
    if uses_redis {
        out.push(env(
            "REDIS_URL".into(),
            "unset: in-process caches, limits and queues",
            if spec.redis_cluster {
                "Redis Cluster for cache layers 2+, distributed limits and Redis Streams \
                 queues: comma-separated node URLs, one is enough"
            } else {
                "Redis for cache layers 2+, distributed limits and Redis Streams queues"
            },
        ));
    }
    let mut databases: Vec<&str> = spec.tables.iter().map(|t| t.database.as_str()).collect();
    databases.dedup();
    if !databases.is_empty() {
        out.push(env(
            "DATABASE_URL".into(),
            "unset: in-memory tables",
            "PostgreSQL for every table (one database; all shards in it)",
        ));
    }
    let shards = spec.tables.iter().map(|t| t.shards).max().unwrap_or(1);
    if shards > 1 {
        out.push(env(
            "DATABASE_URL_SHARD_N".into(),
            "unset: DATABASE_URL",
            format!("PostgreSQL of shard N (0..{})", shards - 1),
        ));
    }
    if !spec.consumers.is_empty() {
        out.push(env(
            "QUEUE_LAG_EVERY_MS".into(),
            "5000",
            "how often `queue_lag_messages` and `dead_letter_depth` are read from the broker",
        ));
    }
    if spec.queues.iter().any(|q| q.engine == "rabbitmq") {
        out.push(env(
            "AMQP_URL".into(),
            "unset: in-process queues",
            "RabbitMQ for the rabbitmq queues",
        ));
    }
    for u in &spec.upstreams {
        out.push(env(
            u.url_env.clone(),
            u.default_url.clone(),
            format!("base URL(s) of `{}`, comma separated", u.name),
        ));
    }
    let _ = program;
    out
}

/// The context of the workspace files (Cargo.toml, README, docs).
pub fn workspace(common: &CommonContext, program: &Program, catalogue: &Catalogue) -> Value {
    let mut crates = Vec::new();
    for s in &program.services {
        let spec = super::spec::service_spec(program, s, catalogue);
        crates.push(CrateCtx {
            name: s.name.value.clone(),
            kind: "service",
            dir: format!("services/{}", s.name.value),
            port: spec.port,
            env: backend_env(program, &spec),
        });
    }
    for g in &program.gateways {
        let spec = super::spec::gateway_spec(program, g);
        let mut env_vars = serve_env(spec.port);
        for b in &spec.backends {
            env_vars.push(env(
                b.url_env.clone(),
                b.default_url.clone(),
                format!("instances of `{}`, comma separated ({})", b.name, b.balance),
            ));
        }
        for a in &spec.auth {
            if let Some(var) = &a.secret_env {
                env_vars.push(env(
                    var.clone(),
                    "required for this scheme",
                    format!("{} secret or keys", a.kind),
                ));
            }
        }
        if spec.limit_specs.iter().any(|l| l.distributed) {
            env_vars.push(env(
                "REDIS_URL".into(),
                "unset: in-process limits",
                if spec.redis_cluster {
                    "Redis Cluster for distributed rate limits: comma-separated node URLs, one \
                     is enough"
                } else {
                    "Redis for distributed rate limits"
                },
            ));
        }
        crates.push(CrateCtx {
            name: g.name.value.clone(),
            kind: "gateway",
            dir: format!("gateways/{}", g.name.value),
            port: spec.port,
            env: env_vars,
        });
    }
    let graph = crate::graph::build(program);
    let capacity = match crate::plan::estimate::plan(
        program,
        catalogue,
        &crate::plan::estimate::PlanOptions::default(),
    ) {
        Ok(plan) => crate::plan::render::markdown(&plan, program),
        Err(diagnostics) => {
            let mut text = String::from("The plan needs inputs this program does not declare:\n\n");
            for d in diagnostics {
                text.push_str(&format!("- {} {}\n", d.code, d.message));
            }
            text
        }
    };
    value(&WorkspaceCtx {
        common,
        crates,
        mermaid: crate::graph::to_mermaid(&graph),
        components: components(program),
        capacity,
        databases: program
            .databases
            .iter()
            .map(|d| d.name.value.clone())
            .collect(),
        sharded: program
            .databases
            .iter()
            .filter(|d| d.shards.value > 1)
            .map(|d| (d.name.value.clone(), d.shards.value))
            .collect(),
    })
}

fn components(program: &Program) -> Vec<ComponentCtx> {
    let mut out = Vec::new();
    for g in &program.gateways {
        out.push(ComponentCtx {
            kind: "gateway".into(),
            name: g.name.value.clone(),
            facts: g
                .routes
                .iter()
                .map(|r| {
                    format!(
                        "`{}` → {}",
                        r.http.display(),
                        r.to.as_ref().map(|t| t.name.as_str()).unwrap_or("?")
                    )
                })
                .collect(),
        });
    }
    for s in &program.services {
        let mut facts = vec![format!(
            "port {}, {} × `{}`, balanced by {}",
            s.port.value,
            if s.replicas.value.min == s.replicas.value.max {
                s.replicas.value.min.to_string()
            } else {
                format!("{}..{}", s.replicas.value.min, s.replicas.value.max)
            },
            s.instance.value,
            s.balance.value
        )];
        facts.extend(s.endpoints.iter().map(|e| {
            format!(
                "endpoint `{}`{}",
                e.name.value,
                e.http
                    .as_ref()
                    .map(|h| format!(" (`{}`)", h.display()))
                    .unwrap_or_default()
            )
        }));
        facts.extend(s.consumers.iter().map(|c| {
            format!(
                "consumer `{}` of `{}`",
                c.name.value,
                c.from.as_ref().map(|f| f.name.as_str()).unwrap_or("?")
            )
        }));
        out.push(ComponentCtx {
            kind: "service".into(),
            name: s.name.value.clone(),
            facts,
        });
    }
    for d in &program.databases {
        let mut facts = vec![format!(
            "{}, {} shard(s), {} replica(s), ids: {}",
            d.engine.value, d.shards.value, d.replicas.value, d.ids.value
        )];
        facts.extend(d.tables.iter().map(|t| {
            format!(
                "table `{}` ({} columns, key {})",
                t.name.value,
                t.columns.len(),
                t.key
                    .iter()
                    .map(|k| k.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
        out.push(ComponentCtx {
            kind: "database".into(),
            name: d.name.value.clone(),
            facts,
        });
    }
    for c in &program.caches {
        let spec = conv::cache(c);
        out.push(ComponentCtx {
            kind: "cache".into(),
            name: c.name.value.clone(),
            facts: vec![format!(
                "{} over {}, layers: {}, stampede: {}",
                spec.pattern,
                spec.source.as_deref().unwrap_or("nothing"),
                spec.layers
                    .iter()
                    .map(|l| l.kind.as_str())
                    .collect::<Vec<_>>()
                    .join(" → "),
                spec.stampede
            )],
        });
    }
    for q in &program.queues {
        let spec = conv::queue(q);
        out.push(ComponentCtx {
            kind: "queue".into(),
            name: q.name.value.clone(),
            facts: vec![format!(
                "{}, {} retries, dead letter: {}",
                spec.engine,
                spec.retry.attempts,
                spec.dead_letter.as_deref().unwrap_or("none")
            )],
        });
    }
    for l in &program.limits {
        let spec = conv::limit(l, true);
        out.push(ComponentCtx {
            kind: "limit".into(),
            name: l.name.value.clone(),
            facts: vec![format!(
                "{} per {} ms by {:?}, {:?}",
                spec.rate.count, spec.rate.per_ms, spec.key, spec.algorithm
            )],
        });
    }
    for j in &program.jobs {
        out.push(ComponentCtx {
            kind: "job".into(),
            name: j.name.value.clone(),
            facts: vec![format!(
                "`{}` in {}",
                j.schedule.as_ref().map(|s| s.value.as_str()).unwrap_or(""),
                super::spec::job_runner(program, j).unwrap_or("no service")
            )],
        });
    }
    out
}
