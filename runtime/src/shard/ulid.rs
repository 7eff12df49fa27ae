//! ULIDs (`ids = ulid`): 128-bit, lexicographically sortable, Crockford base32 text.
//!
//! Layout: 48 bits of Unix milliseconds, then 80 "random" bits. To carry the shard, the
//! first 10 of the 80 bits hold the shard number (0..=1023) and the remaining 70 bits are
//! random. In the 26-character text, the shard is therefore exactly the 11th and 12th
//! characters (two base32 digits, 5 bits each), so `Ulid::shard` and anyone reading ids by
//! eye can route them without a lookup.
//!
//! Monotonic within a millisecond, as in the ULID spec: a later id of the same millisecond
//! is the previous one plus 1 in the 70-bit random part. A new millisecond draws fresh
//! randomness with the top bit cleared, leaving at least 2^69 increments; should they run
//! out, or the clock go back, the generator continues on the next millisecond rather than
//! fail, so ids from one generator always increase.

use super::{IdError, IdGenerator};
use crate::clock::Clock;
use crate::rng::XorShift64;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MAX_TIMESTAMP: u64 = (1 << 48) - 1;
const LOW_BITS: u32 = 70;
const LOW_MASK: u128 = (1 << LOW_BITS) - 1;
const SHARD_MASK: u128 = 0x3FF;

/// A ULID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ulid(u128);

impl Ulid {
    /// A ULID from a millisecond timestamp (48 bits kept) and 80 random bits.
    pub fn from_parts(timestamp_ms: u64, random: u128) -> Self {
        Self((u128::from(timestamp_ms & MAX_TIMESTAMP) << 80) | (random & ((1 << 80) - 1)))
    }

    /// The ULID with this 128-bit value.
    pub fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The 128-bit value.
    pub fn as_u128(&self) -> u128 {
        self.0
    }

    /// Unix milliseconds of creation.
    pub fn timestamp_ms(&self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// The 80 bits after the timestamp (shard and randomness).
    pub fn random(&self) -> u128 {
        self.0 & ((1 << 80) - 1)
    }

    /// The shard carried in the first 10 bits of the random part.
    pub fn shard(&self) -> u16 {
        ((self.0 >> LOW_BITS) & SHARD_MASK) as u16
    }
}

impl fmt::Display for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 26];
        for (i, c) in out.iter_mut().enumerate() {
            let shift = 125 - 5 * i as u32;
            *c = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Ulid {
    type Err = IdError;

    /// Parses 26 Crockford base32 characters, case-insensitively; `I`/`L` read as 1 and
    /// `O` as 0. A first character above `7` would overflow 128 bits and is refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 26 {
            return Err(IdError::BadUlid(format!("{} characters, not 26", s.len())));
        }
        let mut value: u128 = 0;
        for (i, b) in s.bytes().enumerate() {
            let digit = decode_digit(b)
                .ok_or_else(|| IdError::BadUlid(format!("`{}` is not base32", b as char)))?;
            if i == 0 && digit > 7 {
                return Err(IdError::BadUlid("first character above 7".into()));
            }
            value = (value << 5) | u128::from(digit);
        }
        Ok(Self(value))
    }
}

fn decode_digit(b: u8) -> Option<u8> {
    let b = b.to_ascii_uppercase();
    match b {
        b'I' | b'L' => Some(1),
        b'O' => Some(0),
        _ => ALPHABET.iter().position(|&c| c == b).map(|p| p as u8),
    }
}

/// A ULID generator for one shard.
#[derive(Debug)]
pub struct UlidGenerator {
    shard: u16,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last: Option<(u64, u128)>,
    rng: XorShift64,
}

impl UlidGenerator {
    /// A generator for `shard` (at most 1023) drawing randomness from `rng`.
    pub fn new(shard: u16, clock: Arc<dyn Clock>, rng: XorShift64) -> Result<Self, IdError> {
        if u128::from(shard) > SHARD_MASK {
            return Err(IdError::ShardOutOfRange(shard));
        }
        Ok(Self {
            shard,
            clock,
            state: Mutex::new(State { last: None, rng }),
        })
    }
}

impl IdGenerator for UlidGenerator {
    type Id = Ulid;

    fn next_id(&self) -> Result<Ulid, IdError> {
        let now = self.clock.now_ms();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = |rng: &mut XorShift64| {
            let bits = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
            bits & (LOW_MASK >> 1)
        };
        let (ts, low) = match state.last {
            Some((last_ts, low)) if now <= last_ts && low < LOW_MASK => (last_ts, low + 1),
            Some((last_ts, _)) if now <= last_ts => (last_ts + 1, fresh(&mut state.rng)),
            _ => (now, fresh(&mut state.rng)),
        };
        if ts > MAX_TIMESTAMP {
            return Err(IdError::TimestampOverflow);
        }
        state.last = Some((ts, low));
        Ok(Ulid::from_parts(
            ts,
            (u128::from(self.shard) << LOW_BITS) | low,
        ))
    }

    fn shard_of(id: &Ulid) -> u16 {
        id.shard()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use proptest::prelude::*;
    use std::time::Duration;

    fn generator(shard: u16) -> (UlidGenerator, ManualClock) {
        let clock = ManualClock::new(Duration::from_millis(1_469_918_176_385));
        let g = UlidGenerator::new(shard, Arc::new(clock.clone()), XorShift64::new(5)).unwrap();
        (g, clock)
    }

    #[test]
    fn encodes_the_timestamp_like_the_spec() {
        // The ULID spec's example timestamp 1469918176385 encodes as 01ARYZ6S41.
        let id = Ulid::from_parts(1_469_918_176_385, 0);
        assert_eq!(id.to_string(), "01ARYZ6S410000000000000000");
        assert_eq!(
            Ulid::from_u128(u128::MAX).to_string(),
            "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
        );
        assert_eq!(Ulid::from_u128(0).to_string(), "0".repeat(26));
    }

    #[test]
    fn parses_case_insensitively_with_crockford_aliases() {
        let id: Ulid = "01aryz6s41tsv4rrffq69g5fav".parse().unwrap();
        assert_eq!(id.to_string(), "01ARYZ6S41TSV4RRFFQ69G5FAV");
        assert_eq!(id.timestamp_ms(), 1_469_918_176_385);
        let aliased: Ulid = "0IL0000000000000000000000O".parse().unwrap();
        assert_eq!(aliased, "01100000000000000000000000".parse().unwrap());
        for bad in [
            "",
            "01ARYZ6S41TSV4RRFFQ69G5FA",
            "81ARYZ6S41TSV4RRFFQ69G5FAV",
            "01ARYZ6S41TSV4RRFFQ69G5FAU",
        ] {
            assert!(bad.parse::<Ulid>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shard_is_the_eleventh_and_twelfth_characters() {
        let (g, clock) = generator(1_023);
        let id = g.next_id().unwrap();
        assert_eq!(id.shard(), 1_023);
        assert_eq!(UlidGenerator::shard_of(&id), 1_023);
        assert_eq!(&id.to_string()[10..12], "ZZ");
        assert_eq!(id.timestamp_ms(), clock.now_ms());
        let (g5, _) = generator(5);
        assert_eq!(&g5.next_id().unwrap().to_string()[10..12], "05");
        assert!(UlidGenerator::new(1_024, Arc::new(clock), XorShift64::new(1)).is_err());
    }

    #[test]
    fn monotonic_within_a_millisecond_and_across_a_clock_going_back() {
        let (g, clock) = generator(9);
        let a = g.next_id().unwrap();
        let b = g.next_id().unwrap();
        assert_eq!(b.as_u128(), a.as_u128() + 1);
        assert_eq!(b.shard(), 9);
        clock.set(Duration::from_millis(1_000));
        let c = g.next_id().unwrap();
        assert!(c > b && c.to_string() > b.to_string());
        clock.set(Duration::from_millis(1_469_918_176_386));
        let d = g.next_id().unwrap();
        assert_eq!(d.timestamp_ms(), 1_469_918_176_386);
        assert!(d > c);
    }

    #[test]
    fn timestamps_past_48_bits_are_refused() {
        /// Year 10889: beyond what `ManualClock`'s nanosecond counter can hold.
        #[derive(Debug)]
        struct FarFuture;
        impl Clock for FarFuture {
            fn now(&self) -> Duration {
                Duration::from_millis(MAX_TIMESTAMP + 1)
            }
        }
        let g = UlidGenerator::new(0, Arc::new(FarFuture), XorShift64::new(1)).unwrap();
        assert_eq!(g.next_id().unwrap_err(), IdError::TimestampOverflow);
    }

    proptest! {
        #[test]
        fn text_round_trips_and_sorts_like_the_value(a: u128, b: u128) {
            let (x, y) = (Ulid::from_u128(a), Ulid::from_u128(b));
            prop_assert_eq!(x.to_string().parse::<Ulid>().unwrap(), x);
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
        }
    }
}
