//! Rules of family A4 (checks.md). One file per rule.

use crate::check::Rule;

mod a401_user_key_without_auth;
mod a402_local_scope;
mod a403_shadowed_route_limit;
mod a404_block_shorter_than_window;
mod a405_tiers_and_api_key;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    a401_user_key_without_auth::RULE,
    a402_local_scope::RULE,
    a403_shadowed_route_limit::RULE,
    a404_block_shorter_than_window::RULE,
    a405_tiers_and_api_key::RULE,
];
