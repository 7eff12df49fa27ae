//! The second and lower cache layers: a byte cache shared between instances. The trait
//! [`RemoteCache`] has the embedded implementation [`MemoryRemote`] (one process) and the
//! Redis implementation `backend::redis::RedisCache` (one Redis server, `REDIS_URL`).

use crate::BoxFuture;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A failure of a cache backend. Callers treat it as a miss and go to the next layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheError(pub String);

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cache: {}", self.0)
    }
}

impl std::error::Error for CacheError {}

/// A shared key → bytes cache with per-entry time to live.
pub trait RemoteCache: Send + Sync + fmt::Debug {
    /// The value of `key`, if present and not expired.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>>;

    /// Stores `value` under `key` for `ttl` (None: until evicted).
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Removes `key`.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Answers when the backend can be reached (the service's `/ready`); in-process ones
    /// always can.
    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Values with their expiry time.
type Entries = HashMap<String, (Vec<u8>, Option<Instant>)>;

/// A process-local stand-in for Redis: a map with expiry times, checked on read.
#[derive(Debug, Default)]
pub struct MemoryRemote {
    entries: Mutex<Entries>,
}

impl MemoryRemote {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Entries) -> T) -> T {
        match self.entries.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

impl RemoteCache for MemoryRemote {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, CacheError>> {
        let now = Instant::now();
        let value = self.with(|m| match m.get(key) {
            Some((_, Some(expires))) if *expires <= now => {
                m.remove(key);
                None
            }
            Some((value, _)) => Some(value.clone()),
            None => None,
        });
        Box::pin(async move { Ok(value) })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        let expires = ttl.map(|ttl| Instant::now() + ttl);
        self.with(|m| m.insert(key.to_string(), (value, expires)));
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), CacheError>> {
        self.with(|m| m.remove(key));
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_entry_expires_after_its_ttl() {
        let cache = MemoryRemote::new();
        cache
            .set("k", b"v".to_vec(), Some(Duration::from_millis(20)))
            .await
            .expect("set");
        assert_eq!(cache.get("k").await.expect("get"), Some(b"v".to_vec()));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get("k").await.expect("get"), None);
        cache.set("k", b"v".to_vec(), None).await.expect("set");
        cache.delete("k").await.expect("delete");
        assert_eq!(cache.get("k").await.expect("get"), None);
    }
}
