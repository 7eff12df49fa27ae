//! `limit`: a named rate-limit policy attached by reference to gateways, routes and endpoints.

use super::common::*;
use crate::diagnostic::Diagnostic;
use crate::model::reader::{keyword_of, rate_of, Reader, Sink};
use crate::model::value::*;
use crate::model::Name;
use crate::syntax::ast::{Block, ValueKind};
use schemars::JsonSchema;
use serde::Serialize;

keyword_enum! {
    /// What a limit counts by.
    KeyWord { Ip = "ip", User = "user", ApiKey = "api_key", Endpoint = "endpoint", Global = "global" }
}

/// What is counted: a keyword or `header("X-Tenant")`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LimitKey {
    Word(KeyWord),
    Header(String),
}

keyword_enum! {
    /// Rate-limit algorithms (seed §7).
    Algorithm { FixedWindow = "fixed_window", SlidingWindow = "sliding_window", TokenBucket = "token_bucket", LeakyBucket = "leaky_bucket" }
}
keyword_enum! {
    /// Where counters live.
    Scope { Local = "local", Distributed = "distributed" }
}
keyword_enum! {
    /// What adaptive limits react to.
    AdaptiveSignal { Latency = "latency", Errors = "errors", Cpu = "cpu" }
}

/// `adaptive { min max on }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Adaptive {
    pub min: Option<Spanned<Rate>>,
    pub max: Option<Spanned<Rate>>,
    pub on: Spanned<AdaptiveSignal>,
}

/// A keyed rate (`premium = 1000/min`, `US = 100/min`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KeyedRate {
    pub key: String,
    pub rate: Spanned<Rate>,
}

/// A limit policy.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Limit {
    pub name: Name,
    pub rate: Option<Spanned<Rate>>,
    pub key: Spanned<LimitKey>,
    pub algorithm: Spanned<Algorithm>,
    /// Bucket capacity; defaults to the rate per second, at least 1.
    pub burst: Spanned<u32>,
    pub block: Spanned<Millis>,
    /// None: distributed when the target has more than one replica.
    pub scope: Option<Spanned<Scope>>,
    pub cost: Spanned<u32>,
    pub tiers: Vec<KeyedRate>,
    #[serde(skip)]
    #[schemars(skip)]
    pub tiers_span: Option<crate::source::Span>,
    pub countries: Vec<KeyedRate>,
    pub deny: Vec<String>,
    pub allow: Vec<String>,
    pub adaptive: Option<Adaptive>,
}

fn keyed_rates(r: &Reader, kind: &'static str) -> (Vec<KeyedRate>, Option<crate::source::Span>) {
    let Some(b) = r.block(kind) else {
        return (Vec::new(), None);
    };
    let inner = Reader::map_like(b, r.sink);
    let out = inner
        .entries()
        .into_iter()
        .filter_map(|a| {
            rate_of(&inner, &a.key.text, &a.value, RateUnit::Count).map(|rate| KeyedRate {
                key: a.key.text.clone(),
                rate,
            })
        })
        .collect();
    inner.finish();
    (out, Some(b.head))
}

pub(crate) fn lower_limit(block: &Block, sink: &Sink) -> Limit {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let rate = required(&r, "rate", "100/min", r.rate("rate", RateUnit::Count));
    let key = match r.attr("key") {
        None => dflt(&r, LimitKey::Word(KeyWord::Ip)),
        Some(a) => match &a.value.kind {
            ValueKind::Call { name: f, args } if f.text == "header" => match args.as_slice() {
                [arg] if arg.name.is_none() => match &arg.value.kind {
                    ValueKind::String(h) => Spanned::new(LimitKey::Header(h.clone()), a.value.span),
                    _ => {
                        r.wrong_type(
                            "key",
                            &a.value,
                            "`header(\"X-Tenant\")` with a header name string",
                        );
                        dflt(&r, LimitKey::Word(KeyWord::Ip))
                    }
                },
                _ => {
                    r.wrong_type(
                        "key",
                        &a.value,
                        "`header(\"X-Tenant\")` with one header name",
                    );
                    dflt(&r, LimitKey::Word(KeyWord::Ip))
                }
            },
            ValueKind::Call { name: f, .. } => {
                sink.push(
                    Diagnostic::error(
                        "A005",
                        f.span,
                        format!("`{}(...)` is not a limit key", f.text),
                    )
                    .with_primary_label("unknown key function")
                    .with_help(
                        "a key is ip, user, api_key, endpoint, global or header(\"X-Name\")",
                    ),
                );
                dflt(&r, LimitKey::Word(KeyWord::Ip))
            }
            _ => keyword_of::<KeyWord>(&r, "key", &a.value)
                .map(|k| Spanned::new(LimitKey::Word(k.value), k.span))
                .unwrap_or_else(|| dflt(&r, LimitKey::Word(KeyWord::Ip))),
        },
    };
    let default_burst = rate
        .as_ref()
        .map(|r| r.per_second().ceil().max(1.0) as u32)
        .unwrap_or(1);
    let (tiers, tiers_span) = keyed_rates(&r, "tiers");
    let (countries, _) = keyed_rates(&r, "countries");
    let limit = Limit {
        name,
        key,
        algorithm: r
            .keyword("algorithm")
            .unwrap_or_else(|| dflt(&r, Algorithm::TokenBucket)),
        burst: r.int("burst", 1).unwrap_or_else(|| dflt(&r, default_burst)),
        block: r.duration("block").unwrap_or_else(|| dflt(&r, Millis(0.0))),
        scope: r.keyword("scope"),
        cost: r.int("cost", 1).unwrap_or_else(|| dflt(&r, 1)),
        tiers,
        tiers_span,
        countries,
        deny: r.strings("deny").map(|s| s.value).unwrap_or_default(),
        allow: r.strings("allow").map(|s| s.value).unwrap_or_default(),
        adaptive: sub(&r, "adaptive", |a| Adaptive {
            min: a.rate("min", RateUnit::Count),
            max: a.rate("max", RateUnit::Count),
            on: a
                .keyword("on")
                .unwrap_or_else(|| dflt(a, AdaptiveSignal::Latency)),
        }),
        rate,
    };
    r.finish();
    limit
}

impl Limit {
    /// The counting window in milliseconds (the rate's window).
    pub fn window_ms(&self) -> Option<f64> {
        self.rate.as_ref().map(|r| r.window_s * 1000.0)
    }
    /// True when the key needs an authenticated user.
    pub fn keyed_by(&self, word: KeyWord) -> bool {
        self.key.value == LimitKey::Word(word)
    }
}
