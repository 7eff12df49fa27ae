//! Rules of family A1 (checks.md). One file per rule.

use crate::check::Rule;

mod a101_weights;
mod a102_health_timeout;
mod a103_replica_range;
mod a104_single_point_of_failure;
mod a105_ip_hash_autoscaled;
mod a106_autoscale_capacity;
mod a107_l7_on_l4;
mod a108_unreachable_route;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    a101_weights::RULE,
    a102_health_timeout::RULE,
    a103_replica_range::RULE,
    a104_single_point_of_failure::RULE,
    a105_ip_hash_autoscaled::RULE,
    a106_autoscale_capacity::RULE,
    a107_l7_on_l4::RULE,
    a108_unreachable_route::RULE,
];
