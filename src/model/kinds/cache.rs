//! `cache`: layers (memory, redis), pattern, sizing, stampede protection, invalidation.

use super::common::*;
use crate::diagnostic::Diagnostic;
use crate::model::reader::{Member, Reader, Sink};
use crate::model::value::*;
use crate::model::{Kind, Name};
use crate::syntax::ast::{Block, ValueKind};
use schemars::JsonSchema;
use serde::Serialize;

keyword_enum! {
    /// Cache patterns (seed §3).
    Pattern { CacheAside = "cache_aside", ReadThrough = "read_through", WriteThrough = "write_through", WriteBehind = "write_behind" }
}
keyword_enum! {
    /// Stampede protection.
    Stampede { None = "none", SingleFlight = "single_flight", Lock = "lock", StaleWhileRevalidate = "stale_while_revalidate" }
}
keyword_enum! {
    /// Redis eviction policies.
    Eviction { AllkeysLru = "allkeys_lru", AllkeysLfu = "allkeys_lfu", VolatileLru = "volatile_lru", Noeviction = "noeviction" }
}
keyword_enum! {
    /// Layer kinds.
    LayerKind { Memory = "memory", Redis = "redis" }
}

/// One cache layer (L1 first).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CacheLayer {
    pub kind: Spanned<LayerKind>,
    pub entries: Option<Spanned<u32>>,
    pub size: Option<Spanned<Bytes>>,
    pub ttl: Option<Spanned<Millis>>,
    /// True when `ttl` was written, even if its value was rejected (so rules that look for
    /// a missing TTL do not repeat a type error).
    #[serde(skip)]
    #[schemars(skip)]
    pub ttl_written: bool,
    pub nodes: Spanned<u32>,
    pub memory: Option<Spanned<Bytes>>,
    pub eviction: Spanned<Eviction>,
    pub cluster: Spanned<bool>,
}

/// `invalidate { on version manual }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Invalidate {
    pub on: Vec<Ref>,
    pub version: bool,
    pub manual: bool,
}

/// `write_behind { batch flush buffer }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WriteBehind {
    pub batch: Spanned<u32>,
    pub flush: Spanned<Millis>,
    pub buffer: Option<Ref>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: crate::source::Span,
}

/// A cache.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Cache {
    pub name: Name,
    pub source: Option<Target>,
    pub pattern: Spanned<Pattern>,
    pub keys: Option<Spanned<u32>>,
    pub value: Option<Spanned<Bytes>>,
    pub hit_ratio: Option<Spanned<Percent>>,
    /// Zipf exponent of `popularity = zipf(s)`.
    pub popularity: Option<Spanned<f64>>,
    pub layers: Vec<CacheLayer>,
    pub stampede: Spanned<Stampede>,
    pub refresh_ahead: Option<Spanned<Percent>>,
    pub invalidate: Option<Invalidate>,
    pub write_behind: Option<WriteBehind>,
}

pub(crate) fn lower_cache(block: &Block, sink: &Sink) -> Cache {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let popularity = r.attr("popularity").and_then(|a| match &a.value.kind {
        ValueKind::Call { name, args }
            if name.text == "zipf" && args.len() == 1 && args[0].name.is_none() =>
        {
            match &args[0].value.kind {
                ValueKind::Quantity(q)
                    if q.dimension == crate::syntax::literal::Dimension::Count
                        && q.per_seconds.is_none()
                        && q.value > 0.0 =>
                {
                    Some(Spanned::new(q.value, a.value.span))
                }
                _ => {
                    r.out_of_range(
                        args[0].value.span,
                        "the Zipf exponent must be a positive number".into(),
                        "write `zipf(0.9)`",
                    );
                    None
                }
            }
        }
        _ => {
            r.wrong_type(
                "popularity",
                &a.value,
                "`zipf(s)` with an exponent such as 0.9",
            );
            None
        }
    });
    let layers = r
        .blocks("layer")
        .into_iter()
        .filter_map(|b| {
            let l = Reader::new(b, sink);
            let Some(label) = b.labels.first() else {
                sink.push(
                    Diagnostic::error("A007", b.head, "a `layer` needs its kind")
                        .with_primary_label("kind missing")
                        .with_help("write `layer memory { ... }` or `layer redis { ... }`"),
                );
                return None;
            };
            let Some(kind) = LayerKind::from_word(&label.text) else {
                sink.push(
                    Diagnostic::error(
                        "A002",
                        label.span,
                        format!("`{}` is not a cache layer kind", label.text),
                    )
                    .with_primary_label("unknown layer kind")
                    .with_help(format!(
                        "{}layers are `memory` and `redis`",
                        crate::diagnostic::closest(&label.text, LayerKind::WORDS.iter().copied())
                            .map(|c| format!("did you mean `{c}`? "))
                            .unwrap_or_default()
                    )),
                );
                return None;
            };
            let is_redis = kind == LayerKind::Redis;
            let layer = CacheLayer {
                kind: Spanned::new(kind, label.span),
                entries: l.int("entries", 1),
                size: if is_redis { None } else { l.size("size") },
                // Optional (unlike language.md's `*`): a layer without a TTL is legitimate when
                // the cache is invalidated, and A202 warns when it is not.
                ttl: l.positive_duration("ttl"),
                ttl_written: l.attr("ttl").is_some(),
                nodes: if is_redis {
                    l.int("nodes", 1).unwrap_or_else(|| dflt(&l, 1))
                } else {
                    dflt(&l, 1)
                },
                memory: if is_redis { l.size("memory") } else { None },
                eviction: if is_redis {
                    l.keyword("eviction")
                        .unwrap_or_else(|| dflt(&l, Eviction::AllkeysLru))
                } else {
                    dflt(&l, Eviction::AllkeysLru)
                },
                cluster: if is_redis {
                    l.bool("cluster").unwrap_or_else(|| dflt(&l, false))
                } else {
                    dflt(&l, false)
                },
            };
            l.finish();
            Some(layer)
        })
        .collect();
    let cache = Cache {
        name,
        source: r.target("source", &[Kind::Database], &[Member::Table]),
        pattern: r
            .keyword("pattern")
            .unwrap_or_else(|| dflt(&r, Pattern::CacheAside)),
        keys: r.int("keys", 1),
        value: r.size("value"),
        hit_ratio: r.percent("hit_ratio"),
        popularity,
        layers,
        stampede: r
            .keyword("stampede")
            .unwrap_or_else(|| dflt(&r, Stampede::SingleFlight)),
        refresh_ahead: r.percent("refresh_ahead"),
        invalidate: sub(&r, "invalidate", |i| Invalidate {
            on: i
                .references("on", &[Kind::Queue])
                .map(|v| v.value)
                .unwrap_or_default(),
            version: i.bool("version").map(|b| b.value).unwrap_or(false),
            manual: i.bool("manual").map(|b| b.value).unwrap_or(false),
        }),
        write_behind: sub(&r, "write_behind", |w| WriteBehind {
            batch: w.int("batch", 1).unwrap_or_else(|| dflt(w, 100)),
            flush: w
                .positive_duration("flush")
                .unwrap_or_else(|| dflt(w, Millis(1_000.0))),
            buffer: w.reference("buffer", &[Kind::Queue]),
            span: w.head(),
        }),
    };
    r.finish();
    cache
}

impl Cache {
    /// The database the cache fronts.
    pub fn source_database(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.component())
    }
}
