//! Rules of family A3 (checks.md). One file per rule.

use crate::check::Rule;

mod a301_shard_key_column;
mod a302_range_boundaries;
mod a303_geo_map;
mod a304_unique_index_shard_key;
mod a305_broadcast_query;
mod a306_unknown_column;
mod a307_redundant_index;
mod a308_snowflake_shards;
mod a309_connection_budget;
mod a310_unindexed_query;
mod common;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    a301_shard_key_column::RULE,
    a302_range_boundaries::RULE,
    a303_geo_map::RULE,
    a304_unique_index_shard_key::RULE,
    a305_broadcast_query::RULE,
    a306_unknown_column::RULE,
    a307_redundant_index::RULE,
    a308_snowflake_shards::RULE,
    a309_connection_budget::RULE,
    a310_unindexed_query::RULE,
];
