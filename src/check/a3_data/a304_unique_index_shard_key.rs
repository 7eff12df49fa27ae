//! A304: a unique index on a sharded table must contain the shard key.

use super::common::{is_sharded, shard_key};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Database, Index, IndexPart, Spanned, Table};

crate::declare_rule! {
    /// ## What it does
    /// On a database with more than one shard and a `shard_by`, reports an index with
    /// `unique = true` whose columns (`on`, not `include`) do not contain the shard key.
    /// The primary key is not checked: ids from `snowflake`, `uuid` or `ulid` are unique
    /// across shards by construction. A table without the shard-key column is taken as a
    /// reference table, copied whole to every shard, and is not checked either.
    ///
    /// ## Why is this bad?
    /// Each shard enforces its own indexes only (`shared/seed`, §5). Two rows with the same
    /// value but different shard keys land on different shards, and both inserts succeed:
    /// the "unique" email is not unique.
    ///
    /// ## Example
    /// ```arch
    /// database users_db {
    ///   shards = 4
    ///   shard_by = hash(tenant_id)
    ///   table users {
    ///     columns { id = bigint  tenant_id = bigint  email = text }
    ///     index { on = [email]  unique = true }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database users_db {
    ///   shards = 4
    ///   shard_by = hash(tenant_id)
    ///   table users {
    ///     columns { id = bigint  tenant_id = bigint  email = text }
    ///     index { on = [tenant_id, email]  unique = true }
    ///   }
    /// }
    /// ```
    A304, Error, "unique index without the shard key", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        let Some(key) = shard_key(db) else { continue };
        for t in db.tables.iter().filter(|t| is_sharded(t, &key.value)) {
            out.extend(t.indexes.iter().filter_map(|i| check(db, t, i, key)));
        }
    }
    out
}

fn check(db: &Database, t: &Table, i: &Index, key: &Spanned<String>) -> Option<Diagnostic> {
    if !i.unique.value || i.on.is_empty() {
        return None;
    }
    let has_key = i.on.iter().any(|p| match p {
        IndexPart::Column(c) => c.value == key.value,
        IndexPart::Expression(e) => e.value.trim() == key.value,
    });
    if has_key {
        return None;
    }
    let cols: Vec<&str> =
        i.on.iter()
            .map(|p| match p {
                IndexPart::Column(c) | IndexPart::Expression(c) => c.value.as_str(),
            })
            .collect();
    let mut fixed = vec![key.value.clone()];
    fixed.extend(i.on.iter().map(|p| match p {
        IndexPart::Column(c) => c.value.clone(),
        IndexPart::Expression(e) => format!("{:?}", e.value),
    }));
    Some(
        Diagnostic::error(
            "A304",
            i.unique.span,
            format!(
                "unique index on `{}.{}` ({}) does not contain the shard key `{}`: each of the {} shards enforces it on its own rows only",
                db.name.value,
                t.name.value,
                cols.join(", "),
                key.value,
                db.shards.value
            ),
        )
        .with_primary_label("unique only within one shard")
        .with_label(i.span, "this index")
        .with_label(key.span, format!("rows are spread by `{}`", key.value))
        .with_help(format!(
            "write `on = [{}]` (unique per `{}`), or enforce global uniqueness in a separate unsharded lookup table",
            fixed.join(", "),
            key.value
        )),
    )
}
