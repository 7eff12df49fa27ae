//! `gateway`: the edge — listeners, auth, CORS, security headers, routes, canaries, versioning.

use super::common::*;
use crate::diagnostic::Diagnostic;
use crate::model::reader::{Reader, Sink};
use crate::model::value::*;
use crate::model::{Kind, Name};
use crate::syntax::ast::{Block, ValueKind};
use schemars::JsonSchema;
use serde::Serialize;

keyword_enum! {
    /// Authentication schemes a gateway declares.
    AuthKind { Jwt = "jwt", ApiKey = "api_key", Hmac = "hmac" }
}
keyword_enum! {
    /// `X-Frame-Options`.
    FrameOption { Deny = "deny", Sameorigin = "sameorigin" }
}
keyword_enum! {
    /// Canary stickiness.
    Sticky { None = "none", Cookie = "cookie" }
}
keyword_enum! {
    /// How an API version is selected.
    VersionBy { Path = "path", Header = "header" }
}

/// `auth KIND { ... }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Auth {
    pub kind: Spanned<AuthKind>,
    pub issuer: Option<Spanned<String>>,
    pub audience: Option<Spanned<String>>,
    pub secret: Option<Spanned<Secret>>,
    /// API-key header.
    pub header: Option<Spanned<String>>,
    /// HMAC replay window.
    pub window: Option<Spanned<Millis>>,
}

/// `cors { ... }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Cors {
    pub origins: Spanned<Vec<String>>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub credentials: Spanned<bool>,
}

/// `headers { ... }`: security headers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SecurityHeaders {
    pub hsts: Spanned<bool>,
    pub csp: Option<String>,
    pub frame: Spanned<FrameOption>,
    pub nosniff: Spanned<bool>,
}

/// How a route authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RouteAuth {
    /// Anyone.
    None,
    /// Identity if present.
    Optional,
    /// Required, with this scheme.
    Required(AuthKind),
}

impl RouteAuth {
    /// True when an identity is guaranteed.
    pub fn requires_identity(self) -> bool {
        matches!(self, RouteAuth::Required(_))
    }
}

/// `cache { ttl vary per_user }` on a route.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RouteCache {
    pub ttl: Option<Spanned<Millis>>,
    pub vary: Vec<String>,
    pub per_user: Spanned<bool>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: crate::source::Span,
}

/// A header name and value.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HeaderValue {
    pub name: String,
    pub value: String,
}

/// `transform { set_headers { ... } strip_query }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Transform {
    pub set_headers: Vec<HeaderValue>,
    pub strip_query: Vec<String>,
}

/// `route "METHOD PATH" { ... }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Route {
    pub pattern: Spanned<String>,
    pub http: HttpRoute,
    pub to: Option<Ref>,
    pub auth: Spanned<RouteAuth>,
    pub permissions: Vec<String>,
    pub limits: Vec<Ref>,
    pub timeout: Spanned<Millis>,
    pub retry: Option<Retry>,
    pub breaker: Option<Breaker>,
    pub cache: Option<RouteCache>,
    pub transform: Option<Transform>,
    pub critical: Spanned<bool>,
    pub websocket: Spanned<bool>,
    pub latency: Option<Spanned<Millis>>,
    #[serde(skip)]
    #[schemars(skip)]
    pub head: crate::source::Span,
}

/// `canary name { of version weight header sticky }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Canary {
    pub name: Name,
    pub of: Option<Ref>,
    pub version: Option<Spanned<String>>,
    pub weight: Option<Spanned<f64>>,
    pub header: Option<String>,
    pub sticky: Spanned<Sticky>,
}

/// `version { by header deprecated sunset }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Versioning {
    pub by: Spanned<VersionBy>,
    pub header: String,
    pub deprecated: Vec<String>,
    pub sunset: Option<String>,
}

/// A gateway.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Gateway {
    pub name: Name,
    pub listen: Spanned<u32>,
    pub tls: Spanned<bool>,
    pub body_limit: Spanned<Bytes>,
    pub compression: Spanned<bool>,
    pub request_id: Spanned<bool>,
    pub replicas: Spanned<Replicas>,
    pub instance: Spanned<String>,
    pub limits: Vec<Ref>,
    pub auth: Vec<Auth>,
    pub cors: Option<Cors>,
    pub headers: SecurityHeaders,
    pub routes: Vec<Route>,
    pub canaries: Vec<Canary>,
    pub version: Option<Versioning>,
}

impl Gateway {
    /// The auth scheme of this kind, if declared.
    pub fn auth_of(&self, kind: AuthKind) -> Option<&Auth> {
        self.auth.iter().find(|a| a.kind.value == kind)
    }
}

pub(crate) fn lower_gateway(block: &Block, sink: &Sink) -> Gateway {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let tls = r.bool("tls").unwrap_or_else(|| dflt(&r, false));
    let auth: Vec<Auth> = r
        .blocks("auth")
        .into_iter()
        .filter_map(|b| lower_auth(b, sink))
        .collect();
    let first_auth = auth
        .first()
        .map(|a| RouteAuth::Required(a.kind.value))
        .unwrap_or(RouteAuth::None);
    let headers = sub(&r, "headers", |h| SecurityHeaders {
        hsts: h.bool("hsts").unwrap_or_else(|| dflt(h, tls.value)),
        csp: h.string("csp").map(|s| s.value),
        frame: h
            .keyword("frame")
            .unwrap_or_else(|| dflt(h, FrameOption::Deny)),
        nosniff: h.bool("nosniff").unwrap_or_else(|| dflt(h, true)),
    })
    .unwrap_or_else(|| SecurityHeaders {
        hsts: dflt(&r, tls.value),
        csp: None,
        frame: dflt(&r, FrameOption::Deny),
        nosniff: dflt(&r, true),
    });
    let gateway = Gateway {
        name,
        listen: r
            .int("listen", 1)
            .unwrap_or_else(|| dflt(&r, if tls.value { 443 } else { 8080 })),
        body_limit: r.size("body_limit").unwrap_or_else(|| dflt(&r, Bytes(1e6))),
        compression: r.bool("compression").unwrap_or_else(|| dflt(&r, true)),
        request_id: r.bool("request_id").unwrap_or_else(|| dflt(&r, true)),
        replicas: replicas(&r, 1, 2),
        instance: r
            .word("instance")
            .unwrap_or_else(|| dflt(&r, "small".to_string())),
        limits: r.limits(),
        cors: sub(&r, "cors", |c| Cors {
            origins: required(
                c,
                "origins",
                "[\"https://example.com\"]",
                c.strings("origins"),
            )
            .unwrap_or_else(|| dflt(c, Vec::new())),
            methods: c.strings("methods").map(|s| s.value).unwrap_or_default(),
            headers: c.strings("headers").map(|s| s.value).unwrap_or_default(),
            credentials: c.bool("credentials").unwrap_or_else(|| dflt(c, false)),
        }),
        headers,
        routes: r
            .blocks("route")
            .into_iter()
            .map(|b| lower_route(b, sink, first_auth))
            .collect(),
        canaries: subs(&r, "canary", |c| Canary {
            name: member_name(c),
            of: required(c, "of", "orders", c.reference("of", &[Kind::Service])),
            version: required(c, "version", "\"v2\"", c.string("version")),
            weight: required(
                c,
                "weight",
                "5%",
                c.attr("weight").and_then(|a| match &a.value.kind {
                    // Parsed without the 0..100 clamp so A606 can name an out-of-range weight.
                    ValueKind::Quantity(q)
                        if q.dimension == crate::syntax::literal::Dimension::Percent
                            && q.per_seconds.is_none() =>
                    {
                        Some(Spanned::new(q.value, a.value.span))
                    }
                    _ => {
                        c.wrong_type("weight", &a.value, "a percent such as 5%");
                        None
                    }
                }),
            ),
            header: c.string("header").map(|s| s.value),
            sticky: c
                .keyword("sticky")
                .unwrap_or_else(|| dflt(c, Sticky::Cookie)),
        }),
        version: sub(&r, "version", |v| Versioning {
            by: v.keyword("by").unwrap_or_else(|| dflt(v, VersionBy::Path)),
            header: v
                .string("header")
                .map(|s| s.value)
                .unwrap_or_else(|| "API-Version".into()),
            deprecated: v.strings("deprecated").map(|s| s.value).unwrap_or_default(),
            sunset: v.string("sunset").map(|s| s.value),
        }),
        auth,
        tls,
    };
    r.finish();
    gateway
}

fn lower_auth(block: &Block, sink: &Sink) -> Option<Auth> {
    let r = Reader::new(block, sink);
    let Some(label) = block.labels.first() else {
        sink.push(
            Diagnostic::error("A007", block.head, "`auth` needs its kind")
                .with_primary_label("kind missing")
                .with_help(
                    "write `auth jwt { ... }`, `auth api_key { ... }` or `auth hmac { ... }`",
                ),
        );
        return None;
    };
    let Some(kind) = AuthKind::from_word(&normalize(&label.text)) else {
        sink.push(
            Diagnostic::error(
                "A002",
                label.span,
                format!("`{}` is not an auth kind", label.text),
            )
            .with_primary_label("unknown auth kind")
            .with_help(format!(
                "{}auth kinds are jwt, api_key and hmac",
                crate::diagnostic::closest(&label.text, AuthKind::WORDS.iter().copied())
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default()
            )),
        );
        return None;
    };
    let auth = match kind {
        AuthKind::Jwt => Auth {
            kind: Spanned::new(kind, label.span),
            issuer: required(
                &r,
                "issuer",
                "\"https://auth.example.com\"",
                r.string("issuer"),
            ),
            audience: r.string("audience"),
            secret: required(&r, "secret", "env(\"JWT_SECRET\")", r.secret("secret")),
            header: None,
            window: None,
        },
        AuthKind::ApiKey => Auth {
            kind: Spanned::new(kind, label.span),
            issuer: None,
            audience: None,
            secret: None,
            header: Some(
                r.string("header")
                    .unwrap_or_else(|| dflt(&r, "X-API-Key".into())),
            ),
            window: None,
        },
        AuthKind::Hmac => Auth {
            kind: Spanned::new(kind, label.span),
            issuer: None,
            audience: None,
            secret: required(&r, "secret", "env(\"HMAC_SECRET\")", r.secret("secret")),
            header: None,
            window: Some(
                r.positive_duration("window")
                    .unwrap_or_else(|| dflt(&r, Millis(300_000.0))),
            ),
        },
    };
    r.finish();
    Some(auth)
}

fn lower_route(block: &Block, sink: &Sink, default_auth: RouteAuth) -> Route {
    let r = Reader::new(block, sink);
    let pattern = match block.labels.first() {
        Some(l) => Spanned::new(l.text.clone(), l.span),
        None => {
            sink.push(
                Diagnostic::error("A007", block.head, "a `route` needs its pattern")
                    .with_primary_label("pattern missing")
                    .with_help("write `route \"GET /api/items/:id\" { to = items }`"),
            );
            Spanned::new("/".to_string(), block.head)
        }
    };
    let http = http_route(&r, "route", &pattern);
    let auth = match r.attr("auth") {
        None => Spanned::default_at(default_auth, block.head),
        Some(a) => match &a.value.kind {
            ValueKind::Name(w) if w == "none" => Spanned::new(RouteAuth::None, a.value.span),
            ValueKind::Name(w) if w == "optional" => {
                Spanned::new(RouteAuth::Optional, a.value.span)
            }
            ValueKind::Name(w) => match AuthKind::from_word(&normalize(w)) {
                Some(k) => Spanned::new(RouteAuth::Required(k), a.value.span),
                None => {
                    let words = ["none", "optional", "jwt", "api_key", "hmac"];
                    sink.push(
                        Diagnostic::error("A005", a.value.span, format!("`{w}` is not a valid `auth`"))
                            .with_primary_label("unknown value")
                            .with_help(format!(
                                "{}`auth` is none, optional, or the kind of a declared auth (jwt, api_key, hmac)",
                                crate::diagnostic::closest(w, words).map(|c| format!("did you mean `{c}`? ")).unwrap_or_default()
                            )),
                    );
                    Spanned::new(default_auth, a.value.span)
                }
            },
            _ => {
                r.wrong_type("auth", &a.value, "none, optional, jwt, api_key or hmac");
                Spanned::new(default_auth, a.value.span)
            }
        },
    };
    let route = Route {
        to: required(
            &r,
            "to",
            "my_service",
            r.reference("to", &[Kind::Service, Kind::Cdn]),
        ),
        auth,
        permissions: r
            .strings("permissions")
            .map(|s| s.value)
            .unwrap_or_default(),
        limits: r.limits(),
        timeout: r
            .positive_duration("timeout")
            .unwrap_or_else(|| dflt(&r, Millis(30_000.0))),
        retry: sub(&r, "retry", |x| retry(x, 0, None)),
        breaker: sub(&r, "breaker", breaker),
        cache: sub(&r, "cache", |c| RouteCache {
            ttl: required(c, "ttl", "60s", c.positive_duration("ttl")),
            vary: c.strings("vary").map(|s| s.value).unwrap_or_default(),
            per_user: c.bool("per_user").unwrap_or_else(|| dflt(c, false)),
            span: c.head(),
        }),
        transform: sub(&r, "transform", |t| Transform {
            set_headers: t
                .block("set_headers")
                .map(|b| {
                    let m = Reader::map_like(b, sink);
                    let out = m
                        .entries()
                        .into_iter()
                        .filter_map(|a| match &a.value.kind {
                            ValueKind::String(v) => Some(HeaderValue {
                                name: a.key.text.clone(),
                                value: v.clone(),
                            }),
                            _ => {
                                m.wrong_type(&a.key.text, &a.value, "a header value string");
                                None
                            }
                        })
                        .collect();
                    m.finish();
                    out
                })
                .unwrap_or_default(),
            strip_query: t
                .strings("strip_query")
                .map(|s| s.value)
                .unwrap_or_default(),
        }),
        critical: r.bool("critical").unwrap_or_else(|| dflt(&r, false)),
        websocket: r.bool("websocket").unwrap_or_else(|| dflt(&r, false)),
        latency: r.positive_duration("latency"),
        head: block.head,
        pattern,
        http,
    };
    r.finish();
    route
}
