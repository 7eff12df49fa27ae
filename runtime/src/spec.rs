//! The specification a generated crate embeds: what `archc generate` writes into
//! `src/generated/spec.json` and what the runtime reads at start-up.
//!
//! This module is the contract between the compiler and the runtime. archc builds these
//! values from its checked IR and serialises them; the runtime deserialises them. Both
//! sides use these very types (archc depends on this crate without its `server` feature),
//! so the two can never drift apart.
//!
//! Durations are milliseconds, sizes are bytes, rates are `count` per `per_ms`. Every
//! default the `.arch` language fills in is already resolved here: the runtime never
//! invents a setting the program did not state or default.

use serde::{Deserialize, Serialize};

/// A rate: `count` events per `per_ms` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateSpec {
    /// Events in the window.
    pub count: u64,
    /// The window in milliseconds.
    pub per_ms: u64,
}

/// A backoff: `fixed(base)` or `exponential(base, max = max)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackoffSpec {
    /// The same wait each time.
    Fixed {
        /// The wait.
        base_ms: u64,
    },
    /// Doubling waits, capped.
    Exponential {
        /// The first wait.
        base_ms: u64,
        /// The longest wait.
        max_ms: u64,
    },
}

/// `retry { attempts backoff jitter on }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrySpec {
    /// Retries after the first try.
    pub attempts: u32,
    /// Wait before each retry.
    pub backoff: BackoffSpec,
    /// Jitter fraction in `[0, 1]`.
    pub jitter: f64,
    /// HTTP statuses retried.
    #[serde(default)]
    pub statuses: Vec<u16>,
    /// Retry on timeouts.
    #[serde(default)]
    pub on_timeout: bool,
    /// Retry on connection failures.
    #[serde(default)]
    pub on_connect: bool,
}

/// `breaker { failures reset half_open }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BreakerSpec {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// How long it stays open.
    pub reset_ms: u64,
    /// Trial calls allowed while half-open.
    pub half_open: u32,
}

/// What a limit counts by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKeySpec {
    /// Client IP.
    Ip,
    /// Authenticated user.
    User,
    /// API key.
    ApiKey,
    /// The endpoint or route.
    Endpoint,
    /// One counter for all.
    Global,
    /// A request header's value.
    Header(String),
}

/// Rate-limit algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmSpec {
    /// Fixed window.
    FixedWindow,
    /// Sliding window.
    SlidingWindow,
    /// Token bucket.
    TokenBucket,
    /// Leaky bucket.
    LeakyBucket,
}

/// `adaptive { min max on }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveSpec {
    /// Lowest rate.
    pub min: RateSpec,
    /// Highest rate.
    pub max: RateSpec,
    /// `latency`, `errors` or `cpu`.
    pub on: String,
}

/// A named rate-limit policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitSpec {
    /// Policy name.
    pub name: String,
    /// Base rate.
    pub rate: RateSpec,
    /// What is counted.
    pub key: LimitKeySpec,
    /// Algorithm.
    pub algorithm: AlgorithmSpec,
    /// Bucket capacity / burst.
    pub burst: u64,
    /// Block duration after a refusal (0: none).
    pub block_ms: u64,
    /// True: counters shared through Redis when `REDIS_URL` is set.
    pub distributed: bool,
    /// Units one request costs.
    pub cost: u64,
    /// Per-plan rates (API key tiers).
    #[serde(default)]
    pub tiers: Vec<(String, RateSpec)>,
    /// Per-country rates; `default` is the fallback.
    #[serde(default)]
    pub countries: Vec<(String, RateSpec)>,
    /// CIDRs never limited.
    #[serde(default)]
    pub allow: Vec<String>,
    /// CIDRs always refused.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Adaptive rate, if declared.
    #[serde(default)]
    pub adaptive: Option<AdaptiveSpec>,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// SQL type as written (`bigint`, `varchar(32)`, `jsonb`, ...).
    pub sql_type: String,
}

/// Whether the SQL type `sql_type` holds integers (`int`, `bigint`, `serial`, `int8`, …).
pub fn is_integer_type(sql_type: &str) -> bool {
    let t = sql_type.trim().to_ascii_lowercase();
    matches!(
        t.split('(').next().unwrap_or("").trim(),
        "int"
            | "integer"
            | "bigint"
            | "smallint"
            | "serial"
            | "bigserial"
            | "smallserial"
            | "int2"
            | "int4"
            | "int8"
    )
}

/// How a sharded database spreads rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShardBySpec {
    /// Not sharded.
    None,
    /// Consistent hash of a column.
    Hash {
        /// The shard-key column.
        column: String,
    },
    /// Ranges of a column: `bounds[i]` is the first value of shard `i + 1`.
    Range {
        /// The shard-key column.
        column: String,
        /// Boundaries, ascending.
        bounds: Vec<String>,
    },
    /// A lookup table from key to shard.
    Directory {
        /// The shard-key column.
        column: String,
    },
    /// By region/country of a column.
    Geo {
        /// The column holding the region.
        column: String,
        /// Value → shard.
        regions: Vec<(String, u32)>,
    },
}

/// A table the crate reads or writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSpec {
    /// `database.table`.
    pub id: String,
    /// Database name.
    pub database: String,
    /// Table name.
    pub table: String,
    /// Columns in declaration order.
    pub columns: Vec<ColumnSpec>,
    /// Primary key columns.
    pub key: Vec<String>,
    /// Number of shards (1 when not sharded).
    pub shards: u32,
    /// Sharding strategy.
    pub shard_by: ShardBySpec,
    /// `serial`, `uuid`, `snowflake` or `ulid`.
    pub ids: String,
}

/// One layer of a cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheLayerSpec {
    /// `memory` or `redis`.
    pub kind: String,
    /// Maximum entries (memory layers).
    pub entries: Option<u64>,
    /// Maximum bytes.
    pub size: Option<u64>,
    /// Time to live (None: until evicted).
    pub ttl_ms: Option<u64>,
    /// Redis cluster mode.
    #[serde(default)]
    pub cluster: bool,
}

/// A cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheSpec {
    /// Cache name.
    pub name: String,
    /// The table it fronts (`database.table`), if any.
    pub source: Option<String>,
    /// `cache_aside`, `read_through`, `write_through` or `write_behind`.
    pub pattern: String,
    /// Layers, L1 first.
    pub layers: Vec<CacheLayerSpec>,
    /// `none`, `single_flight`, `lock` or `stale_while_revalidate`.
    pub stampede: String,
    /// Refresh a key when this fraction of its ttl has passed.
    pub refresh_ahead: Option<f64>,
    /// Queues whose messages invalidate entries.
    #[serde(default)]
    pub invalidate_on: Vec<String>,
    /// Write-behind flush interval and batch.
    #[serde(default)]
    pub write_behind: Option<WriteBehindSpec>,
}

/// `write_behind { batch flush buffer }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBehindSpec {
    /// Rows per flush.
    pub batch: u32,
    /// Flush interval.
    pub flush_ms: u64,
    /// Queue carrying the buffered writes.
    pub buffer: Option<String>,
}

/// How a consumer treats each error class: `retry`, `dead_letter` or `discard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRoutingSpec {
    /// Transient errors.
    pub transient: String,
    /// Invalid messages.
    pub invalid: String,
    /// Business rule failures.
    pub business: String,
}

/// A queue the crate publishes to or consumes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueSpec {
    /// Queue name.
    pub name: String,
    /// `kafka`, `rabbitmq`, `redis` or `sqs`.
    pub engine: String,
    /// Retry policy of its consumers.
    pub retry: RetrySpec,
    /// Dead-letter queue.
    pub dead_letter: Option<String>,
    /// Error routing.
    pub errors: ErrorRoutingSpec,
    /// Delivery delay.
    pub delay_ms: u64,
    /// Priority levels (0: none).
    pub priority: u32,
    /// Message time to live.
    pub ttl_ms: Option<u64>,
    /// Maximum length.
    pub max_length: Option<u64>,
    /// Ordering key field.
    pub key: Option<String>,
}

/// A read or write target of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSpec {
    /// A cache (reads go through it to its source).
    Cache {
        /// Cache name.
        name: String,
    },
    /// A table, `database.table`.
    Table {
        /// Table id.
        id: String,
    },
    /// A whole database (no single table).
    Database {
        /// Database name.
        name: String,
    },
}

/// An outbound call `service.endpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSpec {
    /// Called service.
    pub service: String,
    /// Called endpoint.
    pub endpoint: String,
    /// Its HTTP method.
    pub method: String,
    /// Its path (with `:param` segments).
    pub path: String,
    /// True when the called endpoint is idempotent (only then is it retried).
    pub idempotent: bool,
}

/// An endpoint of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSpec {
    /// Endpoint name (also the handler function's name).
    pub name: String,
    /// HTTP method (None: not reachable over HTTP, e.g. a job-only endpoint without a route).
    pub method: Option<String>,
    /// Path with `:param` segments.
    pub path: Option<String>,
    /// What it reads.
    pub reads: Vec<TargetSpec>,
    /// What it writes.
    pub writes: Vec<TargetSpec>,
    /// Queues it publishes to.
    pub publishes: Vec<String>,
    /// Endpoints it calls.
    pub calls: Vec<CallSpec>,
    /// Time budget of the whole request.
    pub timeout_ms: u64,
    /// Retry of outbound calls.
    pub retry: Option<RetrySpec>,
    /// Breaker around outbound calls.
    pub breaker: Option<BreakerSpec>,
    /// Safe to retry.
    pub idempotent: bool,
    /// Limits checked before the endpoint runs.
    pub limits: Vec<String>,
    /// Kept when load is shed.
    pub critical: bool,
}

/// A queue consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerSpec {
    /// Consumer name (also the handler function's name).
    pub name: String,
    /// Queue consumed.
    pub from: String,
    /// Messages processed at once.
    pub concurrency: u32,
    /// Messages fetched per batch.
    pub batch: u32,
}

/// A scheduled job run by this service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Job name.
    pub name: String,
    /// Five-field cron expression (UTC).
    pub schedule: String,
    /// The endpoint it runs, if any.
    pub runs: Option<String>,
    /// Queues it publishes to.
    pub publishes: Vec<String>,
    /// Time budget of one run.
    pub timeout_ms: u64,
    /// Whether a run may start while the previous one is still running.
    pub overlap: bool,
}

/// Load shedding: above `at_cpu`, only critical endpoints are served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShedSpec {
    /// CPU fraction in `[0, 1]` above which non-critical requests are refused.
    pub at_cpu: f64,
    /// In-flight requests per instance above which non-critical requests are refused.
    pub max_in_flight: u32,
}

/// Another service this crate talks to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamSpec {
    /// Service name.
    pub name: String,
    /// Environment variable holding its base URL(s), comma separated.
    pub url_env: String,
    /// Default base URL on one machine.
    pub default_url: String,
    /// Health-check path.
    pub health_path: String,
}

/// Everything one service crate needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Service name.
    pub name: String,
    /// Listening port (overridden by `PORT`).
    pub port: u16,
    /// Health path (`/health` unless declared).
    pub health_path: String,
    /// Endpoints.
    pub endpoints: Vec<EndpointSpec>,
    /// Queue consumers.
    pub consumers: Vec<ConsumerSpec>,
    /// Jobs this service runs.
    pub jobs: Vec<JobSpec>,
    /// Limit policies its endpoints use.
    pub limits: Vec<LimitSpec>,
    /// Caches it reads or writes.
    pub caches: Vec<CacheSpec>,
    /// Tables it reads or writes (directly or through caches).
    pub tables: Vec<TableSpec>,
    /// Queues it publishes to or consumes.
    pub queues: Vec<QueueSpec>,
    /// Services it calls.
    pub upstreams: Vec<UpstreamSpec>,
    /// Load shedding.
    pub shed: Option<ShedSpec>,
    /// The program's Redis is a Redis Cluster (some cache layer says `cluster = true`):
    /// `REDIS_URL` names cluster nodes for every service and gateway of the program.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redis_cluster: bool,
    /// Largest accepted request body.
    pub body_limit: u64,
}

/// JWT, API-key or HMAC authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthSpec {
    /// `jwt`, `api_key` or `hmac`.
    pub kind: String,
    /// Expected `iss`.
    pub issuer: Option<String>,
    /// Expected `aud`.
    pub audience: Option<String>,
    /// Environment variable holding the secret / public key / key list.
    pub secret_env: Option<String>,
    /// API-key or signature header.
    pub header: Option<String>,
    /// HMAC replay window.
    pub window_ms: Option<u64>,
}

/// CORS policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorsSpec {
    /// Allowed origins (`*` for any).
    pub origins: Vec<String>,
    /// Allowed methods.
    pub methods: Vec<String>,
    /// Allowed request headers.
    pub headers: Vec<String>,
    /// Allow credentials.
    pub credentials: bool,
}

/// Security headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityHeadersSpec {
    /// Strict-Transport-Security.
    pub hsts: bool,
    /// Content-Security-Policy.
    pub csp: Option<String>,
    /// X-Frame-Options value (`DENY` / `SAMEORIGIN`).
    pub frame: String,
    /// X-Content-Type-Options: nosniff.
    pub nosniff: bool,
}

/// A route's response cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteCacheSpec {
    /// Time to live.
    pub ttl_ms: u64,
    /// Request headers the cached response varies on.
    pub vary: Vec<String>,
    /// One entry per authenticated user.
    pub per_user: bool,
}

/// A gateway route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: String,
    /// Path with `:param` segments or a trailing `*`.
    pub path: String,
    /// Upstream service.
    pub to: String,
    /// `none`, `optional` or the required scheme (`jwt`, `api_key`, `hmac`).
    pub auth: String,
    /// Permissions (JWT `scope`/`permissions` claims) required.
    pub permissions: Vec<String>,
    /// Limits checked for this route (after the gateway-wide ones).
    pub limits: Vec<String>,
    /// Time budget.
    pub timeout_ms: u64,
    /// Retry towards the upstream.
    pub retry: Option<RetrySpec>,
    /// Breaker towards the upstream.
    pub breaker: Option<BreakerSpec>,
    /// Response cache.
    pub cache: Option<RouteCacheSpec>,
    /// Headers set on the upstream request.
    pub set_headers: Vec<(String, String)>,
    /// Query parameters removed before forwarding.
    pub strip_query: Vec<String>,
    /// Kept when load is shed.
    pub critical: bool,
    /// Upgraded to a WebSocket.
    pub websocket: bool,
}

/// Canary release: a share of traffic to another service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanarySpec {
    /// Stable service.
    pub from: String,
    /// Canary service.
    pub to: String,
    /// Fraction of requests in `[0, 1]`.
    pub weight: f64,
    /// `none` or `cookie`.
    pub sticky: String,
}

/// API versioning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersioningSpec {
    /// `path` or `header`.
    pub by: String,
    /// Header name when by header.
    pub header: Option<String>,
    /// Known versions.
    pub versions: Vec<String>,
    /// The default version.
    pub default: Option<String>,
    /// Deprecated versions (answered with a `Deprecation` header).
    pub deprecated: Vec<String>,
}

/// A CDN behaviour served by the gateway's edge headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdnBehaviorSpec {
    /// Path pattern (`/assets/*`).
    pub pattern: String,
    /// Default ttl.
    pub ttl_ms: u64,
    /// Longest ttl.
    pub max_ttl_ms: u64,
    /// `immutable`.
    pub immutable: bool,
    /// Only the browser may cache.
    pub private: bool,
    /// stale-while-revalidate window.
    pub stale_while_revalidate_ms: Option<u64>,
    /// Headers varied on.
    pub vary: Vec<String>,
    /// Signed URLs required: environment variable with the key.
    pub signed_key_env: Option<String>,
}

/// CDN edge behaviour reproduced by the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdnSpec {
    /// CDN name.
    pub name: String,
    /// Behaviours, first match wins.
    pub behaviors: Vec<CdnBehaviorSpec>,
    /// Countries allowed (empty: all).
    pub geo_allow: Vec<String>,
    /// Countries refused.
    pub geo_deny: Vec<String>,
    /// Header carrying the client's country.
    pub country_header: String,
    /// Status → error page path.
    pub error_pages: Vec<(u16, String)>,
    /// How long a fetched error page is kept (`error_ttl`; 10 s when absent).
    #[serde(default)]
    pub error_ttl_ms: Option<u64>,
}

/// An upstream service behind a gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendSpec {
    /// Service name.
    pub name: String,
    /// Environment variable with comma-separated instance URLs.
    pub url_env: String,
    /// Default URL on one machine.
    pub default_url: String,
    /// Balancing algorithm.
    pub balance: String,
    /// Weights per instance (`weighted`).
    pub weights: Vec<u32>,
    /// Active health check path.
    pub health_path: String,
    /// Health check interval.
    pub health_interval_ms: u64,
    /// Health check timeout.
    pub health_timeout_ms: u64,
    /// Failures before an instance is taken out.
    pub unhealthy_after: u32,
    /// Successes before it is put back.
    pub healthy_after: u32,
}

/// Everything one gateway crate needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewaySpec {
    /// Gateway name.
    pub name: String,
    /// Listening port (overridden by `PORT`).
    pub port: u16,
    /// TLS declared (terminated in front of the binary; see the README).
    pub tls: bool,
    /// Largest accepted request body.
    pub body_limit: u64,
    /// Compress responses.
    pub compression: bool,
    /// Add/propagate `X-Request-Id`.
    pub request_id: bool,
    /// Gateway-wide limits.
    pub limits: Vec<String>,
    /// Auth schemes; the first is the default.
    pub auth: Vec<AuthSpec>,
    /// CORS.
    pub cors: Option<CorsSpec>,
    /// Security headers.
    pub headers: Option<SecurityHeadersSpec>,
    /// Routes, matched in order.
    pub routes: Vec<RouteSpec>,
    /// Canary releases.
    pub canaries: Vec<CanarySpec>,
    /// Versioning.
    pub versioning: Option<VersioningSpec>,
    /// CDN behaviours fronting this gateway.
    pub cdn: Option<CdnSpec>,
    /// Limit policies referenced by the gateway and its routes.
    pub limit_specs: Vec<LimitSpec>,
    /// Upstream services.
    pub backends: Vec<BackendSpec>,
    /// Load shedding.
    pub shed: Option<ShedSpec>,
    /// The program's Redis is a Redis Cluster (some cache layer says `cluster = true`):
    /// `REDIS_URL` names cluster nodes for every service and gateway of the program.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redis_cluster: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_round_trips_through_json() {
        let spec = LimitSpec {
            name: "per_ip".into(),
            rate: RateSpec {
                count: 100,
                per_ms: 60_000,
            },
            key: LimitKeySpec::Header("X-Tenant".into()),
            algorithm: AlgorithmSpec::SlidingWindow,
            burst: 10,
            block_ms: 0,
            distributed: false,
            cost: 1,
            tiers: vec![],
            countries: vec![(
                "US".into(),
                RateSpec {
                    count: 5,
                    per_ms: 1000,
                },
            )],
            allow: vec![],
            deny: vec!["10.0.0.0/8".into()],
            adaptive: None,
        };
        let text = serde_json::to_string(&spec).expect("serialises");
        assert!(text.contains(r#""key":{"header":"X-Tenant"}"#), "{text}");
        let back: LimitSpec = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, spec);
    }
}
