//! The per-route response cache (`cache { ttl vary per_user }`): successful GET answers
//! are kept for `ttl`, keyed by method, path, query, the values of the `vary` headers and,
//! with `per_user`, the authenticated user, so one user's answer never reaches another.

use crate::spec::RouteCacheSpec;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// A cached answer.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

/// One route's cache.
#[derive(Debug)]
pub(crate) struct RouteCache {
    spec: RouteCacheSpec,
    entries: moka::future::Cache<String, Arc<Cached>>,
}

/// Largest response body kept, so one huge answer cannot fill the memory.
pub(crate) const MAX_BODY: usize = 1 << 20;

/// Headers that describe one connection or one answer and are never replayed.
fn replayable(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "set-cookie" | "date" | "x-request-id"
    )
}

impl RouteCache {
    pub(crate) fn new(spec: &RouteCacheSpec) -> Self {
        let ttl = Duration::from_millis(spec.ttl_ms.max(1));
        Self {
            spec: spec.clone(),
            entries: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The cache key of a request.
    pub(crate) fn key(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        user: Option<&str>,
    ) -> String {
        let mut key = format!("{method} {path}?{query}");
        for name in &self.spec.vary {
            key.push('\u{1f}');
            if let Some(v) = headers.get(name.as_str()) {
                key.push_str(&String::from_utf8_lossy(v.as_bytes()));
            }
        }
        if self.spec.per_user {
            key.push('\u{1e}');
            key.push_str(user.unwrap_or("-"));
        }
        key
    }

    pub(crate) async fn get(&self, key: &str) -> Option<Arc<Cached>> {
        self.entries.get(key).await
    }

    /// Keeps a 200 answer that does not say `no-store`/`private`.
    pub(crate) async fn put(
        &self,
        key: String,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
    ) {
        let refuses = headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("no-store") || v.contains("private"));
        if status != StatusCode::OK || refuses || body.len() > MAX_BODY {
            return;
        }
        let headers = headers
            .iter()
            .filter(|(n, _)| replayable(n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        self.entries
            .insert(
                key,
                Arc::new(Cached {
                    status,
                    headers,
                    body,
                }),
            )
            .await;
    }

    /// The `Vary` header the cached answers carry.
    pub(crate) fn vary(&self) -> &[String] {
        &self.spec.vary
    }
}
