//! The infra part of `archc generate`: `infra/**` (compose, Kubernetes, nginx, haproxy,
//! Prometheus, SQL, Redis, RabbitMQ / Kafka) from a checked [`Program`].
//!
//! Pure: [`files`] returns `(path, text)` pairs. Every decision (host names, env values, limits
//! turned into rates, thresholds) is made in these modules; the templates under
//! `templates/infra/` only format. Every YAML and JSON file is parsed back before it is
//! returned. Host names and environment variables are the ones the generated services read
//! (`spec::common::url_env`, `context::backend_env`), so the same values work in compose and
//! in Kubernetes (where each host is a `Service` of the same name).

mod broker;
mod compose;
mod edge;
mod haproxy;
mod k8s;
mod nginx;
mod prometheus;
mod redis;
mod sql;

use super::spec;
use super::spec::common as conv;
use super::templates::Templates;
use super::CommonContext;
use crate::model::*;
use crate::plan::catalogue::Catalogue;
use archc_runtime::spec::ServiceSpec;
use serde::Serialize;

/// The PostgreSQL user, password and port of the generated local stack.
pub const PG_USER: &str = "archc";
const PG_PORT: u16 = 5432;

/// One generated infra file.
pub struct InfraFile {
    pub path: String,
    pub text: String,
}

/// Every file under `infra/`.
pub fn files(
    program: &Program,
    catalogue: &Catalogue,
    templates: &Templates,
    common: &CommonContext,
) -> Result<Vec<InfraFile>, String> {
    let model = Model::new(program, catalogue, common);
    let mut out = Vec::new();
    compose::files(&model, templates, &mut out)?;
    k8s::files(&model, templates, &mut out)?;
    nginx::files(&model, templates, &mut out)?;
    prometheus::files(&model, templates, &mut out)?;
    sql::files(&model, templates, &mut out)?;
    redis::files(&model, templates, &mut out)?;
    broker::files(&model, &mut out)?;
    for f in &out {
        check_syntax(f)?;
    }
    Ok(out)
}

/// Parses YAML and JSON back, so a template (or an override) cannot emit invalid syntax.
fn check_syntax(f: &InfraFile) -> Result<(), String> {
    if f.path.ends_with(".yaml") || f.path.ends_with(".yml") {
        for doc in serde_yaml::Deserializer::from_str(&f.text) {
            if let Err(e) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) {
                return Err(format!(
                    "{}: the template produced invalid YAML: {e}",
                    f.path
                ));
            }
        }
    } else if f.path.ends_with(".json") {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&f.text) {
            return Err(format!(
                "{}: the generator produced invalid JSON: {e}",
                f.path
            ));
        }
    }
    Ok(())
}

/// What every infra template sees besides its own context.
#[derive(Serialize)]
struct Wrapped<'a, T: Serialize> {
    version: &'a str,
    source: &'a str,
    system: &'a str,
    system_dns: String,
    #[serde(flatten)]
    ctx: &'a T,
}

/// A component name as a DNS label (compose service, Kubernetes object, host name):
/// `user_service` → `user-service`.
pub fn dns(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Whole seconds, at least 1 (Kubernetes and compose probes count in seconds).
pub fn secs(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

/// A duration in the largest whole unit Prometheus, nginx and haproxy accept (`90s`, `5m`).
pub fn duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// An environment variable with its value in the generated stack.
#[derive(Debug, Clone, Serialize)]
pub struct Env {
    pub name: String,
    pub value: String,
}

/// A service or gateway as the infra files deploy it.
#[derive(Debug, Clone, Serialize)]
pub struct Deployable {
    pub name: String,
    /// DNS name: compose service, Kubernetes Deployment and Service, host name.
    pub host: String,
    /// `service` or `gateway`.
    pub kind: &'static str,
    pub port: u16,
    pub instance: String,
    pub vcpu: u32,
    pub memory_bytes: u64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub health_path: String,
    pub health_interval_ms: u64,
    pub health_timeout_ms: u64,
    pub unhealthy_after: u32,
    pub healthy_after: u32,
    pub env: Vec<Env>,
    /// Environment variables holding secrets (auth keys); never given a value here.
    pub secrets: Vec<String>,
    /// Compose services this one needs up first.
    pub depends_on: Vec<String>,
    /// Cargo features the image is built with (`archc-runtime/kafka` for Kafka queues).
    pub features: String,
}

/// A PostgreSQL instance of the stack: one database's shard.
#[derive(Debug, Clone, Serialize)]
pub struct PgHost {
    pub database: String,
    pub shard: u32,
    pub host: String,
    pub url: String,
}

/// What the infra modules share: the program, the catalogue and derived facts.
pub struct Model<'a> {
    pub common: &'a CommonContext,
    pub program: &'a Program,
    pub catalogue: &'a Catalogue,
    pub system: String,
    pub services: Vec<(&'a Service, ServiceSpec)>,
    pub deployables: Vec<Deployable>,
    pub pg: Vec<PgHost>,
}

impl<'a> Model<'a> {
    fn new(program: &'a Program, catalogue: &'a Catalogue, common: &'a CommonContext) -> Model<'a> {
        let services: Vec<(&Service, ServiceSpec)> = program
            .services
            .iter()
            .map(|s| (s, spec::service_spec(program, s, catalogue)))
            .collect();
        let pg = program
            .databases
            .iter()
            .flat_map(|d| {
                let shards = d.shards.value.max(1);
                (0..shards).map(move |n| {
                    let host = pg_host(&d.name.value, n, shards);
                    PgHost {
                        database: d.name.value.clone(),
                        shard: n,
                        url: pg_url(&host, &d.name.value),
                        host,
                    }
                })
            })
            .collect();
        let mut model = Model {
            common,
            program,
            catalogue,
            system: common.system.clone(),
            services: Vec::new(),
            deployables: Vec::new(),
            pg,
        };
        let mut deployables: Vec<Deployable> = services
            .iter()
            .map(|(s, spec)| model.service_deployable(s, spec))
            .collect();
        deployables.extend(program.gateways.iter().map(|g| model.gateway_deployable(g)));
        model.services = services;
        model.deployables = deployables;
        model
    }

    /// Renders template `name` with `ctx` (plus version, source and system) into `path`.
    pub fn render(
        &self,
        templates: &Templates,
        name: &str,
        ctx: &impl Serialize,
        path: String,
        out: &mut Vec<InfraFile>,
    ) -> Result<(), String> {
        let wrapped = Wrapped {
            version: &self.common.version,
            source: &self.common.source,
            system: &self.common.system,
            system_dns: dns(&self.common.system),
            ctx,
        };
        let text = templates.render(name, super::value(&wrapped))?;
        out.push(InfraFile { path, text });
        Ok(())
    }

    fn class(&self, instance: &str) -> (u32, u64) {
        self.catalogue
            .instance(instance)
            .map(|c| (c.vcpu.max(1), c.memory_bytes.max(0.0) as u64))
            .unwrap_or((1, 1 << 30))
    }

    /// The environment of a service, with the values of the generated stack. The names
    /// are those `context::backend_env` documents and the runtime reads.
    fn service_deployable(&self, s: &Service, spec: &ServiceSpec) -> Deployable {
        let mut env = vec![Env {
            name: "PORT".into(),
            value: spec.port.to_string(),
        }];
        let mut depends_on = Vec::new();
        let uses_redis = !spec.caches.is_empty()
            || spec.limits.iter().any(|l| l.distributed)
            || spec.queues.iter().any(|q| q.engine == "redis");
        if uses_redis {
            env.push(Env {
                name: "REDIS_URL".into(),
                value: redis::url(self.program),
            });
            depends_on.push(redis::host(self.program));
        }
        if let Some(db) = primary_database(self.program, spec) {
            let shards = db.shards.value.max(1);
            let first = pg_host(&db.name.value, 0, shards);
            env.push(Env {
                name: "DATABASE_URL".into(),
                value: pg_url(&first, &db.name.value),
            });
            if spec.tables.iter().any(|t| t.shards > 1) {
                for n in 0..shards {
                    let host = pg_host(&db.name.value, n, shards);
                    env.push(Env {
                        name: format!("DATABASE_URL_SHARD_{n}"),
                        value: pg_url(&host, &db.name.value),
                    });
                    depends_on.push(host);
                }
            } else {
                depends_on.push(first);
            }
        }
        if spec.queues.iter().any(|q| q.engine == "rabbitmq") {
            env.push(Env {
                name: "AMQP_URL".into(),
                value: broker::AMQP_URL.into(),
            });
            depends_on.push("rabbitmq".into());
        }
        // The runtime talks to Kafka only when built with its `kafka` feature.
        let mut features = String::new();
        if spec.queues.iter().any(|q| q.engine == "kafka") {
            env.push(Env {
                name: "KAFKA_BROKERS".into(),
                value: broker::KAFKA_BROKERS.into(),
            });
            depends_on.push("kafka".into());
            features = "archc-runtime/kafka".into();
        }
        for u in &spec.upstreams {
            if let Some(up) = self.program.service(&u.name) {
                env.push(Env {
                    name: u.url_env.clone(),
                    value: format!("http://{}:{}", dns(&u.name), up.port.value),
                });
            }
        }
        depends_on.sort();
        depends_on.dedup();
        let (vcpu, memory_bytes) = self.class(&s.instance.value);
        Deployable {
            name: s.name.value.clone(),
            host: dns(&s.name.value),
            kind: "service",
            port: spec.port,
            instance: s.instance.value.clone(),
            vcpu,
            memory_bytes,
            min_replicas: s.replicas.value.min.max(1),
            max_replicas: s.replicas.value.max.max(s.replicas.value.min).max(1),
            health_path: spec.health_path.clone(),
            health_interval_ms: conv::ms(s.health.interval.value),
            health_timeout_ms: conv::ms(s.health.timeout.value),
            unhealthy_after: s.health.unhealthy_after.max(1),
            healthy_after: s.health.healthy_after.max(1),
            env,
            secrets: Vec::new(),
            depends_on,
            features,
        }
    }

    fn gateway_deployable(&self, g: &Gateway) -> Deployable {
        let spec = spec::gateway_spec(self.program, g);
        let mut env = vec![Env {
            name: "PORT".into(),
            value: spec.port.to_string(),
        }];
        let mut depends_on = Vec::new();
        for b in &spec.backends {
            // A canary backend runs as its own deployment of the stable service's code.
            let host = dns(&b.name);
            let port = b
                .default_url
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or(80);
            env.push(Env {
                name: b.url_env.clone(),
                value: format!("http://{host}:{port}"),
            });
            if self.program.service(&b.name).is_some() {
                depends_on.push(host);
            }
        }
        if spec.limit_specs.iter().any(|l| l.distributed) {
            env.push(Env {
                name: "REDIS_URL".into(),
                value: redis::url(self.program),
            });
            depends_on.push(redis::host(self.program));
        }
        let secrets = spec
            .auth
            .iter()
            .filter_map(|a| a.secret_env.clone())
            .collect();
        depends_on.sort();
        depends_on.dedup();
        let (vcpu, memory_bytes) = self.class(&g.instance.value);
        Deployable {
            name: g.name.value.clone(),
            host: dns(&g.name.value),
            kind: "gateway",
            port: spec.port,
            instance: g.instance.value.clone(),
            vcpu,
            memory_bytes,
            min_replicas: g.replicas.value.min.max(1),
            max_replicas: g.replicas.value.max.max(g.replicas.value.min).max(1),
            health_path: "/health".into(),
            health_interval_ms: 10_000,
            health_timeout_ms: 2_000,
            unhealthy_after: 3,
            healthy_after: 1,
            env,
            secrets,
            depends_on,
            features: String::new(),
        }
    }

    /// The number of zones of the primary region (3 when no region is declared).
    pub fn zones(&self) -> u32 {
        self.program
            .system
            .as_ref()
            .and_then(|s| s.regions.first())
            .and_then(|r| self.program.region(&r.name))
            .or(self.program.regions.first())
            .map(|r| r.zones.value.max(1))
            .unwrap_or(3)
    }
}

/// The database whose URLs a service gets: the one with the most shards among those its
/// tables live in (ties: the first by name). `DATABASE_URL` is one database per service.
fn primary_database<'p>(program: &'p Program, spec: &ServiceSpec) -> Option<&'p Database> {
    let mut best: Option<&Database> = None;
    for t in &spec.tables {
        let Some(db) = program.database(&t.database) else {
            continue;
        };
        let better = match best {
            None => true,
            Some(b) => {
                db.shards.value > b.shards.value
                    || (db.shards.value == b.shards.value && db.name.value < b.name.value)
            }
        };
        if better {
            best = Some(db);
        }
    }
    best
}

/// The host of shard `n` of a database: `orders-db` unsharded, `orders-db-3` sharded.
pub fn pg_host(db: &str, n: u32, shards: u32) -> String {
    if shards > 1 {
        format!("{}-{n}", dns(db))
    } else {
        dns(db)
    }
}

fn pg_url(host: &str, db: &str) -> String {
    format!("postgres://{PG_USER}:{PG_USER}@{host}:{PG_PORT}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(duration(300_000), "5m");
        assert_eq!(duration(1500), "1500ms");
        assert_eq!(duration(86_400_000), "1d");
        assert_eq!(secs(500), 1);
        assert_eq!(secs(30_000), 30);
        assert_eq!(dns("user_service"), "user-service");
        assert_eq!(pg_host("orders_db", 3, 8), "orders-db-3");
        assert_eq!(pg_host("orders_db", 0, 1), "orders-db");
    }
}
