//! Helpers the A5 rules share.

use crate::model::{Consumer, Program, Queue, Service};
use std::collections::{BTreeMap, HashMap};

/// The consumers of one queue in one service: a consumer group (every group receives every
/// message; its consumers share them).
pub(super) struct ConsumerGroup<'p> {
    pub queue: &'p Queue,
    pub service: &'p Service,
    /// The service's `consumes` blocks reading from the queue, never empty.
    pub consumers: Vec<&'p Consumer>,
}

/// Every consumer group, queue by queue in declaration order, then service by service.
pub(super) fn consumer_groups(p: &Program) -> Vec<ConsumerGroup<'_>> {
    // queue name → (service index → its consumers of that queue), built in one pass.
    let mut by_queue: HashMap<&str, BTreeMap<usize, Vec<&Consumer>>> = HashMap::new();
    for (i, service) in p.services.iter().enumerate() {
        for c in &service.consumers {
            if let Some(from) = &c.from {
                by_queue
                    .entry(from.name.as_str())
                    .or_default()
                    .entry(i)
                    .or_default()
                    .push(c);
            }
        }
    }
    let mut out = Vec::new();
    for queue in &p.queues {
        let Some(groups) = by_queue.get(queue.name.value.as_str()) else {
            continue;
        };
        for (&i, consumers) in groups {
            if let Some(service) = p.services.get(i) {
                out.push(ConsumerGroup {
                    queue,
                    service,
                    consumers: consumers.clone(),
                });
            }
        }
    }
    out
}
