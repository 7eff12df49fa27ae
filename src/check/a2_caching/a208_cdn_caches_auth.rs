//! A208: a CDN behaviour caches responses of a route that requires auth.

use crate::check::common::{paths_overlap, plural};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Behavior, Cdn, Gateway, Method, Millis, Route, RouteAuth, Spanned};

crate::declare_rule! {
    /// ## What it does
    /// Reports a CDN `behavior` whose pattern matches a `GET`/`HEAD` route that requires auth
    /// on the CDN's origin gateway, when the behaviour is not `private = true` and the CDN
    /// does not use signed URLs (`signed { ... }`).
    ///
    /// ## Why is this bad?
    /// An edge cache is shared by everyone behind it. A public behaviour stores the response
    /// the first authenticated user got and serves it to the next user who requests the same
    /// URL, logged in or not. The seed (`shared/seed`, §4) marks per-user responses
    /// `Cache-Control: private` and protects paid content with signed URLs and cookies.
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   auth jwt { issuer = "https://auth.example.com"  secret = env("JWT_SECRET") }
    ///   route "GET /api/orders/:id" { to = orders }
    /// }
    /// cdn front {
    ///   origin = edge
    ///   behavior "/api/*" { ttl = 60s }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// cdn front {
    ///   origin = edge
    ///   behavior "/api/*" { ttl = 60s  private = true }
    /// }
    /// ```
    A208, Error, "CDN caches authenticated responses", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cdn in ctx.program.cdns.iter().filter(|c| c.signed.is_none()) {
        let Some(gw) = cdn
            .origin
            .as_ref()
            .and_then(|o| ctx.program.gateway(&o.name))
        else {
            continue;
        };
        for b in cdn
            .behaviors
            .iter()
            .filter(|b| !b.private.value && caches(b))
        {
            let routes: Vec<&Route> = gw
                .routes
                .iter()
                .filter(|r| {
                    requires_auth(r)
                        && cacheable(r)
                        && paths_overlap(&b.pattern.value, &r.http.path)
                })
                .collect();
            if !routes.is_empty() {
                out.push(diagnostic(cdn, gw, b, &routes));
            }
        }
    }
    out
}

/// False for a behaviour whose TTLs keep nothing (`ttl = 0s` with no larger `max_ttl`).
fn caches(b: &Behavior) -> bool {
    let zero = |t: &Option<Spanned<Millis>>| t.as_ref().is_some_and(|t| t.value.0 <= 0.0);
    !(zero(&b.max_ttl) || (zero(&b.ttl) && b.max_ttl.is_none()))
}

fn requires_auth(r: &Route) -> bool {
    matches!(r.auth.value, RouteAuth::Required(_))
}

/// CDNs cache only GET and HEAD responses.
fn cacheable(r: &Route) -> bool {
    matches!(r.http.method, None | Some(Method::Get) | Some(Method::Head))
}

fn diagnostic(cdn: &Cdn, gw: &Gateway, b: &Behavior, routes: &[&Route]) -> Diagnostic {
    let mut names: Vec<String> = routes
        .iter()
        .take(3)
        .map(|r| format!("\"{}\"", r.pattern.value))
        .collect();
    if routes.len() > 3 {
        names.push(format!("{} more", routes.len() - 3));
    }
    let (names, verb) = (
        names.join(", "),
        plural(routes.len() as u64, "requires", "require"),
    );
    let mut d = Diagnostic::error(
        "A208",
        b.pattern.span,
        format!(
            "cdn `{}` behavior \"{}\" caches {names} of gateway `{}`, which {verb} auth: one user's response is served to everyone",
            cdn.name.value, b.pattern.value, gw.name.value
        ),
    )
    .with_primary_label("public, shared edge cache");
    for r in routes {
        let kind = match r.auth.value {
            RouteAuth::Required(k) => k.to_string(),
            _ => String::new(),
        };
        d = d.with_label(r.pattern.span, format!("requires {kind} auth"));
    }
    d.with_help("set `private = true` on the behavior, use signed URLs (`signed { expires = 1h  key = env(\"CDN_KEY\") }`), or narrow the pattern to public paths")
}
