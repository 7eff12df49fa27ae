//! Pieces shared by several kinds: names, retry, backoff, circuit breaker, HTTP routes,
//! and the small helpers lowering uses for nested blocks and defaults.

use crate::diagnostic::Diagnostic;
use crate::model::reader::{int_of, keyword_of, quantity_of, Reader, Sink};
use crate::model::value::*;
use crate::model::Name;
use crate::syntax::ast::{Block, Value, ValueKind};
use crate::syntax::literal::Dimension;
use schemars::JsonSchema;
use serde::Serialize;

/// Lowers the single nested block `kind` with `f`, then reports its unknown attributes.
pub(crate) fn sub<T>(r: &Reader, kind: &'static str, f: impl FnOnce(&Reader) -> T) -> Option<T> {
    let b = r.block(kind)?;
    let inner = Reader::new(b, r.sink);
    let t = f(&inner);
    inner.finish();
    Some(t)
}

/// Lowers every nested block `kind` with `f`.
pub(crate) fn subs<T>(r: &Reader, kind: &'static str, mut f: impl FnMut(&Reader) -> T) -> Vec<T> {
    r.blocks(kind)
        .into_iter()
        .map(|b| {
            let inner = Reader::new(b, r.sink);
            let t = f(&inner);
            inner.finish();
            t
        })
        .collect()
}

/// A default value, located at the block head.
pub(crate) fn dflt<T>(r: &Reader, value: T) -> Spanned<T> {
    Spanned::default_at(value, r.head())
}

/// The name of a component from its block label (`service users`), checked for form.
pub(crate) fn component_name(block: &Block, sink: &Sink) -> Name {
    let Some(label) = block.labels.first() else {
        sink.push(
            Diagnostic::error(
                "A007",
                block.head,
                format!("a `{}` needs a name", block.kind.text),
            )
            .with_primary_label("name missing")
            .with_help(format!("write `{} my_name {{ ... }}`", block.kind.text)),
        );
        return Spanned::new(String::new(), block.head);
    };
    check_name(&label.text, label.span, sink);
    if let Some(extra) = block.labels.get(1) {
        sink.push(
            Diagnostic::error(
                "A001",
                extra.span,
                format!("a `{}` takes one name", block.kind.text),
            )
            .with_primary_label("extra label")
            .with_help("remove the second label"),
        );
    }
    Spanned::new(normalize(&label.text), label.span)
}

/// The label of a nested named block (`endpoint get_user`, `consumes x`, `chaos y`).
pub(crate) fn member_name(r: &Reader) -> Name {
    component_name(r.block, r.sink)
}

/// Names are `[a-z][a-z0-9_-]*`, at most 48 characters.
pub(crate) fn check_name(text: &str, span: crate::source::Span, sink: &Sink) {
    let mut chars = text.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !well_formed {
        let fixed: String = text
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        sink.push(
            Diagnostic::error("A001", span, format!("`{text}` is not a valid name"))
                .with_primary_label(
                    "names are lowercase letters, digits, `_` and `-`, starting with a letter",
                )
                .with_help(format!("write `{fixed}`")),
        );
    } else if text.len() > 48 {
        sink.push(
            Diagnostic::error(
                "A001",
                span,
                format!("`{text}` is longer than 48 characters"),
            )
            .with_primary_label("name too long")
            .with_help("use a shorter name"),
        );
    }
}

keyword_enum! {
    /// HTTP methods a route or endpoint may name.
    Method { Get = "GET", Post = "POST", Put = "PUT", Patch = "PATCH", Delete = "DELETE", Head = "HEAD", Options = "OPTIONS" }
}

impl Method {
    /// GET, PUT, DELETE, HEAD and OPTIONS may be repeated safely.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }
}

/// `"GET /api/users/:id"` or `"/api/*"`, split.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HttpRoute {
    /// None matches every method.
    pub method: Option<Method>,
    pub path: String,
}

impl HttpRoute {
    /// True when this pattern matches every request `other` matches.
    pub fn covers(&self, other: &HttpRoute) -> bool {
        let method_ok = self.method.is_none() || self.method == other.method;
        method_ok && path_covers(&self.path, &other.path)
    }

    /// True when a concrete request path would match this pattern.
    pub fn matches_path(&self, path: &str) -> bool {
        path_covers(&self.path, path)
    }

    /// `GET /x` as written.
    pub fn display(&self) -> String {
        match self.method {
            Some(m) => format!("{m} {}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Does pattern `a` match every path pattern `b` matches? (`:param` matches one segment,
/// a trailing `*` any rest.)
pub fn path_covers(a: &str, b: &str) -> bool {
    // Iterates segments lazily: this runs for every (route, endpoint) pair.
    let mut sa = a.trim_matches('/').split('/').peekable();
    let mut sb = b.trim_matches('/').split('/');
    while let Some(seg) = sa.next() {
        if seg == "*" && sa.peek().is_none() {
            return true;
        }
        let Some(other) = sb.next() else {
            return false;
        };
        if other == "*" {
            return false;
        }
        if seg.starts_with(':') {
            continue;
        }
        if other.starts_with(':') || seg != other {
            return false;
        }
    }
    sb.next().is_none()
}

/// Parses `"GET /path"` or `"/path"`; reports A005 for a malformed pattern.
pub(crate) fn http_route(r: &Reader, attr: &str, text: &Spanned<String>) -> HttpRoute {
    let t = text.value.trim();
    let (method, path) = match t.split_once(' ') {
        Some((m, p)) => (Some(m), p.trim()),
        None => (None, t),
    };
    let method = method.and_then(|m| match Method::from_word(&m.to_uppercase()) {
        Some(x) => Some(x),
        None => {
            r.sink.push(
                Diagnostic::error("A005", text.span, format!("`{m}` is not an HTTP method"))
                    .with_primary_label("unknown method")
                    .with_help(format!(
                        "{}write `{attr} = \"GET /path\"` with one of {}",
                        crate::diagnostic::closest(
                            &m.to_uppercase(),
                            Method::WORDS.iter().copied()
                        )
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default(),
                        Method::WORDS.join(", ")
                    )),
            );
            None
        }
    });
    if !path.starts_with('/') {
        r.sink.push(
            Diagnostic::error("A005", text.span, format!("`{t}` is not a route pattern"))
                .with_primary_label("the path must start with `/`")
                .with_help(format!(
                    "write `{attr} = \"GET /{}\"`",
                    path.trim_start_matches('/')
                )),
        );
    }
    HttpRoute {
        method,
        path: path.to_string(),
    }
}

/// How long to wait between attempts.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Backoff {
    /// `fixed(1s)`.
    Fixed { delay_ms: f64 },
    /// `exponential(1s, max = 5m)`.
    Exponential { base_ms: f64, max_ms: Option<f64> },
}

/// `retry { attempts backoff on jitter }`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Retry {
    pub attempts: Spanned<u32>,
    pub backoff: Option<Spanned<Backoff>>,
    /// Status codes or conditions that are retried (empty: the defaults of the runtime).
    pub on: Vec<RetryOn>,
    pub jitter: Spanned<Percent>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: crate::source::Span,
}

/// A condition a retry applies to.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RetryOn {
    Status(u16),
    Condition(RetryCondition),
}

keyword_enum! {
    /// Retry conditions other than status codes.
    RetryCondition { Timeout = "timeout", Connect = "connect" }
}

/// Lowers a `retry` block; `attempts` defaults to `default_attempts`.
pub(crate) fn retry(r: &Reader, default_attempts: u32, default_backoff: Option<Backoff>) -> Retry {
    let on = match r.attr("on") {
        Some(a) => crate::model::reader::list_items(r, "on", &a.value)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| match &v.kind {
                ValueKind::Quantity(q)
                    if q.dimension == Dimension::Count && q.per_seconds.is_none() =>
                {
                    if (100.0..=599.0).contains(&q.value) && q.value.fract() == 0.0 {
                        Some(RetryOn::Status(q.value as u16))
                    } else {
                        r.out_of_range(
                            v.span,
                            format!("{} is not an HTTP status code", q.value),
                            "write a status such as 502, 503 or 504",
                        );
                        None
                    }
                }
                _ => keyword_of::<RetryCondition>(r, "on", v).map(|k| RetryOn::Condition(k.value)),
            })
            .collect(),
        None => Vec::new(),
    };
    Retry {
        attempts: r
            .int("attempts", 0)
            .unwrap_or_else(|| dflt(r, default_attempts)),
        backoff: backoff(r, "backoff").or_else(|| default_backoff.map(|b| dflt(r, b))),
        on,
        jitter: r
            .percent("jitter")
            .unwrap_or_else(|| dflt(r, Percent(20.0))),
        span: r.head(),
    }
}

/// `fixed(d)` or `exponential(base, max = d)`.
pub(crate) fn backoff(r: &Reader, name: &'static str) -> Option<Spanned<Backoff>> {
    let a = r.attr(name)?;
    let bad = |r: &Reader, v: &Value| {
        r.wrong_type(name, v, "`fixed(1s)` or `exponential(1s, max = 5m)`");
        None
    };
    let ValueKind::Call { name: f, args } = &a.value.kind else {
        return bad(r, &a.value);
    };
    let duration = |v: &Value| {
        quantity_of(
            r,
            name,
            v,
            Dimension::Duration,
            false,
            "a duration such as 1s",
        )
        .map(|q| q.0)
    };
    let positional: Vec<&Value> = args
        .iter()
        .filter(|a| a.name.is_none())
        .map(|a| &a.value)
        .collect();
    let named = |n: &str| {
        args.iter()
            .find(|a| a.name.as_ref().is_some_and(|x| x.text == n))
            .map(|a| &a.value)
    };
    for arg in args {
        if let Some(n) = &arg.name {
            if n.text != "max" || f.text != "exponential" {
                r.sink.push(
                    Diagnostic::error("A002", n.span, format!("`{}` takes no argument `{}`", f.text, n.text))
                        .with_primary_label("unknown argument")
                        .with_help("`exponential(base, max = d)` takes `max`; `fixed(d)` takes only a duration"),
                );
            }
        }
    }
    let value = match (f.text.as_str(), positional.as_slice()) {
        ("fixed", [d]) => Backoff::Fixed {
            delay_ms: duration(d)?,
        },
        ("exponential", [base]) => Backoff::Exponential {
            base_ms: duration(base)?,
            max_ms: named("max").and_then(duration),
        },
        _ => return bad(r, &a.value),
    };
    Some(Spanned::new(value, a.value.span))
}

/// `breaker { failures reset half_open }`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Breaker {
    pub failures: Spanned<u32>,
    pub reset: Spanned<Millis>,
    pub half_open: Spanned<u32>,
}

pub(crate) fn breaker(r: &Reader) -> Breaker {
    Breaker {
        failures: r.int("failures", 1).unwrap_or_else(|| dflt(r, 5)),
        reset: r
            .positive_duration("reset")
            .unwrap_or_else(|| dflt(r, Millis(30_000.0))),
        half_open: r.int("half_open", 1).unwrap_or_else(|| dflt(r, 3)),
    }
}

/// `replicas = 3` or `replicas = 2..10`, at least `min`.
pub(crate) fn replicas(r: &Reader, min: i64, default: u32) -> Spanned<Replicas> {
    let Some(a) = r.attr("replicas") else {
        return dflt(r, Replicas::fixed(default));
    };
    match &a.value.kind {
        ValueKind::Range(lo, hi) => {
            let lo = int_of(r, "replicas", lo, min);
            let hi = int_of(r, "replicas", hi, min);
            match (lo, hi) {
                (Some(lo), Some(hi)) => Spanned::new(
                    Replicas {
                        min: lo.value,
                        max: hi.value,
                    },
                    a.value.span,
                ),
                _ => dflt(r, Replicas::fixed(default)),
            }
        }
        _ => match int_of(r, "replicas", &a.value, min) {
            Some(n) => Spanned::new(Replicas::fixed(n.value), a.value.span),
            None => dflt(r, Replicas::fixed(default)),
        },
    }
}

/// An attribute that is required: reports A007 when absent.
pub(crate) fn required<T>(r: &Reader, name: &str, example: &str, v: Option<T>) -> Option<T> {
    if v.is_none() && !r.block.items.iter().any(|i| matches!(i, crate::syntax::ast::Item::Attribute(a) if normalize(&a.key.text) == name)) {
        r.missing(name, example);
    }
    v
}
