//! A403: a route limit looser than the gateway-wide limit on the same key.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{figure, Gateway, KeyWord, Limit, LimitKey, Ref, Route};

crate::declare_rule! {
    /// ## What it does
    /// Reports a route limit that counts by the same key as a gateway-wide limit of the same
    /// gateway but allows more requests per second.
    ///
    /// ## Why is this bad?
    /// Every request to the route passes the gateway-wide limit too, so the stricter of the
    /// two always wins: a route limit of 1000/min under a gateway limit of 100/min on the same
    /// key never takes effect. It reads as if the route were allowed more, which it is not;
    /// usually the intent was a stricter limit for an expensive route (`shared/seed`, §7).
    ///
    /// ## Example
    /// ```arch
    /// limit per_ip      { key = ip  rate = 100/min }
    /// limit search_rate { key = ip  rate = 1000/min }
    /// gateway edge {
    ///   limit = per_ip
    ///   route "GET /api/search" { to = search  limit = search_rate }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// limit per_ip      { key = ip  rate = 100/min }
    /// limit search_rate { key = ip  rate = 20/min }
    /// gateway edge {
    ///   limit = per_ip
    ///   route "GET /api/search" { to = search  limit = search_rate }
    /// }
    /// ```
    A403, Warning, "route limit looser than the gateway limit", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut out = Vec::new();
    for gw in &p.gateways {
        let wide: Vec<(&Ref, &Limit)> = gw
            .limits
            .iter()
            .filter_map(|r| p.limit(&r.name).map(|l| (r, l)))
            .collect();
        for route in &gw.routes {
            for rr in &route.limits {
                let Some(rl) = p.limit(&rr.name) else {
                    continue;
                };
                let shadowing = wide.iter().find(|(_, gl)| {
                    gl.name.value != rl.name.value
                        && gl.key.value == rl.key.value
                        && per_second(gl) < per_second(rl)
                });
                if let Some((gr, gl)) = shadowing {
                    out.push(diagnostic(gw, route, (rr, rl), (gr, gl)));
                }
            }
        }
    }
    out
}

fn per_second(l: &Limit) -> f64 {
    l.rate.as_ref().map(|r| r.per_second()).unwrap_or(f64::NAN)
}

fn diagnostic(
    gw: &Gateway,
    route: &Route,
    (rr, rl): (&Ref, &Limit),
    (gr, gl): (&Ref, &Limit),
) -> Diagnostic {
    let key = key_text(&rl.key.value);
    let (r_rate, g_rate) = (rate_text(rl), rate_text(gl));
    Diagnostic::warning(
        "A403",
        rr.span,
        format!(
            "route \"{}\" limit `{}` allows {r_rate} {key}, but gateway `{}` already limits every request to {g_rate} {key} with `{}`: the route limit never takes effect",
            route.pattern.value, rl.name.value, gw.name.value, gl.name.value
        ),
    )
    .with_primary_label(format!("{r_rate} {key}"))
    .with_label(gr.span, format!("gateway-wide: {g_rate} {key}, stricter"))
    .with_help(format!("make `{}` stricter than {g_rate}, or count it by another key; remove it if the gateway limit is enough", rl.name.value))
}

/// `per IP`, `in total`, `per X-Tenant`.
fn key_text(k: &LimitKey) -> String {
    match k {
        LimitKey::Word(KeyWord::Ip) => "per IP".into(),
        LimitKey::Word(KeyWord::User) => "per user".into(),
        LimitKey::Word(KeyWord::ApiKey) => "per API key".into(),
        LimitKey::Word(KeyWord::Endpoint) => "per endpoint".into(),
        LimitKey::Word(KeyWord::Global) => "in total".into(),
        LimitKey::Header(h) => format!("per {h} value"),
    }
}

/// `100/min (1.667/s)`.
fn rate_text(l: &Limit) -> String {
    let Some(r) = &l.rate else {
        return "an unknown rate".into();
    };
    let per_second = format!("{}/s", figure(r.per_second()));
    let written = r.value.to_string();
    if written == per_second {
        per_second
    } else {
        format!("{written} ({per_second})")
    }
}
