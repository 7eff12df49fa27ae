//! Rules of family A6 (checks.md). One file per rule.

use crate::check::Rule;

mod a601_duplicate_route;
mod a602_retry_non_idempotent;
mod a603_timeout_budget;
mod a604_call_cycle;
mod a605_cors_credentials;
mod a606_canary;
mod a607_route_without_endpoint;
mod a608_latency_budget;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    a601_duplicate_route::RULE,
    a602_retry_non_idempotent::RULE,
    a603_timeout_budget::RULE,
    a604_call_cycle::RULE,
    a605_cors_credentials::RULE,
    a606_canary::RULE,
    a607_route_without_endpoint::RULE,
    a608_latency_budget::RULE,
];
