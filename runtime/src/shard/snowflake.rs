//! Snowflake ids (`ids = snowflake`): 64-bit, time-ordered, carrying the shard.
//!
//! Layout, most significant bit first: 1 bit zero (so ids are positive `bigint`s), 41 bits
//! of milliseconds since a custom epoch (about 69 years), 10 bits of shard/worker id
//! (0..=1023), 12 bits of sequence (4096 ids per millisecond per worker).
//!
//! Ids from one generator strictly increase. When the clock goes back, or a millisecond's
//! 4096 sequence numbers are used up, the generator keeps counting on its last timestamp,
//! moving it forward by one millisecond when needed, instead of sleeping or failing.

use super::{IdError, IdGenerator};
use crate::clock::Clock;
use std::sync::{Arc, Mutex};

/// The default epoch: 2024-01-01T00:00:00Z, in milliseconds since the Unix epoch.
pub const DEFAULT_EPOCH_MS: u64 = 1_704_067_200_000;
/// Largest shard/worker id (10 bits).
pub const MAX_WORKER: u16 = 1_023;
const SEQUENCE_BITS: u32 = 12;
const WORKER_BITS: u32 = 10;
const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;
const MAX_TIMESTAMP: u64 = (1 << 41) - 1;

/// The fields of a snowflake id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnowflakeParts {
    /// Milliseconds since the generator's epoch.
    pub timestamp_ms: u64,
    /// Shard/worker id.
    pub worker: u16,
    /// Sequence within the millisecond.
    pub sequence: u16,
}

impl SnowflakeParts {
    /// Splits `id` into its fields.
    pub fn of(id: u64) -> Self {
        Self {
            timestamp_ms: id >> (WORKER_BITS + SEQUENCE_BITS),
            worker: ((id >> SEQUENCE_BITS) & u64::from(MAX_WORKER)) as u16,
            sequence: (id & MAX_SEQUENCE) as u16,
        }
    }

    /// Joins the fields (each masked to its width) into an id.
    pub fn to_id(self) -> u64 {
        ((self.timestamp_ms & MAX_TIMESTAMP) << (WORKER_BITS + SEQUENCE_BITS))
            | (u64::from(self.worker & MAX_WORKER) << SEQUENCE_BITS)
            | (u64::from(self.sequence) & MAX_SEQUENCE)
    }
}

/// A snowflake generator for one shard/worker.
#[derive(Debug)]
pub struct Snowflake {
    epoch_ms: u64,
    worker: u16,
    clock: Arc<dyn Clock>,
    last: Mutex<Option<(u64, u64)>>,
}

impl Snowflake {
    /// A generator for `worker` (at most [`MAX_WORKER`]) counting from `epoch_ms`.
    pub fn new(worker: u16, epoch_ms: u64, clock: Arc<dyn Clock>) -> Result<Self, IdError> {
        if worker > MAX_WORKER {
            return Err(IdError::ShardOutOfRange(worker));
        }
        Ok(Self {
            epoch_ms,
            worker,
            clock,
            last: Mutex::new(None),
        })
    }

    /// The Unix time in milliseconds at which `id` was generated (under this epoch).
    pub fn unix_ms(&self, id: u64) -> u64 {
        SnowflakeParts::of(id).timestamp_ms + self.epoch_ms
    }
}

impl IdGenerator for Snowflake {
    type Id = u64;

    fn next_id(&self) -> Result<u64, IdError> {
        let now = self
            .clock
            .now_ms()
            .checked_sub(self.epoch_ms)
            .ok_or(IdError::ClockBeforeEpoch)?;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let (ts, seq) = match *last {
            Some((last_ts, _)) if now > last_ts => (now, 0),
            Some((last_ts, last_seq)) if last_seq < MAX_SEQUENCE => (last_ts, last_seq + 1),
            Some((last_ts, _)) => (last_ts + 1, 0),
            None => (now, 0),
        };
        if ts > MAX_TIMESTAMP {
            return Err(IdError::TimestampOverflow);
        }
        *last = Some((ts, seq));
        Ok(SnowflakeParts {
            timestamp_ms: ts,
            worker: self.worker,
            sequence: seq as u16,
        }
        .to_id())
    }

    fn shard_of(id: &u64) -> u16 {
        SnowflakeParts::of(*id).worker
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::time::Duration;

    fn generator(worker: u16) -> (Snowflake, ManualClock) {
        let clock = ManualClock::new(Duration::from_millis(DEFAULT_EPOCH_MS + 5_000));
        (
            Snowflake::new(worker, DEFAULT_EPOCH_MS, Arc::new(clock.clone())).unwrap(),
            clock,
        )
    }

    #[test]
    fn layout_round_trips() {
        let (g, _) = generator(513);
        let id = g.next_id().unwrap();
        assert_eq!(
            SnowflakeParts::of(id),
            SnowflakeParts {
                timestamp_ms: 5_000,
                worker: 513,
                sequence: 0
            }
        );
        assert_eq!(id, (5_000 << 22) | (513 << 12));
        assert_eq!(Snowflake::shard_of(&id), 513);
        assert_eq!(g.unix_ms(id), DEFAULT_EPOCH_MS + 5_000);
        assert!(i64::try_from(id).is_ok());
    }

    #[test]
    fn refuses_workers_over_1023_and_clocks_before_the_epoch() {
        let clock = Arc::new(ManualClock::new(Duration::from_millis(
            DEFAULT_EPOCH_MS - 1,
        )));
        assert_eq!(
            Snowflake::new(1_024, DEFAULT_EPOCH_MS, clock.clone()).unwrap_err(),
            IdError::ShardOutOfRange(1_024)
        );
        let g = Snowflake::new(MAX_WORKER, DEFAULT_EPOCH_MS, clock).unwrap();
        assert_eq!(g.next_id().unwrap_err(), IdError::ClockBeforeEpoch);
    }

    #[test]
    fn sequence_then_borrowed_milliseconds_keep_ids_increasing() {
        let (g, clock) = generator(1);
        let ids: Vec<u64> = (0..10_000).map(|_| g.next_id().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let last = SnowflakeParts::of(*ids.last().unwrap());
        assert_eq!(
            (last.timestamp_ms, last.sequence),
            (5_002, 10_000 - 2 * 4_096 - 1)
        );
        // the clock catches up: sequence restarts at the new millisecond
        clock.advance(Duration::from_millis(10));
        let next = SnowflakeParts::of(g.next_id().unwrap());
        assert_eq!((next.timestamp_ms, next.sequence), (5_010, 0));
    }

    #[test]
    fn a_clock_going_back_does_not_break_ordering() {
        let (g, clock) = generator(2);
        let a = g.next_id().unwrap();
        clock.set(Duration::from_millis(DEFAULT_EPOCH_MS + 1_000));
        let b = g.next_id().unwrap();
        assert!(b > a);
        assert_eq!(SnowflakeParts::of(b).timestamp_ms, 5_000);
    }

    #[test]
    fn the_epoch_itself_yields_distinct_ids() {
        let clock = Arc::new(ManualClock::new(Duration::from_millis(DEFAULT_EPOCH_MS)));
        let g = Snowflake::new(0, DEFAULT_EPOCH_MS, clock).unwrap();
        let (a, b) = (g.next_id().unwrap(), g.next_id().unwrap());
        assert_eq!((a, b), (0, 1));
    }

    #[test]
    fn the_41_bit_timestamp_runs_out() {
        let clock = Arc::new(ManualClock::new(Duration::from_millis(MAX_TIMESTAMP + 1)));
        let g = Snowflake::new(0, 0, clock).unwrap();
        assert_eq!(g.next_id().unwrap_err(), IdError::TimestampOverflow);
    }
}
