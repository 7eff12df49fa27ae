//! The backends a service runs on: embedded (in-process, the default) or real servers
//! chosen by environment variables. This module owns the choice; the rest of the runtime
//! only sees the traits.
//!
//! | variable | when set |
//! |---|---|
//! | `REDIS_URL` | distributed limits, cache layers 2+ and `engine = redis` queues on Redis; a cache whose Redis layer says `cluster = true` treats it as a Redis Cluster node list (`redis://a:6379,redis://b:6379`, one is enough) and keeps limits, cache and Redis Streams queues there (each queue on the node owning its slot) |
//! | `DATABASE_URL` | every table in PostgreSQL (the shards without their own database too) |
//! | `DATABASE_URL_SHARD_N` | shard `N` (0, 1, …) in its own PostgreSQL database |
//! | `AMQP_URL` | `engine = rabbitmq` queues on RabbitMQ |
//! | `KAFKA_BROKERS` | `engine = kafka` queues on Kafka (`host:port,…`; cargo feature `kafka`) |
//!
//! A variable is only used by a service that needs it. A variable that is set but whose
//! server cannot be reached stops start-up with a [`BackendError`] naming it: a service
//! never falls back to in-process state silently when it was told to share it.

#[cfg(feature = "kafka")]
pub mod kafka;
pub mod postgres;
pub mod rabbit;
pub mod redis;
mod route;
pub mod streams;

pub use route::RoutedBroker;

use crate::cache::{MemoryRemote, RemoteCache};
use crate::limit::{LimiterStore, MemoryStore};
use crate::queue::{Broker, MemoryBroker};
use crate::spec::ServiceSpec;
use crate::store::{MemoryTables, TableStore};
use crate::BoxFuture;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The backends one process uses.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Where `scope = distributed` limits keep their counters.
    pub limits: Arc<dyn LimiterStore>,
    /// Where rows live.
    pub tables: Arc<dyn TableStore>,
    /// Where messages go.
    pub broker: Arc<dyn Broker>,
    /// The shared cache layers (L2 and below).
    pub remote_cache: Arc<dyn RemoteCache>,
    /// One line per backend, for the start-up log and `/ready`: `tables: memory`, ….
    pub described: Vec<String>,
}

/// A backend named by an environment variable could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    /// The variable (`REDIS_URL`, `DATABASE_URL_SHARD_1`, …).
    pub variable: String,
    /// What went wrong, with the URL's password removed.
    pub message: String,
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for BackendError {}

fn fail(variable: &str, url: &str, why: impl fmt::Display) -> BackendError {
    BackendError {
        variable: variable.to_string(),
        message: format!("{} ({})", why, redact(url)),
    }
}

/// `url` with the password of its user info replaced by `***`, for logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// The variables a process reads, as a function so tests can pass their own.
pub type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether `spec` has anything Redis would hold.
fn needs_redis(spec: &ServiceSpec) -> bool {
    spec.limits.iter().any(|l| l.distributed)
        || spec
            .caches
            .iter()
            .any(|c| c.layers.iter().any(|l| l.kind != "memory"))
        || spec.queues.iter().any(|q| q.engine == "redis")
}

/// Whether the program's Redis is a Redis Cluster (`redis_cluster`, or a Redis cache layer
/// of `spec` declaring `cluster = true`): everything on REDIS_URL then talks to its nodes
/// as a cluster.
fn redis_is_cluster(spec: &ServiceSpec) -> bool {
    spec.redis_cluster
        || spec
            .caches
            .iter()
            .flat_map(|c| &c.layers)
            .any(|l| l.kind == "redis" && l.cluster)
}

/// A node list where one server is expected: said plainly, rather than left to the URL
/// parser.
fn one_server(url: &str) -> Result<(), BackendError> {
    if !url.contains(',') {
        return Ok(());
    }
    Err(BackendError {
        variable: "REDIS_URL".into(),
        message: format!(
            "lists several Redis nodes ({}), but the program's Redis is one server (no cache \
             layer says cluster = true): give one URL, or declare cluster = true on the \
             cache's redis layer",
            url.split(',')
                .map(|u| redact(u.trim()))
                .collect::<Vec<_>>()
                .join(",")
        ),
    })
}

/// Whether `ping` answers Ok within `timeout`.
async fn answers(ping: BoxFuture<'_, Result<(), String>>, timeout: Duration) -> bool {
    matches!(tokio::time::timeout(timeout, ping).await, Ok(Ok(())))
}

impl Backends {
    /// The backends that do not answer a ping within `timeout`, by role (`limits`, `tables`,
    /// `broker`, `cache`), all pinged at once.
    pub async fn unreachable(&self, timeout: Duration) -> Vec<&'static str> {
        let (limits, tables, broker, cache) = tokio::join!(
            answers(self.limits.ping(), timeout),
            answers(self.tables.ping(), timeout),
            answers(self.broker.ping(), timeout),
            answers(self.remote_cache.ping(), timeout),
        );
        [
            ("limits", limits),
            ("tables", tables),
            ("broker", broker),
            ("cache", cache),
        ]
        .into_iter()
        .filter(|(_, up)| !up)
        .map(|(role, _)| role)
        .collect()
    }

    /// Everything in process: no servers needed.
    pub fn embedded() -> Self {
        Self {
            limits: Arc::new(MemoryStore::new()),
            tables: Arc::new(MemoryTables::new()),
            broker: Arc::new(MemoryBroker::new()),
            remote_cache: Arc::new(MemoryRemote::new()),
            described: vec![
                "limits: memory".into(),
                "tables: memory".into(),
                "broker: memory".into(),
                "cache: memory".into(),
            ],
        }
    }

    /// The backends the process environment names for `spec` (see the module docs).
    pub async fn from_env(spec: &ServiceSpec) -> Result<Self, BackendError> {
        Self::from_vars(spec, &process_env).await
    }

    /// [`Backends::from_env`] reading the variables through `var`.
    pub async fn from_vars(spec: &ServiceSpec, var: Vars<'_>) -> Result<Self, BackendError> {
        let mut out = Self::embedded();
        out.described.clear();
        let url = var("REDIS_URL").filter(|_| needs_redis(spec));
        let streams = match &url {
            Some(url) if redis_is_cluster(spec) => Some(on_cluster(&mut out, url).await?),
            Some(url) => {
                one_server(url)?;
                let conn = redis::RedisConn::connect(url)
                    .await
                    .map_err(|why| fail("REDIS_URL", url, why))?;
                let limits = redis::RedisLimits::new(conn.clone());
                let cache = redis::RedisCache::new(conn.clone());
                out.described
                    .push(format!("limits: redis {}", limits.shown()));
                out.described
                    .push(format!("cache: redis {}", cache.shown()));
                out.limits = Arc::new(limits);
                out.remote_cache = Arc::new(cache);
                Some(streams::RedisStreams::new(conn))
            }
            None => {
                out.described.push("limits: memory".into());
                out.described.push("cache: memory".into());
                None
            }
        };
        let (tables, described) = tables_from(spec, var).await?;
        if let Some(tables) = tables {
            out.tables = tables;
        }
        out.described.push(described);
        let (broker, described) = broker_from(spec, var, streams).await?;
        out.broker = broker;
        out.described.push(described);
        Ok(out)
    }
}

/// Puts the limits and the remote cache on the Redis Cluster `url` names; the Streams
/// broker on the same cluster, for the caller to use if the service has such queues.
async fn on_cluster(out: &mut Backends, url: &str) -> Result<streams::RedisStreams, BackendError> {
    let cluster = redis::ClusterConn::connect(url)
        .await
        .map_err(|why| fail("REDIS_URL", url, why))?;
    out.described
        .push(format!("limits: redis {}", cluster.shown()));
    out.described
        .push(format!("cache: redis {}", cluster.shown()));
    out.limits = Arc::new(redis::RedisLimits::on_cluster(&cluster));
    out.remote_cache = Arc::new(redis::RedisCache::on_cluster(&cluster));
    Ok(streams::RedisStreams::on_cluster(&cluster))
}

/// The distributed rate-limit store `REDIS_URL` names, for processes without a full
/// service spec (the gateway), on a Redis Cluster when `cluster`: None when the variable
/// is unset.
pub async fn limits_from_env(
    cluster: bool,
) -> Result<Option<(Arc<dyn LimiterStore>, String)>, BackendError> {
    let Some(url) = process_env("REDIS_URL") else {
        return Ok(None);
    };
    let limits = if cluster {
        let conn = redis::ClusterConn::connect(&url)
            .await
            .map_err(|why| fail("REDIS_URL", &url, why))?;
        redis::RedisLimits::on_cluster(&conn)
    } else {
        one_server(&url)?;
        let conn = redis::RedisConn::connect(&url)
            .await
            .map_err(|why| fail("REDIS_URL", &url, why))?;
        redis::RedisLimits::new(conn)
    };
    let shown = format!("limits: redis {}", limits.shown());
    Ok(Some((Arc::new(limits), shown)))
}

async fn tables_from(
    spec: &ServiceSpec,
    var: Vars<'_>,
) -> Result<(Option<Arc<dyn TableStore>>, String), BackendError> {
    let shards = spec
        .tables
        .iter()
        .map(|t| t.shards.max(1))
        .max()
        .unwrap_or(0);
    let default = var("DATABASE_URL");
    let own: Vec<Option<String>> = (0..shards)
        .map(|n| var(&format!("DATABASE_URL_SHARD_{n}")))
        .collect();
    if spec.tables.is_empty() || (default.is_none() && own.iter().all(Option::is_none)) {
        return Ok((None, "tables: memory".into()));
    }
    // Every shard must have a database before any is connected to.
    let mut named = Vec::new();
    for (n, own_url) in own.iter().enumerate() {
        named.push(match (own_url, &default) {
            (Some(url), _) => (format!("DATABASE_URL_SHARD_{n}"), url.clone()),
            (None, Some(url)) => ("DATABASE_URL".to_string(), url.clone()),
            (None, None) => {
                return Err(BackendError {
                    variable: format!("DATABASE_URL_SHARD_{n}"),
                    message: "not set, and no DATABASE_URL to fall back to, while other \
                              shards are in PostgreSQL"
                        .into(),
                })
            }
        });
    }
    let mut pools: HashMap<String, Arc<postgres::Pool>> = HashMap::new();
    let mut dbs = Vec::new();
    let mut shown = Vec::new();
    for (n, (variable, url)) in named.into_iter().enumerate() {
        let pool = match pools.get(&url) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(
                    postgres::Pool::connect(&url)
                        .await
                        .map_err(|why| fail(&variable, &url, why))?,
                );
                pools.insert(url.clone(), p.clone());
                p
            }
        };
        shown.push(format!("shard {n} {variable} {}", pool.shown()));
        dbs.push((url, pool));
    }
    let shards = dbs
        .iter()
        .map(|(url, pool)| postgres::ShardDb {
            pool: pool.clone(),
            shared: dbs.iter().filter(|(u, _)| u == url).count() > 1,
        })
        .collect();
    Ok((
        Some(Arc::new(postgres::PgTables::new(shards))),
        format!("tables: postgres ({})", shown.join(", ")),
    ))
}

async fn broker_from(
    spec: &ServiceSpec,
    var: Vars<'_>,
    streams: Option<streams::RedisStreams>,
) -> Result<(Arc<dyn Broker>, String), BackendError> {
    let memory: Arc<dyn Broker> = Arc::new(MemoryBroker::with_specs(&spec.queues));
    let mut routes: Vec<(String, Arc<dyn Broker>, String)> = Vec::new();
    let engines = |e: &str| spec.queues.iter().any(|q| q.engine == e);
    let streams: Option<Arc<dyn Broker>> = match streams {
        Some(streams) if engines("redis") => Some(Arc::new(streams.with_specs(&spec.queues))),
        _ => None,
    };
    let rabbit: Option<Arc<dyn Broker>> = match var("AMQP_URL") {
        Some(url) if engines("rabbitmq") => Some(Arc::new(
            rabbit::RabbitBroker::connect_with(&url, &spec.queues)
                .await
                .map_err(|why| fail("AMQP_URL", &url, why))?,
        )),
        _ => None,
    };
    let kafka = kafka_from(spec, var).await?;
    for q in &spec.queues {
        let (broker, name) = match q.engine.as_str() {
            "redis" => (streams.clone(), "redis streams"),
            "rabbitmq" => (rabbit.clone(), "rabbitmq"),
            "kafka" => (kafka.clone(), "kafka"),
            _ => (None, "memory"),
        };
        let (broker, name) = match broker {
            Some(b) => (b, name),
            None => (memory.clone(), "memory"),
        };
        routes.push((q.name.clone(), broker.clone(), name.to_string()));
        // A dead-letter queue lives with its source, so a consumer of it finds it there.
        if let Some(dlq) = &q.dead_letter {
            if !spec.queues.iter().any(|other| &other.name == dlq) {
                routes.push((dlq.clone(), broker, name.to_string()));
            }
        }
    }
    if routes.iter().all(|(_, _, name)| name == "memory") {
        return Ok((memory, "broker: memory".into()));
    }
    let described = routes
        .iter()
        .map(|(q, _, name)| format!("{q} {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let routes = routes.into_iter().map(|(q, b, _)| (q, b)).collect();
    Ok((
        Arc::new(RoutedBroker::new(routes, memory)),
        format!("broker: {described}"),
    ))
}

#[cfg(feature = "kafka")]
async fn kafka_from(
    spec: &ServiceSpec,
    var: Vars<'_>,
) -> Result<Option<Arc<dyn Broker>>, BackendError> {
    match var("KAFKA_BROKERS") {
        Some(brokers) if spec.queues.iter().any(|q| q.engine == "kafka") => Ok(Some(Arc::new(
            kafka::KafkaBroker::connect(&brokers)
                .await
                .map_err(|why| fail("KAFKA_BROKERS", &brokers, why))?,
        ))),
        _ => Ok(None),
    }
}

#[cfg(not(feature = "kafka"))]
async fn kafka_from(
    spec: &ServiceSpec,
    var: Vars<'_>,
) -> Result<Option<Arc<dyn Broker>>, BackendError> {
    match var("KAFKA_BROKERS") {
        Some(_) if spec.queues.iter().any(|q| q.engine == "kafka") => Err(BackendError {
            variable: "KAFKA_BROKERS".into(),
            message: "set, but this build has no Kafka client: build with the cargo \
                      feature `kafka` (archc-runtime/kafka)"
                .into(),
        }),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests;
