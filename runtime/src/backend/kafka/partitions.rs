//! [`Partitions`]: what one Kafka consumer holds of each partition assigned to it — the
//! records fetched and not yet handed out, whether a record of the partition is with a
//! handler, and which offsets are not yet settled — and from that the two answers the
//! broker needs: which record may go to a handler next (one per partition at a time, so a
//! partition's records, and so each key's, are handled in order whatever the consumer's
//! concurrency), and which offset the group may commit (the lowest one not yet settled,
//! so a restart or a rebalance redelivers, never skips). Each assignment of a partition is
//! a new generation: what was handed out under an earlier one no longer counts towards the
//! commit, since the group's commit moved on without it.
//!
//! Pure bookkeeping, no I/O: the broker feeds it records and settlements.

use std::collections::{BTreeMap, VecDeque};

/// A fetched record, detached from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// The record key.
    pub key: Option<Vec<u8>>,
    /// The record value.
    pub payload: Vec<u8>,
    /// The record headers.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Records fetched and not handed out, across all partitions, past which the consumer
/// waits for a handler to finish instead of fetching more: every buffered record is then
/// behind a record of its partition still with a handler.
pub const MAX_BUFFERED: usize = 1_000;

#[derive(Debug, Default)]
struct Partition {
    buffered: VecDeque<Fetched>,
    /// A record of this partition is with a handler.
    busy: bool,
    /// Offsets handed out and not yet settled for good, with how many times each is out
    /// (a rebalance can hand the same offset out again).
    unsettled: BTreeMap<i64, u32>,
    /// The offset after the highest one handed out since the partition was assigned.
    next: Option<i64>,
    /// How many times the partition was assigned to this consumer.
    generation: u64,
}

impl Partition {
    /// The offset the group may commit: the lowest unsettled one, or the one after the
    /// last handed out when all are settled.
    fn committable(&self) -> Option<i64> {
        self.unsettled.keys().next().copied().or(self.next)
    }
}

/// One consumer's view of its partitions.
#[derive(Debug, Default)]
pub struct Partitions {
    partitions: BTreeMap<i32, Partition>,
    buffered: usize,
    /// The partition handed out last: the search for the next record starts after it, so
    /// no partition starves the others.
    last: Option<i32>,
}

impl Partitions {
    /// Keeps a fetched record until its partition is free.
    pub fn push(&mut self, record: Fetched) {
        self.buffered += 1;
        self.partitions
            .entry(record.partition)
            .or_default()
            .buffered
            .push_back(record);
    }

    /// Whether the consumer should wait for a settlement instead of fetching more.
    pub fn full(&self) -> bool {
        self.buffered >= MAX_BUFFERED
    }

    /// The next record whose partition has none with a handler, marked as handed out,
    /// with the generation of its partition's assignment.
    pub fn take(&mut self) -> Option<(Fetched, u64)> {
        let after = self.last;
        let free = |(id, p): (&i32, &Partition)| (!p.busy && !p.buffered.is_empty()).then_some(*id);
        let id = match after {
            Some(last) => self
                .partitions
                .range(last + 1..)
                .find_map(free)
                .or_else(|| self.partitions.range(..=last).find_map(free)),
            None => self.partitions.iter().find_map(free),
        }?;
        let partition = self.partitions.get_mut(&id)?;
        let record = partition.buffered.pop_front()?;
        self.buffered -= 1;
        partition.busy = true;
        *partition.unsettled.entry(record.offset).or_default() += 1;
        partition.next = Some(
            partition
                .next
                .map_or(record.offset + 1, |n| n.max(record.offset + 1)),
        );
        self.last = Some(id);
        Some((record, partition.generation))
    }

    /// The handler of `partition`'s record is done with it: the partition's next record
    /// may go out (its offset may still wait for a retry to be produced, see
    /// [`Partitions::settled`]).
    pub fn free(&mut self, partition: i32) {
        if let Some(p) = self.partitions.get_mut(&partition) {
            p.busy = false;
        }
    }

    /// `offset` of `partition`, handed out in `generation`, is settled for good
    /// (acknowledged, or its retry or dead letter produced). Returns the offset the group
    /// may now commit for the partition; nothing for a record of an earlier generation.
    pub fn settled(&mut self, partition: i32, generation: u64, offset: i64) -> Option<i64> {
        let p = self
            .partitions
            .get_mut(&partition)
            .filter(|p| p.generation == generation)?;
        if let Some(count) = p.unsettled.get_mut(&offset) {
            *count -= 1;
            if *count == 0 {
                p.unsettled.remove(&offset);
            }
        }
        p.committable()
    }

    /// The group gave these partitions to this consumer: their read position is the
    /// group's committed offset now, not where this consumer was before, and records
    /// still with handlers from before no longer hold the commit back (the group may
    /// already have committed past them).
    pub fn assigned(&mut self, partitions: &[i32]) {
        for id in partitions {
            let p = self.partitions.entry(*id).or_default();
            p.generation += 1;
            p.unsettled.clear();
            p.next = None;
        }
    }

    /// The group took these partitions away: their fetched records are the new owner's to
    /// read, so they are dropped here. Records with a handler still settle.
    ///
    /// The revocation already ends the generation: between librdkafka's assignment and
    /// [`Partitions::assigned`] a late settlement of the old one must not store its offset.
    pub fn revoked(&mut self, partitions: &[i32]) {
        for id in partitions {
            if let Some(p) = self.partitions.get_mut(id) {
                self.buffered -= p.buffered.len();
                p.buffered.clear();
                p.next = None;
                p.generation += 1;
                p.unsettled.clear();
            }
        }
    }

    /// Records fetched from `partition` and not handed out.
    pub fn buffered_in(&self, partition: i32) -> usize {
        self.partitions
            .get(&partition)
            .map_or(0, |p| p.buffered.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64) -> Fetched {
        Fetched {
            partition,
            offset,
            key: None,
            payload: Vec::new(),
            headers: Vec::new(),
        }
    }

    fn taken(p: &mut Partitions) -> Option<(i32, i64)> {
        p.take().map(|(r, _)| (r.partition, r.offset))
    }

    #[test]
    fn a_partition_hands_out_one_record_at_a_time_in_order() {
        let mut p = Partitions::default();
        for offset in 0..3 {
            p.push(record(0, offset));
        }
        assert_eq!(taken(&mut p), Some((0, 0)));
        assert_eq!(taken(&mut p), None, "offset 0 is still with its handler");
        p.free(0);
        assert_eq!(taken(&mut p), Some((0, 1)));
        p.free(0);
        assert_eq!(taken(&mut p), Some((0, 2)));
    }

    #[test]
    fn partitions_are_handed_out_side_by_side_and_in_turn() {
        let mut p = Partitions::default();
        for (partition, offset) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)] {
            p.push(record(partition, offset));
        }
        assert_eq!(taken(&mut p), Some((0, 0)));
        assert_eq!(taken(&mut p), Some((1, 0)));
        assert_eq!(taken(&mut p), Some((2, 0)));
        p.free(0);
        p.free(1);
        // After partition 2, the turn comes back round to 0 before 1.
        assert_eq!(taken(&mut p), Some((0, 1)));
        assert_eq!(taken(&mut p), Some((1, 1)));
    }

    #[test]
    fn the_committable_offset_waits_for_the_lowest_unsettled_one() {
        let mut p = Partitions::default();
        for offset in 0..3 {
            p.push(record(0, offset));
        }
        for _ in 0..3 {
            p.take();
            p.free(0);
        }
        // Offset 0 waits for its retry to be produced; 1 and 2 are done.
        assert_eq!(p.settled(0, 0, 1), Some(0));
        assert_eq!(p.settled(0, 0, 2), Some(0));
        assert_eq!(p.settled(0, 0, 0), Some(3));
    }

    #[test]
    fn a_revoked_partition_drops_what_it_fetched_and_a_reassigned_one_starts_over() {
        let mut p = Partitions::default();
        for offset in 0..3 {
            p.push(record(0, offset));
        }
        let (_, old) = p.take().expect("offset 0");
        p.revoked(&[0]);
        assert_eq!(p.buffered_in(0), 0);
        assert!(!p.full());
        p.free(0);
        assert_eq!(taken(&mut p), None);
        // Offset 0 was with a handler during the rebalance: it settles, but under the
        // old generation, so it moves nothing.
        p.assigned(&[0]);
        assert_eq!(p.settled(0, old, 0), None);
        p.push(record(0, 1));
        let (r, new) = p.take().expect("offset 1");
        assert_eq!((r.offset, new == old), (1, false));
        assert_eq!(p.settled(0, new, 1), Some(2));
    }

    #[test]
    fn a_record_left_unsettled_before_a_reassignment_does_not_pull_the_commit_back() {
        let mut p = Partitions::default();
        p.assigned(&[0]);
        p.push(record(0, 3));
        let (_, first) = p.take().expect("offset 3");
        p.free(0);
        // The partition goes to another instance, which commits up to 100, and comes back;
        // offset 3 settling between the revocation and the new assignment moves nothing.
        p.revoked(&[0]);
        assert_eq!(p.settled(0, first, 3), None);
        p.assigned(&[0]);
        p.push(record(0, 100));
        let (_, second) = p.take().expect("offset 100");
        assert_eq!(p.settled(0, second, 100), Some(101));
        // A late settlement of the first generation: the commit stays at 101.
        assert_eq!(p.settled(0, first, 3), None);
        p.push(record(0, 101));
        p.free(0);
        let (_, third) = p.take().expect("offset 101");
        assert_eq!(p.settled(0, third, 101), Some(102));
    }

    #[test]
    fn a_full_buffer_says_so() {
        let mut p = Partitions::default();
        for offset in 0..MAX_BUFFERED {
            p.push(record(0, offset as i64));
        }
        assert!(p.full());
        p.take();
        assert!(!p.full());
    }
}
