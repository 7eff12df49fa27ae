//! A301: the shard key is not a column of any table of its database.
//! Also home of the small sharding helpers the other A3 rules share.

use crate::check::Context;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::model::{Database, Spanned, Table};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports a `shard_by` whose column is not a column of any table of the database.
    /// A database whose tables declare no columns is not checked.
    ///
    /// ## Why is this bad?
    /// The router computes the shard from the shard key of each row (`shared/seed`, §5
    /// "Sharding Strategies"). A key that no table has cannot be computed: every write
    /// fails, or the shard is chosen from an always-empty value and all rows land on one
    /// shard.
    ///
    /// ## Example
    /// ```arch
    /// database orders_db {
    ///   shards = 4
    ///   shard_by = hash(customer_id)
    ///   table orders { columns { id = bigint  user_id = bigint } }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database orders_db {
    ///   shards = 4
    ///   shard_by = hash(user_id)
    ///   table orders { columns { id = bigint  user_id = bigint } }
    /// }
    /// ```
    A301, Error, "shard key is not a column of a table of that database", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.databases.iter().filter_map(check).collect()
}

fn check(db: &Database) -> Option<Diagnostic> {
    let key = db.shard_by.as_ref()?.value.column();
    let columns: Vec<&str> = db
        .tables
        .iter()
        .flat_map(|t| t.columns.iter().map(|c| c.name.value.as_str()))
        .collect();
    if columns.is_empty() || columns.contains(&key.value.as_str()) {
        return None;
    }
    let mut d = Diagnostic::error(
        "A301",
        key.span,
        format!(
            "`{}` shards by `{}`, but no table of `{}` has a column `{}`",
            db.name.value, key.value, db.name.value, key.value
        ),
    )
    .with_primary_label("not a column of any table");
    for t in db.tables.iter().filter(|t| !t.columns.is_empty()) {
        d = d.with_label(
            t.name.span,
            format!("table `{}` has no `{}`", t.name.value, key.value),
        );
    }
    let hint = did_you_mean(&key.value, columns.iter().copied());
    Some(d.with_help(if hint.is_empty() {
        format!(
            "add a `{}` column to the sharded tables, or shard by a column they have",
            key.value
        )
    } else {
        format!(
            "{hint} Shard by a column the tables have, or add `{}` to them",
            key.value
        )
    }))
}

/// The shard key of a database that is spread over more than one shard.
pub(super) fn shard_key(db: &Database) -> Option<&Spanned<String>> {
    if db.shards.value < 2 {
        return None;
    }
    db.shard_by.as_ref().map(|s| s.value.column())
}

/// True when the table is spread by `key`: it has that column, or declares no columns. A
/// table without the column is a reference table, copied whole to every shard.
pub(super) fn is_sharded(t: &Table, key: &str) -> bool {
    t.columns.is_empty() || t.column(key).is_some()
}

/// True when `value` is a default: defaults carry the span of their block's head, which ends
/// where the block's label (`name`) ends.
pub(super) fn is_default(value: Span, name: Span) -> bool {
    value.file == name.file && value.end == name.end && value.start <= name.start
}

/// ` (the default)` after a figure that came from a default, or nothing.
pub(super) fn default_note(value: Span, name: Span) -> &'static str {
    if is_default(value, name) {
        " (the default)"
    } else {
        ""
    }
}
