//! Rules of family A2 (checks.md). One file per rule.

use crate::check::Rule;

mod a201_ttl_order;
mod a202_stale_forever;
mod a203_invalidation_queue;
mod a204_write_behind_buffer;
mod a205_cached_auth_leak;
mod a206_cdn_ttl_order;
mod a207_cache_sizing;
mod a208_cdn_caches_auth;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    a201_ttl_order::RULE,
    a202_stale_forever::RULE,
    a203_invalidation_queue::RULE,
    a204_write_behind_buffer::RULE,
    a205_cached_auth_leak::RULE,
    a206_cdn_ttl_order::RULE,
    a207_cache_sizing::RULE,
    a208_cdn_caches_auth::RULE,
];
