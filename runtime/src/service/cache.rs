//! One declared cache in front of a table: L1 in process (moka), L2 the shared
//! [`RemoteCache`], and the patterns over them. Misses of one key load once (single
//! flight: moka coalesces concurrent loads of a key); write-through updates the layers,
//! cache-aside and read-through invalidate them, write-behind updates them and buffers
//! the store write until the next flush.
//!
//! Both layers hold a row as its JSON text: a hit is answered with those bytes as they
//! are, without copying or serialising the row again.

use super::data::{DataError, Tables};
use crate::cache::RemoteCache;
use crate::http::metrics::{Counter, Metrics};
use crate::spec::CacheSpec;
use crate::store::Row;
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A row's JSON text (a map of JSON values always serialises).
fn to_json(row: &Row) -> Bytes {
    Bytes::from(serde_json::to_vec(row).unwrap_or_default())
}

/// A cache of one table's rows, by primary key.
#[derive(Debug)]
pub(crate) struct RowCache {
    pub(crate) spec: CacheSpec,
    l1: Option<moka::future::Cache<String, Bytes>>,
    l2: Option<(Arc<dyn RemoteCache>, Option<Duration>)>,
    hits: Arc<Counter>,
    misses: Arc<Counter>,
    /// Write-behind rows not yet stored.
    pending: Mutex<Vec<Row>>,
}

impl RowCache {
    pub(crate) fn new(spec: &CacheSpec, remote: Arc<dyn RemoteCache>, metrics: &Metrics) -> Self {
        let memory = spec.layers.iter().find(|l| l.kind == "memory");
        let l1 = memory.map(|layer| {
            let mut b =
                moka::future::Cache::builder().max_capacity(layer.entries.unwrap_or(10_000));
            if let Some(ttl) = layer.ttl_ms {
                b = b.time_to_live(Duration::from_millis(ttl.max(1)));
            }
            b.build()
        });
        let l2 = spec
            .layers
            .iter()
            .find(|l| l.kind != "memory")
            .map(|layer| (remote, layer.ttl_ms.map(Duration::from_millis)));
        let labels = [("cache", spec.name.as_str())];
        Self {
            spec: spec.clone(),
            l1,
            l2,
            hits: metrics.counter(
                "cache_hits_total",
                "Cache reads served by a layer.",
                &labels,
            ),
            misses: metrics.counter(
                "cache_misses_total",
                "Cache reads that went to the table.",
                &labels,
            ),
            pending: Mutex::new(Vec::new()),
        }
    }

    fn remote_key(&self, key: &str) -> String {
        format!("{}:{key}", self.spec.name)
    }

    /// (hits, misses) so far.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (self.hits.get(), self.misses.get())
    }

    /// The JSON object stored under `key` in L2; anything else there counts as a miss.
    async fn l2_get(&self, key: &str) -> Option<Bytes> {
        let (remote, _) = self.l2.as_ref()?;
        let bytes = remote.get(&self.remote_key(key)).await.ok()??;
        serde_json::from_slice::<Row>(&bytes).ok()?;
        Some(Bytes::from(bytes))
    }

    async fn l2_set(&self, key: &str, json: &Bytes) {
        if let Some((remote, ttl)) = &self.l2 {
            // A failing shared layer is only slower, never wrong: ignore it.
            let _ = remote.set(&self.remote_key(key), json.to_vec(), *ttl).await;
        }
    }

    /// The row with `key` as JSON: from L1, else L2, else `table` (and then stored in both).
    pub(crate) async fn get(
        &self,
        tables: &Tables,
        table: &str,
        key: &str,
    ) -> Result<Option<Bytes>, DataError> {
        let load = async {
            if let Some(json) = self.l2_get(key).await {
                self.hits.inc();
                return Ok(json);
            }
            self.misses.inc();
            match tables.get(table, key).await {
                Ok(Some(row)) => {
                    let json = to_json(&row);
                    self.l2_set(key, &json).await;
                    Ok(json)
                }
                Ok(None) => Err(None),
                Err(e) => Err(Some(e)),
            }
        };
        let Some(l1) = &self.l1 else {
            return match load.await {
                Ok(json) => Ok(Some(json)),
                Err(None) => Ok(None),
                Err(Some(e)) => Err(e),
            };
        };
        if let Some(json) = l1.get(key).await {
            self.hits.inc();
            return Ok(Some(json));
        }
        match l1.try_get_with(key.to_string(), load).await {
            Ok(json) => Ok(Some(json)),
            Err(e) => match e.as_ref() {
                None => Ok(None),
                Some(e) => Err(e.clone()),
            },
        }
    }

    /// Drops `key` from every layer.
    pub(crate) async fn invalidate(&self, key: &str) {
        if let Some(l1) = &self.l1 {
            l1.invalidate(key).await;
        }
        if let Some((remote, _)) = &self.l2 {
            let _ = remote.delete(&self.remote_key(key)).await;
        }
    }

    /// Puts `row` in every layer.
    pub(crate) async fn set(&self, key: &str, row: &Row) {
        let json = to_json(row);
        if let Some(l1) = &self.l1 {
            l1.insert(key.to_string(), json.clone()).await;
        }
        self.l2_set(key, &json).await;
    }

    /// After `row` was written under `key`: the pattern's cache update. Returns true when
    /// the store write is deferred (write-behind), false when the caller stores it now.
    pub(crate) async fn after_write(&self, key: &str, row: &Row) -> bool {
        match self.spec.pattern.as_str() {
            "write_through" => {
                self.set(key, row).await;
                false
            }
            "write_behind" => {
                self.set(key, row).await;
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(row.clone());
                true
            }
            _ => {
                self.invalidate(key).await;
                false
            }
        }
    }

    /// True when the write-behind buffer holds a full batch.
    pub(crate) fn batch_full(&self) -> bool {
        let batch = self
            .spec
            .write_behind
            .as_ref()
            .map_or(1, |w| w.batch.max(1)) as usize;
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len() >= batch
    }

    /// The flush interval of a write-behind cache.
    pub(crate) fn flush_every(&self) -> Option<Duration> {
        (self.spec.pattern == "write_behind").then(|| {
            Duration::from_millis(
                self.spec
                    .write_behind
                    .as_ref()
                    .map_or(1_000, |w| w.flush_ms.max(1)),
            )
        })
    }

    /// Stores the buffered write-behind rows; rows that fail are kept for the next flush.
    pub(crate) async fn flush(&self, tables: &Tables) -> usize {
        let Some(table) = self.spec.source.clone() else {
            return 0;
        };
        let rows = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut stored = 0;
        let mut failed = Vec::new();
        for row in rows {
            match tables.put(&table, row.clone()).await {
                Ok(_) => stored += 1,
                Err(_) => failed.push(row),
            }
        }
        if !failed.is_empty() {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(failed);
        }
        stored
    }
}
