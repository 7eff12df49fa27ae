//! A605: CORS with a wildcard origin and credentials.

use crate::check::Context;
use crate::diagnostic::Diagnostic;

crate::declare_rule! {
    /// ## What it does
    /// Reports a gateway whose `cors` block allows the origin `"*"` together with
    /// `credentials = true`.
    ///
    /// ## Why is this bad?
    /// Browsers refuse credentialed responses with `Access-Control-Allow-Origin: *`, so the
    /// API breaks for every logged-in browser client. The usual "fix" of echoing the request's
    /// `Origin` back lets any website make authenticated requests with the user's cookies
    /// (the seed's gateway, §9, falls back to `origin: '*'` with `credentials: true`). List
    /// the allowed origins explicitly.
    ///
    /// ## Example
    /// ```arch
    /// gateway edge {
    ///   cors { origins = ["*"]  credentials = true }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// gateway edge {
    ///   cors { origins = ["https://app.example.com"]  credentials = true }
    /// }
    /// ```
    A605, Error, "CORS allows any origin with credentials", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program
        .gateways
        .iter()
        .filter_map(|g| {
            let cors = g.cors.as_ref()?;
            let wildcard = cors.origins.value.iter().any(|o| o.trim() == "*");
            (wildcard && cors.credentials.value).then(|| {
                Diagnostic::error(
                    "A605",
                    cors.credentials.span,
                    format!("gateway `{}` allows credentials from any origin (`\"*\"`): browsers reject this, and echoing origins instead exposes users' sessions to every site", g.name.value),
                )
                .with_primary_label("credentials = true")
                .with_label(cors.origins.span, "origins include \"*\"")
                .with_help("list the allowed origins explicitly (`origins = [\"https://app.example.com\"]`), or set `credentials = false` for a public API")
            })
        })
        .collect()
}
