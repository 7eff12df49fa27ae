//! A601: two routes with the same method and path pattern in one gateway.

use crate::check::common::{earlier_routes, same_pattern};
use crate::check::Context;
use crate::diagnostic::Diagnostic;

crate::declare_rule! {
    /// ## What it does
    /// Reports two routes of one gateway with the same method and the same path pattern.
    /// Parameter names do not matter: `/users/:id` and `/users/:user_id` are the same pattern.
    ///
    /// ## Why is this bad?
    /// Routes match in declaration order, so the second one is dead configuration; usually it
    /// was meant to replace or extend the first, and its target, auth or limits are silently
    /// ignored (seed §9, `registerRoute`).
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/users/:id"      { to = users }
    ///   route "GET /api/users/:user_id" { to = users_v2 }
    /// }
    /// service users    { endpoint get { route = "GET /api/users/:id"  work = 2ms } }
    /// service users_v2 { endpoint get { route = "GET /api/users/:id"  work = 2ms } }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   route "GET /api/users/:id" { to = users_v2 }
    /// }
    /// service users_v2 { endpoint get { route = "GET /api/users/:id"  work = 2ms } }
    /// ```
    A601, Error, "duplicate route in a gateway", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    earlier_routes(ctx.program, |e, later| same_pattern(&e.http, &later.http))
        .into_iter()
        .map(|(g, first, later)| {
            Diagnostic::error(
                "A601",
                later.pattern.span,
                format!(
                    "gateway `{}` declares route \"{}\" twice",
                    g.name.value,
                    later.http.display()
                ),
            )
            .with_primary_label("duplicate route")
            .with_label(
                first.pattern.span,
                format!(
                    "\"{}\" is declared first here and always matches first",
                    first.pattern.value
                ),
            )
            .with_help("remove one of the two routes, or merge their settings into the first")
        })
        .collect()
}
