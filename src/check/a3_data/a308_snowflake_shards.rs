//! A308: snowflake ids with more shards than the shard bits hold.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Database, Ids};

/// Snowflake ids: 41 bits of time, 10 bits of shard (or worker), 12 bits of sequence.
const SHARD_BITS: u32 = 10;

crate::declare_rule! {
    /// ## What it does
    /// Reports a database with `ids = snowflake` (the default when `shards` > 1) and more
    /// than 1024 shards: the 10 shard bits of a snowflake id cannot number them.
    ///
    /// ## Why is this bad?
    /// A snowflake id is 41 bits of time, 10 bits of shard and 12 bits of sequence
    /// (`shared/seed`, §5 "generateSnowflakeId"). Shard 1024 wraps around to shard 0: two
    /// shards mint the same ids, and ids no longer say where their row lives.
    ///
    /// ## Example
    /// ```arch
    /// database events_db {
    ///   shards = 2048
    ///   shard_by = hash(id)
    ///   ids = snowflake
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database events_db {
    ///   shards = 2048
    ///   shard_by = hash(id)
    ///   ids = ulid
    /// }
    /// ```
    A308, Error, "snowflake ids with more than 1024 shards", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.databases.iter().filter_map(check).collect()
}

fn check(db: &Database) -> Option<Diagnostic> {
    let capacity = 1u64 << SHARD_BITS;
    let shards = u64::from(db.shards.value);
    if db.ids.value != Ids::Snowflake || shards <= capacity {
        return None;
    }
    let note = db.ids.default_note();
    Some(
        Diagnostic::error(
            "A308",
            db.shards.span,
            format!(
                "`{}` has {shards} shards, but snowflake ids{note} hold {capacity} ({SHARD_BITS} shard bits)",
                db.name.value
            ),
        )
        .with_primary_label(format!("{shards} shards > {capacity}"))
        .with_label(db.ids.span, format!("ids = snowflake{note}"))
        .with_help(format!("use `ids = ulid` or `ids = uuid`, or at most {capacity} shards"))
    )
}
