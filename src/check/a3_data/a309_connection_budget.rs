//! A309: the connection pools of the services that use a database exceed its connections.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Database, Program, Service};

crate::declare_rule! {
    /// ## What it does
    /// For each database, adds up `pool × max replicas` over the services with an endpoint
    /// that reads or writes the database (or one of its tables), directly or through a cache
    /// whose `source` it is, and reports a total above `max_connections` (default 100 per
    /// node). Each instance keeps a pool to every shard, so the total lands on every node.
    /// Without `pool`, a service's pool is (2 × vCPU of its instance class) + 1; a service
    /// whose class is not in the catalogue is left out.
    ///
    /// ## Why is this bad?
    /// When the service scales out, new instances cannot open their pools: requests fail
    /// with "too many connections" exactly at peak (`shared/seed`, §6 "Connection Pool
    /// Optimization": pool = cores × 2 + 1).
    ///
    /// ## Example
    /// ```arch
    /// database users_db { max_connections = 100 }
    /// service users {
    ///   replicas = 2..20
    ///   endpoint get_user { route = "GET /users/:id"  work = 2ms  reads = [users_db] }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database users_db { max_connections = 500  pool = 10 }
    /// service users {
    ///   replicas = 2..20
    ///   endpoint get_user { route = "GET /users/:id"  work = 2ms  reads = [users_db] }
    /// }
    /// ```
    A309, Error, "connection pools exceed max_connections", run
}

/// One service's share of a database's connections.
struct Share<'a> {
    service: &'a Service,
    pool: u64,
    pool_text: String,
    replicas: u64,
}

impl Share<'_> {
    fn total(&self) -> u64 {
        self.pool.saturating_mul(self.replicas)
    }
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    // Which services use which database, computed once: database → services, in order.
    let mut users: std::collections::HashMap<&str, Vec<&Service>> =
        std::collections::HashMap::new();
    for s in &ctx.program.services {
        for db in databases_used(ctx.program, s) {
            users.entry(db).or_default().push(s);
        }
    }
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        let shares: Vec<Share> = users
            .get(db.name.value.as_str())
            .into_iter()
            .flatten()
            .filter_map(|s| share(ctx, db, s))
            .collect();
        let total: u64 = shares.iter().map(Share::total).fold(0, u64::saturating_add);
        if total > u64::from(db.max_connections.value) {
            out.push(report(db, &shares, total));
        }
    }
    out
}

/// The databases an endpoint of the service reads or writes, directly or through a cache.
fn databases_used<'p>(program: &'p Program, s: &'p Service) -> std::collections::BTreeSet<&'p str> {
    let mut used = std::collections::BTreeSet::new();
    for t in s
        .endpoints
        .iter()
        .flat_map(|e| e.reads.iter().chain(&e.writes))
    {
        let c = t.component();
        match program.cache(c).and_then(|k| k.source.as_ref()) {
            Some(src) => {
                used.insert(src.component());
            }
            None => {
                used.insert(c);
            }
        }
    }
    used
}

fn share<'a>(ctx: &Context, db: &Database, s: &'a Service) -> Option<Share<'a>> {
    let (pool, pool_text) = match &db.pool {
        Some(p) => (u64::from(p.value), format!("pool {}", p.value)),
        None => {
            let vcpu = u64::from(ctx.catalogue.instance(&s.instance.value)?.vcpu);
            let pool = 2 * vcpu + 1;
            (
                pool,
                format!(
                    "pool {pool} (the default: 2 × {vcpu} vCPU of `{}` + 1)",
                    s.instance.value
                ),
            )
        }
    };
    Some(Share {
        service: s,
        pool,
        pool_text,
        replicas: u64::from(s.replicas.value.max),
    })
}

fn report(db: &Database, shares: &[Share], total: u64) -> Diagnostic {
    let max = db.max_connections.value;
    let note = db.max_connections.default_note();
    let parts: Vec<String> = shares
        .iter()
        .map(|s| format!("{} {}×{}", s.service.name.value, s.replicas, s.pool))
        .collect();
    let mut d = Diagnostic::error(
        "A309",
        db.max_connections.span,
        format!(
            "the services using `{}` may open {total} connections ({}) to each node, but it accepts {max}{note}",
            db.name.value,
            parts.join(" + ")
        ),
    )
    .with_primary_label(format!("max_connections = {max}{note}"));
    for s in shares {
        d = d.with_label(
            s.service.name.span,
            format!(
                "`{}`: up to {} replicas × {} = {} connections",
                s.service.name.value,
                s.replicas,
                s.pool_text,
                s.total()
            ),
        );
    }
    let instances: u64 = shares
        .iter()
        .map(|s| s.replicas)
        .fold(0, u64::saturating_add);
    let fit = u64::from(max) / instances.max(1);
    let pool = if fit >= 1 {
        format!("set `pool = {fit}` on `{}`, ", db.name.value)
    } else {
        String::new()
    };
    d.with_help(format!(
        "{pool}put a pooler (PgBouncer) in front of `{}`, cap the replicas, or raise `max_connections` to at least {total}",
        db.name.value
    ))
}
