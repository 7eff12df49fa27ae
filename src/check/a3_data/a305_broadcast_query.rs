//! A305: an access pattern that does not filter by the shard key reaches every shard.

use super::common::{is_sharded, parse_access_pattern, shard_key, AccessPattern};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{CrossShard, Database, ShardBy, Spanned, Table};

crate::declare_rule! {
    /// ## What it does
    /// On a database with more than one shard and a `shard_by`, reads each `queries`
    /// pattern of its tables and reports one that cannot be routed to a single shard:
    /// a `"by ..."` pattern whose columns do not include the shard key, a `"range x"`
    /// pattern unless `x` is the key of a `range`-sharded database, and every
    /// `"search x"` pattern. Patterns of another form are not checked, nor are tables
    /// without the shard-key column (reference tables, copied whole to every shard).
    ///
    /// ## Why is this bad?
    /// The router can only pick the shard from the shard key (`shared/seed`, §5
    /// "broadcast query"). Any other filter is sent to every shard and the results are
    /// merged: the query costs `shards` times as much, and is as slow as the slowest shard.
    /// With `cross_shard = forbid` the query fails outright.
    ///
    /// ## Example
    /// ```arch
    /// database orders_db {
    ///   shards = 8
    ///   shard_by = hash(user_id)
    ///   table orders {
    ///     columns { id = bigint  user_id = bigint  status = text }
    ///     index { on = [status] }
    ///     queries = ["by status"]
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database orders_db {
    ///   shards = 8
    ///   shard_by = hash(user_id)
    ///   table orders {
    ///     columns { id = bigint  user_id = bigint  status = text }
    ///     index { on = [user_id, status] }
    ///     queries = ["by user_id, status"]
    ///   }
    /// }
    /// ```
    A305, Warning, "access pattern queries every shard", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        let Some(key) = shard_key(db) else { continue };
        let by_range = matches!(
            db.shard_by.as_ref().map(|s| &s.value),
            Some(ShardBy::Range { .. })
        );
        for t in db.tables.iter().filter(|t| is_sharded(t, &key.value)) {
            for q in &t.queries {
                let Some(p) = parse_access_pattern(&q.value) else {
                    continue;
                };
                if let Some(why) = broadcast(&p, &key.value, by_range) {
                    out.push(report(db, t, q, key, &why).with_help(help(&p, &key.value)));
                }
            }
        }
    }
    out
}

/// Why the pattern reaches every shard, or None when it is routed to one.
fn broadcast(p: &AccessPattern, key: &str, by_range: bool) -> Option<String> {
    match p {
        AccessPattern::By { columns, .. } if columns.iter().any(|c| c == key) => None,
        AccessPattern::By { columns, .. } => Some(format!(
            "it filters by {}, not by the shard key `{key}`",
            columns.join(", ")
        )),
        AccessPattern::Range(x) if x == key && by_range => None,
        AccessPattern::Range(x) if x == key => Some(format!(
            "an interval of `{key}` spans every shard of a hash, directory or geo sharding"
        )),
        AccessPattern::Range(x) => Some(format!(
            "it filters by an interval of `{x}`, not by the shard key `{key}`"
        )),
        AccessPattern::Search(x) => Some(format!("a search in `{x}` must look in every shard")),
    }
}

fn report(
    db: &Database,
    t: &Table,
    q: &Spanned<String>,
    key: &Spanned<String>,
    why: &str,
) -> Diagnostic {
    let forbid = db.cross_shard.value == CrossShard::Forbid;
    let mut d = Diagnostic::warning(
        "A305",
        q.span,
        format!(
            "the access pattern \"{}\" on `{}.{}` is sent to all {} shards: {why}{}",
            q.value,
            db.name.value,
            t.name.value,
            db.shards.value,
            if forbid {
                " (and `cross_shard = forbid` rejects it)"
            } else {
                ""
            }
        ),
    )
    .with_primary_label(format!("\"{}\" queries every shard", q.value))
    .with_label(key.span, format!("rows are spread by `{}`", key.value));
    if forbid {
        d = d.with_label(db.cross_shard.span, "cross-shard queries are forbidden");
    }
    d
}

fn help(p: &AccessPattern, key: &str) -> String {
    match p {
        AccessPattern::By { columns, .. } => format!(
            "filter by the shard key too (\"by {key}, {}\"), or keep a lookup table sharded by {} that maps to `{key}`",
            columns.join(", "),
            columns.join(", ")
        ),
        AccessPattern::Range(x) if x == key => format!("shard by `range({key}, boundaries = [...])` if intervals of `{key}` are the main access, or add the shard key to the pattern"),
        AccessPattern::Range(_) => format!("add the shard key to the pattern (\"by {key}\" first), or serve it from a copy partitioned by that column"),
        AccessPattern::Search(_) => format!("search within one `{key}` (\"by {key}\" first), or serve search from a dedicated search index fed by every shard"),
    }
}
