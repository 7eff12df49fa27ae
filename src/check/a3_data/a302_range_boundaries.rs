//! A302: range sharding boundaries out of order, or not `shards − 1` of them.

use crate::check::common::plural;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Boundary, Database, ShardBy, Spanned};

crate::declare_rule! {
    /// ## What it does
    /// Reports `shard_by = range(col, boundaries = [...])` whose boundaries are not strictly
    /// increasing (or mix numbers and strings), or whose count is not `shards − 1`.
    ///
    /// ## Why is this bad?
    /// Range sharding sends a row to the shard whose interval holds its key (`shared/seed`,
    /// §5 "range" strategy). `n` shards need `n − 1` cut points in increasing order; with
    /// fewer, some shards never receive a row; with more, rows are routed to shards that do
    /// not exist; out of order, intervals overlap or are empty.
    ///
    /// ## Example
    /// ```arch
    /// database events_db {
    ///   shards = 4
    ///   shard_by = range(id, boundaries = [1000, 500])
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database events_db {
    ///   shards = 4
    ///   shard_by = range(id, boundaries = [500, 1000, 1500])
    /// }
    /// ```
    A302, Error, "range boundaries not increasing, or count ≠ shards − 1", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        let Some(Spanned {
            value: ShardBy::Range { boundaries, .. },
            ..
        }) = &db.shard_by
        else {
            continue;
        };
        out.extend(order(db, boundaries));
        out.extend(count(db, boundaries));
    }
    out
}

fn show(b: &Boundary) -> String {
    match b {
        Boundary::Number(n) => format!("{n}"),
        Boundary::Text(s) => format!("\"{s}\""),
    }
}

/// Every pair of neighbours that is not strictly increasing.
fn order(db: &Database, boundaries: &Spanned<Vec<Spanned<Boundary>>>) -> Vec<Diagnostic> {
    boundaries.value.windows(2).filter_map(|pair| {
        let [a, b] = pair else { return None };
        let problem = match (&a.value, &b.value) {
            (Boundary::Number(x), Boundary::Number(y)) if x < y => return None,
            (Boundary::Text(x), Boundary::Text(y)) if x < y => return None,
            (Boundary::Number(_), Boundary::Text(_)) | (Boundary::Text(_), Boundary::Number(_)) => "mixes a number and a string".to_string(),
            _ if a.value == b.value => format!("repeats {}", show(&a.value)),
            _ => format!("goes down from {} to {}", show(&a.value), show(&b.value)),
        };
        Some(
            Diagnostic::error("A302", b.span, format!("the range boundaries of `{}` are not strictly increasing: the list {problem}", db.name.value))
                .with_primary_label("not greater than the boundary before it")
                .with_label(a.span, "previous boundary")
                .with_help("list the boundaries in strictly increasing order, all numbers or all strings"),
        )
    })
    .collect()
}

fn count(db: &Database, boundaries: &Spanned<Vec<Spanned<Boundary>>>) -> Option<Diagnostic> {
    let have = boundaries.value.len() as u64;
    let shards = u64::from(db.shards.value);
    let need = shards.saturating_sub(1);
    if have == need {
        return None;
    }
    let shards_text = format!(
        "{shards} {}{}",
        plural(shards, "shard", "shards"),
        db.shards.default_note()
    );
    Some(
        Diagnostic::error(
            "A302",
            boundaries.span,
            format!(
                "`{}` has {shards_text} and needs {need} range {}, but lists {have}",
                db.name.value,
                plural(need, "boundary", "boundaries")
            ),
        )
        .with_primary_label(format!("{have} {}", plural(have, "boundary", "boundaries")))
        .with_label(db.shards.span, shards_text)
        .with_help(format!(
            "give exactly shards − 1 = {need} boundaries, or set `shards = {}`",
            have + 1
        )),
    )
}
