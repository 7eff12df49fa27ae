//! A703: read and write quorums that do not overlap (r + w ≤ n).

use crate::check::common::plural;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Consistency, Database, Spanned, System};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports read and write consistency levels whose copies add up to no more than the
    /// copies kept: r + w ≤ n, with `one` = 1, `quorum` = ⌊n/2⌋ + 1 and `all` = n copies.
    /// Checked for the system's `availability { consistency replication }` (the same level
    /// for reads and writes) and for every database with a `consistency { read write }`
    /// block, where n = 1 + `replicas`; a level the block leaves out is the system's
    /// `availability.consistency` (quorum by default).
    ///
    /// ## Why is this bad?
    /// When the copies a read asks and the copies a write waited for need not share one,
    /// a read can be served entirely by copies the latest write has not reached yet: users
    /// read their own writes back as missing or old (seed §10, data replication and
    /// consistency levels). r + w > n guarantees the sets overlap.
    ///
    /// ## Example
    /// ```arch
    /// database events_db {
    ///   engine = cassandra
    ///   replicas = 2
    ///   consistency { read = one  write = one }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database events_db {
    ///   engine = cassandra
    ///   replicas = 2
    ///   consistency { read = one  write = all }
    /// }
    /// ```
    A703, Warning, "read and write quorums do not overlap", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let inherited = ctx
        .program
        .system
        .as_ref()
        .map(|s| s.availability.consistency.value)
        .unwrap_or(Consistency::Quorum);
    let mut out: Vec<Diagnostic> = ctx.program.system.iter().filter_map(system).collect();
    out.extend(
        ctx.program
            .databases
            .iter()
            .filter_map(|db| database(db, inherited)),
    );
    out
}

/// Copies a read or write at level `k` involves out of `n`.
fn copies(k: Consistency, n: u64) -> u64 {
    match k {
        Consistency::One => 1.min(n),
        Consistency::Quorum => n / 2 + 1,
        Consistency::All => n,
    }
}

fn system(s: &System) -> Option<Diagnostic> {
    let ha = &s.availability;
    let n = u64::from(ha.replication.value);
    let k = copies(ha.consistency.value, n);
    if k + k > n {
        return None;
    }
    Some(
        Diagnostic::warning(
            "A703",
            ha.consistency.span,
            format!("reads and writes at `{}` touch {k} + {k} of {n} copies: a read may miss the latest write", ha.consistency.value),
        )
        .with_primary_label(format!("{k} of {n} copies"))
        .with_label(ha.replication.span, format!("replication {n}"))
        .with_help("use `consistency = quorum` so that reads and writes overlap in at least one copy"),
    )
}

fn database(db: &Database, inherited: Consistency) -> Option<Diagnostic> {
    let c = db.consistency.as_ref()?;
    let primary = c.read.as_ref().or(c.write.as_ref())?.span;
    let n = u64::from(db.replicas.value) + 1;
    let level = |k: &Option<Spanned<Consistency>>| k.as_ref().map(|k| k.value).unwrap_or(inherited);
    let (read, write) = (level(&c.read), level(&c.write));
    let (r, w) = (copies(read, n), copies(write, n));
    if r + w > n {
        return None;
    }
    let mut d = Diagnostic::warning(
        "A703",
        primary,
        format!(
            "{} reads at `{read}` ({r} {}) and writes at `{write}` ({w} {}) of {n} (1 + {} replicas): {r} + {w} ≤ {n}, so a read may miss the latest write",
            db.name.value,
            plural(r, "copy", "copies"),
            plural(w, "copy", "copies"),
            db.replicas.value,
        ),
    )
    .with_primary_label(format!("r + w = {}, copies = {n}", r + w));
    let other: Option<Span> = if c.read.is_some() {
        c.write.as_ref().map(|w| w.span)
    } else {
        None
    };
    if let Some(span) = other {
        d = d.with_label(span, format!("writes wait for {w}"));
    }
    d = d.with_label(db.replicas.span, format!("{n} copies"));
    Some(d.with_help(format!(
        "make r + w > {n}: e.g. `read = quorum  write = quorum`, or `write = all`"
    )))
}
