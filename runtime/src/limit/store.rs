//! Where rate-limit state lives: the [`LimiterStore`] trait and its in-memory
//! implementation [`MemoryStore`] (per process, `scope = local`). The Redis store running
//! the same algorithms as one atomic Lua script (`scope = distributed`) is
//! `backend::redis::RedisLimits`.

use super::algorithm::{apply, KeyState};
use super::{Decision, Spec};
use crate::BoxFuture;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// A failure of a rate-limit backend (for example Redis unreachable). The in-memory store
/// never fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate-limit store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// A backend that atomically applies a [`Spec`] to the state of one key.
pub trait LimiterStore: Send + Sync + fmt::Debug {
    /// Applies `spec` to `key` for a request of `cost` units at `now` (since the Unix
    /// epoch), atomically with respect to other calls for the same key.
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        spec: &'a Spec,
        cost: u64,
        now: Duration,
    ) -> BoxFuture<'a, Result<Decision, StoreError>>;

    /// Answers when the backend can be reached (the service's `/ready`); in-process ones
    /// always can.
    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Rate-limit state in a hash map behind a mutex. Idle keys are forgotten by
/// [`MemoryStore::prune`], which also runs by itself every `prune_every` calls.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    prune_every: u64,
}

#[derive(Debug, Default)]
struct Inner {
    keys: HashMap<String, (KeyState, Spec)>,
    calls: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store that prunes idle keys every 4096 calls.
    pub fn new() -> Self {
        Self::with_prune_every(4_096)
    }

    /// An empty store that prunes idle keys every `calls` calls (at least 1).
    pub fn with_prune_every(calls: u64) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            prune_every: calls.max(1),
        }
    }

    /// The synchronous form of [`LimiterStore::acquire`].
    pub fn acquire_now(&self, key: &str, spec: &Spec, cost: u64, now: Duration) -> Decision {
        let mut inner = self.lock();
        inner.calls += 1;
        if inner.calls % self.prune_every == 0 {
            inner.prune(now);
        }
        if let Some((state, last_spec)) = inner.keys.get_mut(key) {
            *last_spec = *spec;
            return apply(state, spec, cost, now);
        }
        let mut state = KeyState::default();
        let decision = apply(&mut state, spec, cost, now);
        inner.keys.insert(key.to_string(), (state, *spec));
        decision
    }

    /// Forgets every key whose state is the same as a fresh key's at `now`.
    pub fn prune(&self, now: Duration) {
        self.lock().prune(now);
    }

    /// The number of keys with state.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether no key has state.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn prune(&mut self, now: Duration) {
        self.keys
            .retain(|_, (state, spec)| !state.is_idle(spec, now));
    }
}

impl LimiterStore for MemoryStore {
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        spec: &'a Spec,
        cost: u64,
        now: Duration,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        let decision = self.acquire_now(key, spec, cost, now);
        Box::pin(async move { Ok(decision) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Algorithm, Rate};

    fn spec() -> Spec {
        Spec {
            algorithm: Algorithm::FixedWindow,
            rate: Rate::per_minute(2),
            burst: 1,
            block: Duration::ZERO,
        }
    }

    const T0: Duration = Duration::from_secs(1_704_067_200);

    #[test]
    fn keys_are_independent() {
        let store = MemoryStore::new();
        let s = spec();
        assert!(store.acquire_now("a", &s, 2, T0).allowed);
        assert!(!store.acquire_now("a", &s, 1, T0).allowed);
        assert!(store.acquire_now("b", &s, 1, T0).allowed);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn idle_keys_are_pruned_explicitly_and_automatically() {
        let store = MemoryStore::with_prune_every(3);
        let s = spec();
        store.acquire_now("a", &s, 1, T0);
        store.acquire_now("b", &s, 1, T0);
        assert_eq!(store.len(), 2);
        store.prune(T0 + Duration::from_secs(30));
        assert_eq!(store.len(), 2);
        // third call, two minutes later: prunes a and b before adding c
        store.acquire_now("c", &s, 1, T0 + Duration::from_secs(120));
        assert_eq!(store.len(), 1);
        store.prune(T0 + Duration::from_secs(240));
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn the_trait_object_answers_like_the_sync_form() {
        let store: Box<dyn LimiterStore> = Box::new(MemoryStore::new());
        let s = spec();
        let d = store.acquire("k", &s, 1, T0).await.unwrap();
        assert_eq!((d.allowed, d.remaining), (true, 1));
        assert!(StoreError("down".into()).to_string().contains("down"));
    }
}
