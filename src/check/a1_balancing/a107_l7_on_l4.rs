//! A107: an L7 feature used on a service balanced at layer 4.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Gateway, Layer, Program, Route, RouteAuth, Service, VersionBy};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports application-level (L7) features aimed at a service declared `layer = l4`: a
    /// gateway route to it that routes by path parameters or wildcards (anything more than a
    /// bare `/*` catch-all), a per-route response `cache`, a route `auth` other than `none`,
    /// a request `transform`, a canary selected by header, or API versioning by header.
    ///
    /// ## Why is this bad?
    /// A layer-4 balancer forwards TCP connections without reading HTTP (seed §1, "Layer 4 vs
    /// Layer 7 Load Balancing"): it cannot see paths, headers, cookies or bodies. Features
    /// that need them either silently do nothing or force an extra L7 hop the design does not
    /// account for.
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/users/:id" { to = users  cache { ttl = 30s } }
    /// }
    /// service users {
    ///   layer = l4
    ///   endpoint get_user { route = "GET /api/users/:id"  work = 2ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/users/:id" { to = users  cache { ttl = 30s } }
    /// }
    /// service users {
    ///   layer = l7
    ///   endpoint get_user { route = "GET /api/users/:id"  work = 2ms }
    /// }
    /// ```
    A107, Error, "L7 feature on a layer-4 service", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut out = Vec::new();
    for g in &p.gateways {
        out.extend(g.routes.iter().filter_map(|r| route_features(p, r)));
        out.extend(header_canaries(p, g));
        out.extend(header_versioning(p, g));
    }
    out
}

/// The layer-4 service with this name.
fn l4<'p>(p: &'p Program, name: &str) -> Option<&'p Service> {
    p.service(name).filter(|s| s.layer.value == Layer::L4)
}

fn layer_label(s: &Service) -> (Span, String) {
    (
        s.layer.span,
        format!("`{}` is balanced at layer 4 here", s.name.value),
    )
}

fn help(s: &Service) -> String {
    format!("declare `layer = l7` on `{}`, or route it with a bare `/*` catch-all and no cache, auth or transform", s.name.value)
}

fn route_features(p: &Program, r: &Route) -> Option<Diagnostic> {
    let s = l4(p, &r.to.as_ref()?.name)?;
    // Each feature, with where it is written when that is not the route itself (path routing
    // is the pattern; a default auth and a transform belong to the route): those are labelled,
    // the others are in the message only.
    let mut features: Vec<(Option<Span>, String)> = Vec::new();
    let path = r.http.path.trim_matches('/');
    let routed_by_path = path
        .split('/')
        .any(|seg| seg.starts_with(':') || seg == "*")
        && path != "*";
    if routed_by_path {
        features.push((None, format!("path routing on `{}`", r.http.path)));
    }
    if let Some(c) = &r.cache {
        features.push((Some(c.span), "a response cache".into()));
    }
    let auth = match r.auth.value {
        RouteAuth::None => None,
        RouteAuth::Optional => Some("optional".to_string()),
        RouteAuth::Required(k) => Some(k.to_string()),
    };
    if let Some(kind) = auth {
        if r.auth.defaulted {
            features.push((None, format!("`auth = {kind}` (the gateway's default)")));
        } else {
            features.push((Some(r.auth.span), format!("`auth = {kind}`")));
        }
    }
    if r.transform.is_some() {
        features.push((None, "a request transform".into()));
    }
    if features.is_empty() {
        return None;
    }
    let list: Vec<&str> = features.iter().map(|(_, t)| t.as_str()).collect();
    let list = match list.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => list.join(""),
    };
    let (layer_span, layer_text) = layer_label(s);
    let mut d = Diagnostic::error(
        "A107",
        r.pattern.span,
        format!(
            "route \"{}\" uses {list} on `{}`, which is balanced at layer 4 and cannot read HTTP",
            r.pattern.value, s.name.value
        ),
    )
    .with_primary_label("L7 route to an L4 service");
    for (span, text) in features
        .iter()
        .filter_map(|(span, text)| Some((span.as_ref()?, text)))
    {
        d = d.with_label(*span, format!("{text} needs L7"));
    }
    Some(d.with_label(layer_span, layer_text).with_help(help(s)))
}

fn header_canaries<'g>(p: &'g Program, g: &'g Gateway) -> impl Iterator<Item = Diagnostic> + 'g {
    g.canaries.iter().filter(|c| c.header.is_some()).filter_map(move |c| {
        let s = l4(p, &c.of.as_ref()?.name)?;
        let (layer_span, layer_text) = layer_label(s);
        Some(
            Diagnostic::error(
                "A107",
                c.name.span,
                format!("canary `{}` of `{}` is selected by a header, but `{}` is balanced at layer 4", c.name.value, s.name.value, s.name.value),
            )
            .with_primary_label("header-based canary")
            .with_label(layer_span, layer_text)
            .with_help(format!("split canary `{}` by `weight` only (no `header`), or declare `layer = l7` on `{}`", c.name.value, s.name.value)),
        )
    })
}

fn header_versioning(p: &Program, g: &Gateway) -> Vec<Diagnostic> {
    let Some(v) = g
        .version
        .as_ref()
        .filter(|v| v.by.value == VersionBy::Header)
    else {
        return Vec::new();
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for r in &g.routes {
        let Some(s) = r.to.as_ref().and_then(|t| l4(p, &t.name)) else {
            continue;
        };
        if seen.contains(&s.name.value.as_str()) {
            continue;
        }
        seen.push(&s.name.value);
        let (layer_span, layer_text) = layer_label(s);
        out.push(
            Diagnostic::error(
                "A107",
                v.by.span,
                format!("gateway `{}` selects API versions by the `{}` header, but `{}` is balanced at layer 4", g.name.value, v.header, s.name.value),
            )
            .with_primary_label("versioning by header")
            .with_label(r.pattern.span, format!("route to `{}`", s.name.value))
            .with_label(layer_span, layer_text)
            .with_help(format!("version by path (`version {{ by = path }}`), or declare `layer = l7` on `{}`", s.name.value)),
        );
    }
    out
}
