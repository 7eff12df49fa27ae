//! Redis as a backend: the connection set-up shared by every Redis user, the
//! [`RedisLimits`] rate-limit store (`scope = distributed`) and the [`RedisCache`] cache
//! layer, each on one server or on a Redis Cluster ([`ClusterConn`]). The Redis Streams
//! broker is in `streams`.
//!
//! Limits run the four algorithms of `limit::algorithm` as one Lua script (`limit.lua`),
//! called with EVALSHA (the script is loaded on first use and after a server restart), so
//! a decision is atomic across every instance sharing the server. The script works in
//! whole microseconds where the in-memory store works in nanoseconds: decisions agree, and
//! durations can differ by less than a microsecond.

use crate::cache::{CacheError, RemoteCache};
use crate::limit::{Algorithm, Decision, LimiterStore, Spec, StoreError};
use crate::BoxFuture;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client, Script};
use std::fmt;
use std::time::Duration;

/// How long connecting may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A reconnecting, multiplexed connection to one Redis server, with the URL it came from
/// (password removed) for messages.
#[derive(Clone)]
pub struct RedisConn {
    pub(crate) client: Client,
    pub(crate) manager: ConnectionManager,
    pub(crate) shown: String,
}

impl RedisConn {
    /// `PING` on the shared connection.
    pub async fn ping(&self) -> Result<(), String> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.manager.clone())
            .await
            .map(|_| ())
            .map_err(|e| format!("redis {}: {e}", self.shown))
    }
}

impl fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisConn({})", self.shown)
    }
}

impl RedisConn {
    /// Connects to `url` and checks the server answers PING.
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = Client::open(url).map_err(|e| format!("not a Redis URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(CONNECT_TIMEOUT);
        let mut manager = tokio::time::timeout(
            CONNECT_TIMEOUT * 2,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| "timed out connecting".to_string())?
        .map_err(|e| format!("cannot connect: {e}"))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut manager)
            .await
            .map_err(|e| format!("PING failed: {e}"))?;
        Ok(Self {
            client,
            manager,
            shown: super::redact(url),
        })
    }

    /// A new connection of its own, for commands that block (XREADGROUP BLOCK) and so must
    /// not hold up the shared one.
    pub(crate) async fn dedicated(&self) -> Result<redis::aio::MultiplexedConnection, String> {
        let config = redis::AsyncConnectionConfig::new().set_connection_timeout(CONNECT_TIMEOUT);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| e.to_string())
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// Rate-limit counters in Redis hashes `PREFIX{key}`, shared by every instance. Each
/// decision touches one key, so on a cluster it runs on the node owning the key's slot
/// (the script is loaded on every primary).
#[derive(Debug, Clone)]
pub struct RedisLimits {
    conn: KeyedConn,
    shown: String,
    script: Script,
    prefix: String,
}

impl RedisLimits {
    /// A store over `conn`; keys are `archc:limit:{key}`.
    pub fn new(conn: RedisConn) -> Self {
        Self::with_prefix(conn, "archc:limit:")
    }

    /// A store over `conn` whose keys start with `prefix` (tests use their own).
    pub fn with_prefix(conn: RedisConn, prefix: impl Into<String>) -> Self {
        Self::keyed(KeyedConn::Server(conn.manager), conn.shown, prefix.into())
    }

    /// A store on the Redis Cluster `cluster`; keys are `archc:limit:{key}`.
    pub fn on_cluster(cluster: &ClusterConn) -> Self {
        Self::keyed(
            KeyedConn::Cluster(cluster.conn.clone()),
            cluster.shown.clone(),
            "archc:limit:".into(),
        )
    }

    fn keyed(conn: KeyedConn, shown: String, prefix: String) -> Self {
        Self {
            conn,
            shown,
            script: Script::new(include_str!("limit.lua")),
            prefix,
        }
    }

    /// Where it stores, for the start-up log (`127.0.0.1:6379` or `cluster NODES`).
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl LimiterStore for RedisLimits {
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        spec: &'a Spec,
        cost: u64,
        now: Duration,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        Box::pin(async move {
            let algorithm = match spec.algorithm {
                Algorithm::FixedWindow => 0,
                Algorithm::SlidingWindow => 1,
                Algorithm::TokenBucket => 2,
                Algorithm::LeakyBucket => 3,
            };
            let mut conn = self.conn.clone();
            let reply: Vec<i64> = self
                .script
                .key(format!("{}{key}", self.prefix))
                .arg(algorithm)
                .arg(micros(now))
                .arg(micros(spec.rate.per()))
                .arg(spec.rate.count())
                .arg(spec.burst)
                .arg(cost)
                .arg(micros(spec.block))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| StoreError(format!("redis {}: {e}", self.shown)))?;
            let [allowed, limit, remaining, reset, retry, delay] = reply[..] else {
                return Err(StoreError(format!("unexpected script reply {reply:?}")));
            };
            let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
            let count = |v: i64| u64::try_from(v).unwrap_or(0);
            Ok(Decision {
                allowed: allowed == 1,
                limit: count(limit),
                remaining: count(remaining),
                reset_after: us(reset),
                retry_after: us(retry),
                delay: us(delay),
            })
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.conn.ping(&self.shown).await })
    }
}

/// A cache layer in Redis: `SET key value PX ttl`, `GET`, `DEL`, keys under a prefix, on
/// one server or on a Redis Cluster (`cluster = true` on the layer), where each key goes to
/// the node owning its slot.
#[derive(Debug, Clone)]
pub struct RedisCache {
    conn: KeyedConn,
    shown: String,
    prefix: String,
}

/// The connection a [`RedisCache`], [`RedisLimits`] or the Streams broker sends its
/// commands on: the shared reconnecting one to a server, a dedicated one to a server (for
/// blocking reads), or one to a cluster. There is one per store, and each command clones
/// it, so the larger variant stays inline rather than boxed (which would allocate on every
/// clone).
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum KeyedConn {
    Server(ConnectionManager),
    Direct(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl fmt::Debug for KeyedConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Server(_) => f.write_str("ConnectionManager"),
            Self::Direct(_) => f.write_str("MultiplexedConnection"),
            Self::Cluster(_) => f.write_str("ClusterConnection"),
        }
    }
}

impl redis::aio::ConnectionLike for KeyedConn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Server(conn) => conn.req_packed_command(cmd),
            Self::Direct(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Server(conn) => conn.req_packed_commands(cmd, offset, count),
            Self::Direct(conn) => conn.req_packed_commands(cmd, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(conn) => conn.get_db(),
            Self::Direct(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

impl KeyedConn {
    pub(crate) async fn ping(&self, shown: &str) -> Result<(), String> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.clone())
            .await
            .map(|_| ())
            .map_err(|e| format!("redis {shown}: {e}"))
    }
}

/// A connection to a Redis Cluster, shared by the stores on it: each command goes to the
/// node owning its key's slot, and the slot map follows resharding and failover.
#[derive(Clone)]
pub struct ClusterConn {
    client: redis::cluster::ClusterClient,
    pub(crate) conn: redis::cluster_async::ClusterConnection,
    pub(crate) shown: String,
}

impl fmt::Debug for ClusterConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClusterConn({})", self.shown)
    }
}

impl ClusterConn {
    /// Connects to the cluster that `seeds` (comma-separated node URLs, one is enough)
    /// belong to. Fails unless a node answers `PING`.
    pub async fn connect(seeds: &str) -> Result<Self, String> {
        let nodes: Vec<&str> = seeds
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let client = redis::cluster::ClusterClient::builder(nodes)
            .connection_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| format!("not Redis Cluster node URLs: {e}"))?;
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT * 2, client.get_async_connection())
            .await
            .map_err(|_| "timed out connecting".to_string())?
            .map_err(|e| format!("cannot connect to the cluster: {e}"))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("PING failed: {e}"))?;
        Ok(Self {
            client,
            conn,
            shown: format!("cluster {}", super::redact(seeds)),
        })
    }

    /// A new connection of its own to the cluster, for commands that block (XREADGROUP
    /// BLOCK) and so must not hold up the shared one. Its replies have no deadline, as a
    /// blocking read's may come late.
    pub(crate) async fn dedicated(
        &self,
    ) -> Result<redis::cluster_async::ClusterConnection, String> {
        tokio::time::timeout(CONNECT_TIMEOUT * 2, self.client.get_async_connection())
            .await
            .map_err(|_| "timed out connecting".to_string())?
            .map_err(|e| e.to_string())
    }

    /// `cluster NODES`, without passwords.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

impl RedisCache {
    /// A cache over `conn`; keys are `archc:cache:{key}`.
    pub fn new(conn: RedisConn) -> Self {
        Self::with_prefix(conn, "archc:cache:")
    }

    /// A cache over `conn` whose keys start with `prefix`.
    pub fn with_prefix(conn: RedisConn, prefix: impl Into<String>) -> Self {
        Self {
            shown: conn.shown.clone(),
            conn: KeyedConn::Server(conn.manager),
            prefix: prefix.into(),
        }
    }

    /// A cache on the Redis Cluster that `seeds` (comma-separated node URLs, one is enough)
    /// belong to; keys are `archc:cache:{key}`. Fails unless a node answers `PING`.
    pub async fn cluster(seeds: &str) -> Result<Self, String> {
        Ok(Self::on_cluster(&ClusterConn::connect(seeds).await?))
    }

    /// A cache on the connected cluster `cluster`; keys are `archc:cache:{key}`.
    pub fn on_cluster(cluster: &ClusterConn) -> Self {
        Self {
            conn: KeyedConn::Cluster(cluster.conn.clone()),
            shown: cluster.shown.clone(),
            prefix: "archc:cache:".into(),
        }
    }

    /// Where it stores, for the start-up log (`127.0.0.1:6379` or `cluster NODES`).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn error(&self, e: redis::RedisError) -> CacheError {
        CacheError(format!("redis {}: {e}", self.shown))
    }
}

impl RemoteCache for RedisCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            conn.get(format!("{}{key}", self.prefix))
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let key = format!("{}{key}", self.prefix);
            let result: redis::RedisResult<()> = match ttl {
                // PX needs at least 1 ms; a shorter ttl still means "expires".
                Some(ttl) => {
                    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(value)
                        .arg("PX")
                        .arg(ms)
                        .query_async(&mut conn)
                        .await
                }
                None => conn.set(&key, value).await,
            };
            result.map_err(|e| self.error(e))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            conn.del(format!("{}{key}", self.prefix))
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.conn.ping(&self.shown).await })
    }
}
