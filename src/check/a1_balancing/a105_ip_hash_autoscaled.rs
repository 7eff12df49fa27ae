//! A105: `balance = ip_hash` on an autoscaled service.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::Balance;

crate::declare_rule! {
    /// ## What it does
    /// Reports a service balanced with `ip_hash` whose replicas autoscale (`replicas = 2..10`).
    ///
    /// ## Why is this bad?
    /// IP hashing picks the instance as `hash(client ip) mod instance count` (seed §1, "IP
    /// Hash"). Every scale event changes the count, so most clients are remapped to another
    /// instance at once: sessions and warm per-instance caches are lost exactly when the
    /// service is under the most load. Keep state out of the instances (sessions in Redis)
    /// and balance by load, or keep a fixed replica count.
    ///
    /// ## Example
    /// ```arch
    /// service web {
    ///   replicas = 2..10
    ///   balance  = ip_hash
    ///   endpoint home { route = "GET /"  work = 5ms }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service web {
    ///   replicas = 2..10
    ///   balance  = least_connections
    ///   endpoint home { route = "GET /"  work = 5ms }
    /// }
    /// ```
    A105, Warning, "ip_hash balancing on an autoscaled service", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program
        .services
        .iter()
        .filter(|s| s.balance.value == Balance::IpHash && s.replicas.value.is_autoscaled())
        .map(|s| {
            let r = s.replicas.value;
            Diagnostic::warning(
                "A105",
                s.balance.span,
                format!("`{}` balances by client IP hash but autoscales between {} and {} replicas: every scale event remaps sticky clients", s.name.value, r.min, r.max),
            )
            .with_primary_label("ip_hash")
            .with_label(s.replicas.span, format!("autoscales {}..{}", r.min, r.max))
            .with_help("keep session state out of the instances and use `balance = least_connections` (or `round_robin`), or give the service a fixed `replicas` count")
        })
        .collect()
}
