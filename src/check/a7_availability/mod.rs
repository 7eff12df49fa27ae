//! Rules of family A7 (checks.md). One file per rule.

use crate::check::Rule;

mod a701_availability_below_slo;
mod a702_quorum_replication;
mod a703_quorum_overlap;
mod a704_rpo_backup;
mod a705_rollout_batch;
mod a706_dr_region;
mod a707_cold_rto;
mod a708_single_region;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    a701_availability_below_slo::RULE,
    a702_quorum_replication::RULE,
    a703_quorum_overlap::RULE,
    a704_rpo_backup::RULE,
    a705_rollout_batch::RULE,
    a706_dr_region::RULE,
    a707_cold_rto::RULE,
    a708_single_region::RULE,
];
