//! Rules of family A5 (checks.md). One file per rule.

use crate::check::Rule;

mod a501_retry_without_dead_letter;
mod a502_dead_letter_loop;
mod a503_exactly_once;
mod a504_idle_consumers;
mod a505_ordering_concurrency;
mod a506_replication_brokers;
mod a507_cron;
mod a508_orphan_queue;
mod a509_backoff_max;
mod a510_engine_features;
mod common;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    a501_retry_without_dead_letter::RULE,
    a502_dead_letter_loop::RULE,
    a503_exactly_once::RULE,
    a504_idle_consumers::RULE,
    a505_ordering_concurrency::RULE,
    a506_replication_brokers::RULE,
    a507_cron::RULE,
    a508_orphan_queue::RULE,
    a509_backoff_max::RULE,
    a510_engine_features::RULE,
];
