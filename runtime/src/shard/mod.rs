//! Shard routing for sharded databases (`shards`, `shard_by`): hash (jump consistent hash),
//! range (boundaries), directory (a lookup with a default, behind the [`Directory`] trait)
//! and geo (region → shard); queries without a key are broadcast to every shard. Ids that
//! carry their shard ([`snowflake`], [`ulid`]) route without a lookup.
//!
//! A router serves at most 1024 shards, the number a snowflake's 10-bit worker field can
//! name.

pub mod jump;
pub mod snowflake;
pub mod ulid;

pub use jump::jump_hash;
pub use snowflake::{Snowflake, SnowflakeParts};
pub use ulid::{Ulid, UlidGenerator};

use crate::hash::stable_hash;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock};

/// Largest number of shards a router serves.
pub const MAX_SHARDS: u32 = 1_024;

/// Why an id could not be generated or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// The shard/worker number does not fit 10 bits.
    ShardOutOfRange(u16),
    /// The clock reads earlier than the generator's epoch.
    ClockBeforeEpoch,
    /// The timestamp no longer fits its field.
    TimestampOverflow,
    /// Text that is not a ULID.
    BadUlid(String),
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShardOutOfRange(s) => write!(f, "shard {s} is over 1023"),
            Self::ClockBeforeEpoch => f.write_str("the clock reads before the id epoch"),
            Self::TimestampOverflow => f.write_str("the timestamp no longer fits the id"),
            Self::BadUlid(why) => write!(f, "not a ULID: {why}"),
        }
    }
}

impl std::error::Error for IdError {}

/// A generator of ids that carry the shard they were made for.
pub trait IdGenerator: Send + Sync {
    /// The id type.
    type Id;
    /// A new id, greater than every id this generator made before.
    fn next_id(&self) -> Result<Self::Id, IdError>;
    /// The shard an id carries.
    fn shard_of(id: &Self::Id) -> u16;
}

/// The value a row is sharded by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShardKey {
    /// An integer column (`bigint`, `int`).
    Int(i64),
    /// A text column.
    Text(String),
}

impl From<i64> for ShardKey {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<&str> for ShardKey {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}

impl fmt::Display for ShardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(v) => write!(f, "{v}"),
            Self::Text(v) => f.write_str(v),
        }
    }
}

/// A key → shard lookup for `directory(col)`; a database-backed one can come later.
pub trait Directory: Send + Sync + fmt::Debug {
    /// The shard assigned to `key`, if any.
    fn lookup(&self, key: &str) -> Option<u32>;
}

/// An in-memory directory that can be changed while in use.
#[derive(Debug, Default)]
pub struct MemoryDirectory(RwLock<HashMap<String, u32>>);

impl MemoryDirectory {
    /// A directory holding `entries`.
    pub fn new(entries: impl IntoIterator<Item = (String, u32)>) -> Self {
        Self(RwLock::new(entries.into_iter().collect()))
    }

    /// Assigns `key` to `shard` (moving it if it was assigned elsewhere).
    pub fn assign(&self, key: impl Into<String>, shard: u32) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.into(), shard);
    }
}

impl Directory for MemoryDirectory {
    fn lookup(&self, key: &str) -> Option<u32> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }
}

/// How keys map to shards.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// `hash(col)`: jump consistent hash of the key's stable hash.
    Hash,
    /// `range(col, boundaries = [...])`: shard `i` holds keys in
    /// `[boundaries[i-1], boundaries[i])`; there are `boundaries.len() + 1` shards.
    Range(Vec<ShardKey>),
    /// `directory(col)`: the directory's answer, else the default shard.
    Directory(Arc<dyn Directory>, Option<u32>),
    /// `geo(col, map = {...})`: region name → shard (names compared in the language's
    /// normal form: lower case, `-` as `_`), else the default shard.
    Geo(BTreeMap<String, u32>, Option<u32>),
}

/// Why a router could not be built or a key routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardError {
    /// The shard count is 0 or over [`MAX_SHARDS`].
    ShardCount(u32),
    /// Range boundaries are not strictly increasing, or mix integers and text.
    Boundaries,
    /// A map or default names a shard that does not exist.
    NoSuchShard(u32),
    /// A range key of the wrong type.
    KeyType(ShardKey),
    /// Neither the directory/geo map nor a default knows the key.
    Unmapped(ShardKey),
}

impl fmt::Display for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShardCount(n) => write!(f, "{n} shards: must be 1..={MAX_SHARDS}"),
            Self::Boundaries => {
                f.write_str("range boundaries must strictly increase and share one type")
            }
            Self::NoSuchShard(s) => write!(f, "shard {s} does not exist"),
            Self::KeyType(k) => write!(f, "key `{k}` has the wrong type for these boundaries"),
            Self::Unmapped(k) => write!(f, "no shard for key `{k}` and no default"),
        }
    }
}

impl std::error::Error for ShardError {}

/// Where a query goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// One shard.
    One(u32),
    /// Every shard, for a query without the shard key (`cross_shard = broadcast`).
    Broadcast(Vec<u32>),
}

/// Routes keys to shards.
#[derive(Debug, Clone)]
pub struct ShardRouter {
    shards: u32,
    strategy: Strategy,
}

impl ShardRouter {
    /// A router over `shards` shards. For [`Strategy::Range`] the count must be the number
    /// of boundaries plus one.
    pub fn new(shards: u32, strategy: Strategy) -> Result<Self, ShardError> {
        if shards == 0 || shards > MAX_SHARDS {
            return Err(ShardError::ShardCount(shards));
        }
        let check = |s: u32| {
            if s < shards {
                Ok(())
            } else {
                Err(ShardError::NoSuchShard(s))
            }
        };
        match &strategy {
            Strategy::Hash => {}
            Strategy::Range(b) => {
                let same_type = b.windows(2).all(|w| {
                    matches!(
                        (&w[0], &w[1]),
                        (ShardKey::Int(_), ShardKey::Int(_))
                            | (ShardKey::Text(_), ShardKey::Text(_))
                    )
                });
                if !same_type || !b.windows(2).all(|w| w[0] < w[1]) {
                    return Err(ShardError::Boundaries);
                }
                if b.len() as u32 + 1 != shards {
                    return Err(ShardError::ShardCount(shards));
                }
            }
            Strategy::Directory(_, default) => default.iter().try_for_each(|s| check(*s))?,
            Strategy::Geo(map, default) => {
                map.values()
                    .chain(default.iter())
                    .try_for_each(|s| check(*s))?;
            }
        }
        let strategy = match strategy {
            Strategy::Geo(map, d) => {
                Strategy::Geo(map.into_iter().map(|(k, v)| (normal(&k), v)).collect(), d)
            }
            other => other,
        };
        Ok(Self { shards, strategy })
    }

    /// The number of shards.
    pub fn shards(&self) -> u32 {
        self.shards
    }

    /// Where a query with `key` goes; without a key, to every shard.
    pub fn route(&self, key: Option<&ShardKey>) -> Result<Route, ShardError> {
        match key {
            Some(k) => self.shard_for(k).map(Route::One),
            None => Ok(Route::Broadcast((0..self.shards).collect())),
        }
    }

    /// The shard of `key`.
    pub fn shard_for(&self, key: &ShardKey) -> Result<u32, ShardError> {
        match &self.strategy {
            Strategy::Hash => {
                let h = match key {
                    ShardKey::Int(v) => stable_hash(&v.to_le_bytes()),
                    ShardKey::Text(t) => stable_hash(t.as_bytes()),
                };
                Ok(jump_hash(h, self.shards))
            }
            Strategy::Range(bounds) => {
                if let Some(first) = bounds.first() {
                    if std::mem::discriminant(first) != std::mem::discriminant(key) {
                        return Err(ShardError::KeyType(key.clone()));
                    }
                }
                Ok(bounds.partition_point(|b| b <= key) as u32)
            }
            Strategy::Directory(dir, default) => match dir.lookup(&key.to_string()).or(*default) {
                Some(s) if s < self.shards => Ok(s),
                Some(s) => Err(ShardError::NoSuchShard(s)),
                None => Err(ShardError::Unmapped(key.clone())),
            },
            Strategy::Geo(map, default) => map
                .get(&normal(&key.to_string()))
                .copied()
                .or(*default)
                .ok_or_else(|| ShardError::Unmapped(key.clone())),
        }
    }

    /// The shard an id carries (see [`IdGenerator::shard_of`]), checked against this
    /// router's shard count.
    pub fn shard_of_id<G: IdGenerator>(&self, id: &G::Id) -> Result<u32, ShardError> {
        let shard = u32::from(G::shard_of(id));
        if shard < self.shards {
            Ok(shard)
        } else {
            Err(ShardError::NoSuchShard(shard))
        }
    }
}

fn normal(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
