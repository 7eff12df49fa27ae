//! A301: the shard key is not a column of any table of its database.

use crate::check::Context;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::model::Database;

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
