//! Conversions shared by the service and gateway specs: rates, retries, breakers, limits,
//! tables, caches and queues, from the IR's types to the runtime's `spec` types.

use crate::model::*;
use archc_runtime::spec::*;

/// Milliseconds as a whole number (durations in the IR are `f64`).
pub fn ms(m: Millis) -> u64 {
    if m.0.is_finite() && m.0 > 0.0 {
        m.0.round() as u64
    } else {
        0
    }
}

/// Bytes as a whole number.
pub fn bytes(b: Bytes) -> u64 {
    if b.0.is_finite() && b.0 > 0.0 {
        b.0.round() as u64
    } else {
        0
    }
}

/// An IR rate as `count` per `per_ms`, keeping whole counts where the source had them
/// (`6_000/min` stays 6000 per 60000 ms rather than 100 per second).
pub fn rate(r: &Rate) -> RateSpec {
    let per_ms = (r.window_s * 1000.0).round().max(1.0) as u64;
    let count = if r.amount.fract() == 0.0 {
        r.amount.max(0.0) as u64
    } else {
        // A fractional amount (`0.5/s`): scale the window so the count is whole.
        let scaled = (r.amount * 1000.0).round().max(0.0) as u64;
        return RateSpec {
            count: scaled,
            per_ms: per_ms.saturating_mul(1000),
        };
    };
    RateSpec { count, per_ms }
}

/// An IR backoff; `max` defaults to 32 times the base, as the runtime's queue default does.
pub fn backoff(b: Option<&Spanned<Backoff>>, default: BackoffSpec) -> BackoffSpec {
    match b.map(|b| &b.value) {
        Some(Backoff::Fixed { delay_ms }) => BackoffSpec::Fixed {
            base_ms: ms(Millis(*delay_ms)),
        },
        Some(Backoff::Exponential { base_ms, max_ms }) => BackoffSpec::Exponential {
            base_ms: ms(Millis(*base_ms)),
            max_ms: ms(Millis(max_ms.unwrap_or(base_ms * 32.0))),
        },
        None => default,
    }
}

/// A retry block.
pub fn retry(r: &Retry, default: BackoffSpec) -> RetrySpec {
    let mut statuses = Vec::new();
    let (mut on_timeout, mut on_connect) = (false, false);
    for on in &r.on {
        match on {
            RetryOn::Status(s) => statuses.push(*s),
            RetryOn::Condition(RetryCondition::Timeout) => on_timeout = true,
            RetryOn::Condition(RetryCondition::Connect) => on_connect = true,
        }
    }
    if r.on.is_empty() {
        // No `on` list: the usual transient failures.
        statuses = vec![502, 503, 504];
        on_timeout = true;
        on_connect = true;
    }
    RetrySpec {
        attempts: r.attempts.value,
        backoff: backoff(r.backoff.as_ref(), default),
        jitter: r.jitter.value.fraction().clamp(0.0, 1.0),
        statuses,
        on_timeout,
        on_connect,
    }
}

/// A breaker block.
pub fn breaker(b: &Breaker) -> BreakerSpec {
    BreakerSpec {
        failures: b.failures.value,
        reset_ms: ms(b.reset.value),
        half_open: b.half_open.value,
    }
}

/// A limit policy; `replicated` says whether the crate enforcing it runs more than one
/// instance, which makes a limit without `scope` distributed.
pub fn limit(l: &Limit, replicated: bool) -> LimitSpec {
    let base = l.rate.as_ref().map(|r| rate(&r.value)).unwrap_or(RateSpec {
        count: 0,
        per_ms: 1000,
    });
    let keyed = |rates: &[KeyedRate]| -> Vec<(String, RateSpec)> {
        rates
            .iter()
            .map(|k| (k.key.clone(), rate(&k.rate.value)))
            .collect()
    };
    LimitSpec {
        name: l.name.value.clone(),
        rate: base,
        key: match &l.key.value {
            LimitKey::Word(KeyWord::Ip) => LimitKeySpec::Ip,
            LimitKey::Word(KeyWord::User) => LimitKeySpec::User,
            LimitKey::Word(KeyWord::ApiKey) => LimitKeySpec::ApiKey,
            LimitKey::Word(KeyWord::Endpoint) => LimitKeySpec::Endpoint,
            LimitKey::Word(KeyWord::Global) => LimitKeySpec::Global,
            LimitKey::Header(h) => LimitKeySpec::Header(h.clone()),
        },
        algorithm: match l.algorithm.value {
            Algorithm::FixedWindow => AlgorithmSpec::FixedWindow,
            Algorithm::SlidingWindow => AlgorithmSpec::SlidingWindow,
            Algorithm::TokenBucket => AlgorithmSpec::TokenBucket,
            Algorithm::LeakyBucket => AlgorithmSpec::LeakyBucket,
        },
        burst: u64::from(l.burst.value),
        block_ms: ms(l.block.value),
        distributed: match l.scope.as_ref().map(|s| s.value) {
            Some(Scope::Distributed) => true,
            Some(Scope::Local) => false,
            None => replicated,
        },
        cost: u64::from(l.cost.value),
        tiers: keyed(&l.tiers),
        countries: keyed(&l.countries),
        allow: l.allow.clone(),
        deny: l.deny.clone(),
        adaptive: l.adaptive.as_ref().map(|a| AdaptiveSpec {
            min: a.min.as_ref().map(|r| rate(&r.value)).unwrap_or(base),
            max: a.max.as_ref().map(|r| rate(&r.value)).unwrap_or(base),
            on: a.on.value.to_string(),
        }),
    }
}

/// The SQL type of a column as written in `.arch`.
pub fn sql_type(t: &ColumnType) -> String {
    match t {
        ColumnType::Varchar(n) => format!("varchar({n})"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    }
}

/// A table of a database.
pub fn table(db: &Database, t: &Table) -> TableSpec {
    let shard_by = match db.shard_by.as_ref().map(|s| &s.value) {
        None => ShardBySpec::None,
        Some(ShardBy::Hash { column }) => ShardBySpec::Hash {
            column: column.value.clone(),
        },
        Some(ShardBy::Range { column, boundaries }) => ShardBySpec::Range {
            column: column.value.clone(),
            bounds: boundaries
                .value
                .iter()
                .map(|b| match &b.value {
                    Boundary::Number(n) => figure(*n),
                    Boundary::Text(s) => s.clone(),
                })
                .collect(),
        },
        Some(ShardBy::Directory { column }) => ShardBySpec::Directory {
            column: column.value.clone(),
        },
        Some(ShardBy::Geo { column, map, .. }) => ShardBySpec::Geo {
            column: column.value.clone(),
            regions: map
                .iter()
                .map(|g| (g.region.value.clone(), g.shard.value.max(0) as u32))
                .collect(),
        },
    };
    TableSpec {
        id: format!("{}.{}", db.name.value, t.name.value),
        database: db.name.value.clone(),
        table: t.name.value.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| ColumnSpec {
                name: c.name.value.clone(),
                sql_type: sql_type(&c.ty),
            })
            .collect(),
        key: t.key.iter().map(|k| k.value.clone()).collect(),
        shards: db.shards.value.max(1),
        shard_by,
        ids: db.ids.value.to_string(),
    }
}

/// A cache.
pub fn cache(c: &Cache) -> CacheSpec {
    CacheSpec {
        name: c.name.value.clone(),
        source: c.source.as_ref().and_then(|s| match s {
            Target::Member(p) => Some(p.parts.join(".")),
            Target::Component(_) => None,
        }),
        pattern: c.pattern.value.to_string(),
        layers: c
            .layers
            .iter()
            .map(|l| CacheLayerSpec {
                kind: l.kind.value.to_string(),
                entries: l.entries.as_ref().map(|e| u64::from(e.value)),
                size: l
                    .size
                    .as_ref()
                    .or(l.memory.as_ref())
                    .map(|s| bytes(s.value)),
                ttl_ms: l.ttl.as_ref().map(|t| ms(t.value)),
                cluster: l.cluster.value,
            })
            .collect(),
        stampede: c.stampede.value.to_string(),
        refresh_ahead: c.refresh_ahead.as_ref().map(|r| r.value.fraction()),
        invalidate_on: c
            .invalidate
            .as_ref()
            .map(|i| i.on.iter().map(|q| q.name.clone()).collect())
            .unwrap_or_default(),
        write_behind: c.write_behind.as_ref().map(|w| WriteBehindSpec {
            batch: w.batch.value,
            flush_ms: ms(w.flush.value),
            buffer: w.buffer.as_ref().map(|b| b.name.clone()),
        }),
    }
}

/// A queue.
pub fn queue(q: &Queue) -> QueueSpec {
    let default_backoff = BackoffSpec::Exponential {
        base_ms: 1000,
        max_ms: 300_000,
    };
    let no_retry = RetrySpec {
        attempts: 0,
        backoff: default_backoff,
        jitter: 0.2,
        statuses: Vec::new(),
        on_timeout: false,
        on_connect: false,
    };
    let action = |a: ErrorAction| a.to_string();
    QueueSpec {
        name: q.name.value.clone(),
        engine: q.engine.value.to_string(),
        retry: q
            .retry
            .as_ref()
            .map(|r| retry(r, default_backoff))
            .unwrap_or(no_retry),
        dead_letter: q.dead_letter.as_ref().map(|d| d.name.clone()),
        errors: match &q.errors {
            Some(e) => ErrorRoutingSpec {
                transient: action(e.transient),
                invalid: action(e.invalid),
                business: action(e.business),
            },
            None => ErrorRoutingSpec {
                transient: "retry".into(),
                invalid: "dead_letter".into(),
                business: "dead_letter".into(),
            },
        },
        delay_ms: q.delay.as_ref().map(|d| ms(d.value)).unwrap_or(0),
        priority: q.priority.as_ref().map(|p| p.value).unwrap_or(0),
        ttl_ms: q.ttl.as_ref().map(|t| ms(t.value)),
        max_length: q.max_length.as_ref().map(|m| u64::from(m.value)),
        key: q.key.as_ref().map(|k| k.value.clone()),
    }
}

/// The environment variable holding a service's base URL(s): `ORDERS_URL`.
pub fn url_env(service: &str) -> String {
    format!("{}_URL", service.to_uppercase())
}

/// The default base URL of a service on one machine.
pub fn local_url(service: &Service) -> String {
    format!("http://127.0.0.1:{}", service.port.value)
}

/// The health path of a service.
pub fn health_path(service: &Service) -> String {
    if service.health.path.is_empty() {
        "/health".to_string()
    } else {
        service.health.path.clone()
    }
}
