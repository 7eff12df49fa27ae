//! A205: a response that requires auth is cached without a per-user key.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Gateway, Route, RouteAuth, RouteCache};

crate::declare_rule! {
    /// ## What it does
    /// Reports a gateway route that requires auth and has a `cache` block, but whose cache
    /// key does not include the caller: neither `per_user = true` nor `vary` containing
    /// `Authorization`.
    ///
    /// ## Why is this bad?
    /// The gateway's response cache is keyed by method and path. The first user's response
    /// to `GET /api/orders` is stored and then served to every other user who asks for the
    /// same path: their orders, their profile, their tokens. The seed's gateway caches such
    /// routes with `varyByHeaders: ['Authorization']` and `varyByUser: true` (`shared/seed`,
    /// §9).
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   auth jwt { issuer = "https://auth.example.com"  secret = env("JWT_SECRET") }
    ///   route "GET /api/orders" { to = orders  cache { ttl = 60s } }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   auth jwt { issuer = "https://auth.example.com"  secret = env("JWT_SECRET") }
    ///   route "GET /api/orders" { to = orders  cache { ttl = 60s  per_user = true } }
    /// }
    /// ```
    A205, Error, "authenticated response cached across users", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for gw in &ctx.program.gateways {
        for route in &gw.routes {
            let (Some(cache), RouteAuth::Required(kind)) = (&route.cache, route.auth.value) else {
                continue;
            };
            if !keyed_by_user(cache) {
                out.push(diagnostic(gw, route, cache, kind.to_string()));
            }
        }
    }
    out
}

/// True when the cache key separates users.
fn keyed_by_user(cache: &RouteCache) -> bool {
    cache.per_user.value
        || cache
            .vary
            .iter()
            .any(|h| h.eq_ignore_ascii_case("authorization"))
}

fn diagnostic(gw: &Gateway, route: &Route, cache: &RouteCache, kind: String) -> Diagnostic {
    let auth_label = if route.auth.defaulted {
        format!("requires {kind} auth (the gateway's first auth, by default)")
    } else {
        format!("requires {kind} auth")
    };
    Diagnostic::error(
        "A205",
        cache.span,
        format!(
            "route \"{}\" of gateway `{}` requires {kind} auth but caches responses without a per-user key: one user's response is served to others",
            route.pattern.value, gw.name.value
        ),
    )
    .with_primary_label("cache key does not include the user")
    .with_label(route.auth.span, auth_label)
    .with_help("set `per_user = true` or `vary = [\"Authorization\"]` in the route's `cache` block, or do not cache the route")
}
