//! A303: a geo sharding map that misses a system region or names a shard that does not exist.

use crate::check::common::system_regions;
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Database, GeoShard, ShardBy, Spanned};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// For `shard_by = geo(col, map = { region = shard ... })`, reports a region of
    /// `system.regions` (every declared region when the system lists none) that the map
    /// does not mention, and a map entry whose shard number is not in `0 .. shards − 1`.
    ///
    /// ## Why is this bad?
    /// Geographic sharding keeps each user's rows in their region (`shared/seed`, §5
    /// "geographic" strategy). A region without a shard has nowhere to write its users'
    /// rows; a shard number past the last shard routes rows to a database that does not
    /// exist.
    ///
    /// ## Example
    /// ```arch
    /// system shop { regions = [us_east, eu_west] }
    /// region us_east { name = "us-east-1" }
    /// region eu_west { name = "eu-west-1" }
    /// database users_db {
    ///   shards = 2
    ///   shard_by = geo(region, map = { us_east = 0  ap_south = 2 })
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// system shop { regions = [us_east, eu_west] }
    /// region us_east { name = "us-east-1" }
    /// region eu_west { name = "eu-west-1" }
    /// database users_db {
    ///   shards = 2
    ///   shard_by = geo(region, map = { us_east = 0  eu_west = 1 })
    /// }
    /// ```
    A303, Error, "geo map misses a region or names a missing shard", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let regions = system_regions(ctx.program);
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        let Some(Spanned {
            value: ShardBy::Geo { map, map_span, .. },
            ..
        }) = &db.shard_by
        else {
            continue;
        };
        out.extend(missing_regions(db, map, *map_span, &regions));
        out.extend(map.iter().filter_map(|e| missing_shard(db, e)));
    }
    out
}

fn missing_regions(
    db: &Database,
    map: &[GeoShard],
    map_span: Span,
    regions: &[(&str, Span)],
) -> Vec<Diagnostic> {
    regions
        .iter()
        .filter(|(name, _)| !map.iter().any(|e| e.region.value == *name))
        .map(|(name, span)| {
            Diagnostic::error(
                "A303",
                map_span,
                format!(
                    "the geo map of `{}` has no shard for region `{name}`",
                    db.name.value
                ),
            )
            .with_primary_label(format!("`{name}` missing"))
            .with_label(*span, format!("`{name}` is a region of the system"))
            .with_help(format!("add `{name} = <shard>` to the map"))
        })
        .collect()
}

fn missing_shard(db: &Database, e: &GeoShard) -> Option<Diagnostic> {
    let shards = i64::from(db.shards.value);
    if (0..shards).contains(&e.shard.value) {
        return None;
    }
    let note = db.shards.default_note();
    Some(
        Diagnostic::error(
            "A303",
            e.shard.span,
            format!(
                "the geo map of `{}` sends `{}` to shard {}, but the shards are numbered 0 to {}",
                db.name.value,
                e.region.value,
                e.shard.value,
                shards - 1
            ),
        )
        .with_primary_label(format!("no shard {}", e.shard.value))
        .with_label(db.shards.span, format!("{shards} shards{note}"))
        .with_help(format!(
            "use a shard from 0 to {}, or raise `shards` to {}",
            shards - 1,
            e.shard.value + 1
        )),
    )
}
