//! `cdn`: origin, cache behaviours per path pattern, signed URLs, geo rules, error pages.

use super::common::*;
use crate::diagnostic::Diagnostic;
use crate::model::reader::{Reader, Sink};
use crate::model::value::*;
use crate::model::{Kind, Name};
use crate::syntax::ast::{Block, KeyForm, ValueKind};
use schemars::JsonSchema;
use serde::Serialize;

keyword_enum! {
    /// Cookie forwarding.
    Cookies { None = "none", All = "all" }
}

/// `behavior "PATTERN" { ... }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Behavior {
    pub pattern: Spanned<String>,
    pub min_ttl: Option<Spanned<Millis>>,
    pub ttl: Option<Spanned<Millis>>,
    pub max_ttl: Option<Spanned<Millis>>,
    pub compress: bool,
    pub immutable: bool,
    pub cookies: Cookies,
    pub query: bool,
    pub headers: Vec<String>,
    pub stale_while_revalidate: Option<Spanned<Millis>>,
    pub private: Spanned<bool>,
    #[serde(skip)]
    #[schemars(skip)]
    pub head: crate::source::Span,
}

/// `signed { expires key }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Signed {
    pub expires: Option<Spanned<Millis>>,
    pub key: Option<Spanned<Secret>>,
}

/// `geo { allow deny }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GeoRules {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

/// A status code and the page served for it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorPage {
    pub status: u16,
    pub page: String,
}

/// A CDN.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Cdn {
    pub name: Name,
    pub origin: Option<Ref>,
    pub behaviors: Vec<Behavior>,
    pub signed: Option<Signed>,
    pub geo: Option<GeoRules>,
    pub errors: Vec<ErrorPage>,
    pub error_ttl: Option<Spanned<Millis>>,
    pub strip_query: Vec<String>,
    pub offload: Option<Spanned<Percent>>,
    pub egress: Option<Spanned<Rate>>,
}

pub(crate) fn lower_cdn(block: &Block, sink: &Sink) -> Cdn {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let errors = r
        .block("errors")
        .map(|b| {
            let m = Reader::map_like(b, sink);
            let out = m
                .entries()
                .into_iter()
                .filter_map(|a| {
                    let status = match (a.key.form, a.key.text.parse::<u16>()) {
                        (KeyForm::Integer | KeyForm::String, Ok(s)) if (400..=599).contains(&s) => {
                            s
                        }
                        _ => {
                            sink.push(
                                Diagnostic::error(
                                    "A005",
                                    a.key.span,
                                    format!("`{}` is not an HTTP error status", a.key.text),
                                )
                                .with_primary_label("expected a status code 400..599")
                                .with_help("write `404 = \"/errors/404.html\"`"),
                            );
                            return None;
                        }
                    };
                    match &a.value.kind {
                        ValueKind::String(p) => Some(ErrorPage {
                            status,
                            page: p.clone(),
                        }),
                        _ => {
                            m.wrong_type(&a.key.text, &a.value, "a page path string");
                            None
                        }
                    }
                })
                .collect();
            m.finish();
            out
        })
        .unwrap_or_default();
    let cdn = Cdn {
        name,
        origin: required(
            &r,
            "origin",
            "edge",
            r.reference("origin", &[Kind::Gateway, Kind::Service]),
        ),
        behaviors: r
            .blocks("behavior")
            .into_iter()
            .map(|b| {
                let x = Reader::new(b, sink);
                let pattern = match b.labels.first() {
                    Some(l) => Spanned::new(l.text.clone(), l.span),
                    None => {
                        x.missing("pattern", "\"/static/*\"");
                        Spanned::new("/*".to_string(), b.head)
                    }
                };
                let behavior = Behavior {
                    pattern,
                    min_ttl: x.duration("min_ttl"),
                    ttl: x.duration("ttl"),
                    max_ttl: x.duration("max_ttl"),
                    compress: x.bool("compress").map(|v| v.value).unwrap_or(true),
                    immutable: x.bool("immutable").map(|v| v.value).unwrap_or(false),
                    cookies: x
                        .keyword("cookies")
                        .map(|v| v.value)
                        .unwrap_or(Cookies::None),
                    query: x.bool("query").map(|v| v.value).unwrap_or(false),
                    headers: x.strings("headers").map(|v| v.value).unwrap_or_default(),
                    stale_while_revalidate: x.duration("stale_while_revalidate"),
                    private: x.bool("private").unwrap_or_else(|| dflt(&x, false)),
                    head: b.head,
                };
                x.finish();
                behavior
            })
            .collect(),
        signed: sub(&r, "signed", |s| Signed {
            expires: s.positive_duration("expires"),
            key: s.secret("key"),
        }),
        geo: sub(&r, "geo", |g| GeoRules {
            allow: g.strings("allow").map(|v| v.value).unwrap_or_default(),
            deny: g.strings("deny").map(|v| v.value).unwrap_or_default(),
        }),
        errors,
        error_ttl: r.duration("error_ttl"),
        strip_query: r
            .strings("strip_query")
            .map(|v| v.value)
            .unwrap_or_default(),
        offload: r.percent("offload"),
        egress: r.rate("egress", RateUnit::Bytes),
    };
    r.finish();
    cdn
}
