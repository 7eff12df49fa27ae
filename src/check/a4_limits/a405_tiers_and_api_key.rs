//! A405: `tiers` off an api_key limit, or an api_key limit where no API key is checked.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{AuthKind, Gateway, KeyWord, Limit, LimitKey, Program, Ref};

crate::declare_rule! {
    /// ## What it does
    /// Reports two mistakes with API-key limits: a limit with `tiers` whose `key` is not
    /// `api_key`, and a limit with `key = api_key` attached to a gateway, or to a route of a
    /// gateway, that declares no `auth api_key { ... }`.
    ///
    /// ## Why is this bad?
    /// Tiers are per-plan rates: the plan is looked up from the caller's API key (`shared/seed`,
    /// §7, `QuotaManager`). Counted by IP or user there is no plan to look up, so the tiers are
    /// never applied. And a limit counted per API key needs the gateway to read and verify the
    /// key: without `auth api_key` the key is absent or unverified, so clients share one
    /// bucket or invent a fresh key per request.
    ///
    /// ## Example
    /// ```arch
    /// limit partner { key = ip  rate = 1000/h  tiers { free = 1000/h  pro = 20k/h } }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// limit partner { key = api_key  rate = 1000/h  tiers { free = 1000/h  pro = 20k/h } }
    /// gateway edge {
    ///   auth api_key { header = "X-API-Key" }
    ///   route "GET /api/partner/orders" { to = orders  limit = partner }
    /// }
    /// ```
    A405, Error, "tiers or api_key limit without API keys", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.program;
    let mut out: Vec<Diagnostic> = p.limits.iter().filter_map(tiers_without_api_key).collect();
    for gw in p
        .gateways
        .iter()
        .filter(|g| g.auth_of(AuthKind::ApiKey).is_none())
    {
        for l in &gw.limits {
            out.extend(unchecked_key(
                p,
                gw,
                l,
                format!("gateway `{}`", gw.name.value),
            ));
        }
        for r in &gw.routes {
            for l in &r.limits {
                out.extend(unchecked_key(
                    p,
                    gw,
                    l,
                    format!(
                        "route \"{}\" of gateway `{}`",
                        r.pattern.value, gw.name.value
                    ),
                ));
            }
        }
    }
    out
}

fn tiers_without_api_key(limit: &Limit) -> Option<Diagnostic> {
    let no_tiers = limit.tiers.is_empty() && limit.tiers_span.is_none();
    if no_tiers || limit.keyed_by(KeyWord::ApiKey) {
        return None;
    }
    let span = limit.tiers_span.unwrap_or(limit.name.span);
    let key = match &limit.key.value {
        LimitKey::Word(w) => format!("`{w}`"),
        LimitKey::Header(h) => format!("header(\"{h}\")"),
    };
    Some(
        Diagnostic::error("A405", span, format!("limit `{}` has `tiers` but counts by {key}: tiers are plans looked up from an API key, so they never apply", limit.name.value))
            .with_primary_label("per-plan rates")
            .with_label(limit.key.span, format!("key = {key}"))
            .with_help("set `key = api_key` (and declare `auth api_key` on the gateway), or remove `tiers`"),
    )
}

fn unchecked_key(p: &Program, gw: &Gateway, l: &Ref, what: String) -> Option<Diagnostic> {
    let limit = p.limit(&l.name)?;
    if !limit.keyed_by(KeyWord::ApiKey) {
        return None;
    }
    Some(
        Diagnostic::error("A405", l.span, format!("limit `{}` counts per API key, but it is attached to {what}, which declares no `auth api_key`: there is no verified key to count", l.name))
            .with_primary_label("keyed by api_key")
            .with_label(gw.name.span, format!("gateway `{}` has no `auth api_key` block", gw.name.value))
            .with_label(limit.key.span, "key = api_key")
            .with_help(format!("declare `auth api_key {{ header = \"X-API-Key\" }}` in gateway `{}`, or count by another key", gw.name.value)),
    )
}
