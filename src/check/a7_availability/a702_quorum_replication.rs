//! A702: `consistency = quorum` over fewer than 3 copies.

use crate::check::common::plural;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Consistency, Database, Spanned, System};

crate::declare_rule! {
    /// ## What it does
    /// Reports `consistency = quorum` over fewer than 3 copies: in the system's
    /// `availability { consistency replication }`, and in a database's
    /// `consistency { read write }`, where the copies are the primary plus its `replicas`
    /// (1 + replicas).
    ///
    /// ## Why is this bad?
    /// A quorum is a majority, ⌊n/2⌋ + 1 copies. Over 2 copies that is both of them, over 1
    /// it is the only one: losing a single copy stops every quorum read or write, so the
    /// quorum buys consistency at the price of less availability than one node alone
    /// (seed §10, data replication with a `quorum` consistency level). Three copies are the
    /// smallest set where a quorum survives a failure.
    ///
    /// ## Example
    /// ```arch
    /// database users_db {
    ///   engine = cassandra
    ///   replicas = 1
    ///   consistency { read = quorum  write = quorum }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database users_db {
    ///   engine = cassandra
    ///   replicas = 2
    ///   consistency { read = quorum  write = quorum }
    /// }
    /// ```
    A702, Error, "quorum with replication below 3", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = ctx.program.system.iter().filter_map(system).collect();
    out.extend(ctx.program.databases.iter().filter_map(database));
    out
}

fn system(s: &System) -> Option<Diagnostic> {
    let ha = &s.availability;
    let n = ha.replication.value;
    if ha.consistency.value != Consistency::Quorum || n >= 3 {
        return None;
    }
    Some(
        Diagnostic::error(
            "A702",
            ha.replication.span,
            format!("`consistency = quorum` with replication {n}: a quorum of {n} is every copy, so losing one copy stops quorum reads and writes"),
        )
        .with_primary_label(format!("{n} {}", plural(n.into(), "copy", "copies")))
        .with_label(ha.consistency.span, "quorum = a majority of the copies")
        .with_help("set `replication = 3` (or more), or use `consistency = one` if stale reads are acceptable"),
    )
}

fn database(db: &Database) -> Option<Diagnostic> {
    let c = db.consistency.as_ref()?;
    let quorum = |k: &Option<Spanned<Consistency>>| {
        k.as_ref()
            .filter(|k| k.value == Consistency::Quorum)
            .map(|k| k.span)
    };
    let spans: Vec<_> = [quorum(&c.read), quorum(&c.write)]
        .into_iter()
        .flatten()
        .collect();
    let (first, rest) = spans.split_first()?;
    let replicas = db.replicas.value;
    let n = u64::from(replicas) + 1;
    if n >= 3 {
        return None;
    }
    let mut d = Diagnostic::error(
        "A702",
        *first,
        format!(
            "{} uses `quorum` over {n} {} (1 + {replicas} {}): a quorum of {n} is every copy, so losing one stops it",
            db.name.value,
            plural(n, "copy", "copies"),
            plural(replicas.into(), "replica", "replicas"),
        ),
    )
    .with_primary_label("quorum = a majority of the copies")
    .with_label(db.replicas.span, format!("{replicas} {}", plural(replicas.into(), "replica", "replicas")));
    for span in rest {
        d = d.with_label(*span, "also quorum");
    }
    Some(
        d.with_help("set `replicas = 2` (3 copies), or use `one` where stale reads are acceptable"),
    )
}
