//! CDN custom error pages. An answer whose status the CDN's `errors` block maps to a page
//! path gets that page as its body, with its own status kept. The page is fetched through
//! the gateway's own routes, so it comes from whichever service serves that path, and is
//! kept for `error_ttl` (10 s when not declared). When the page cannot be had (no route
//! serves it, or it answers an error itself) the original answer goes out unchanged.
//!
//! `error_ttl` also becomes the answer's `Cache-Control: max-age`, so caches in front keep
//! the page as long as the gateway does, except where sharing it would be wrong: an answer
//! that depends on who asked (401, 403, 407, 429) is sent `private, no-store`, and an
//! answer that already says `private`, `no-store` or `no-cache` keeps its own
//! `Cache-Control`.

use crate::spec::CdnSpec;
use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a page is kept when the CDN declares no `error_ttl`.
const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// Largest error page read into memory.
const PAGE_MAX: usize = 1 << 20;

/// A fetched page.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    body: Bytes,
    content_type: HeaderValue,
    content_encoding: Option<HeaderValue>,
}

/// The CDN's error pages and the copies fetched so far.
#[derive(Debug)]
pub(crate) struct ErrorPages {
    paths: Vec<(u16, String)>,
    ttl: Duration,
    cache_control: HeaderValue,
    kept: Mutex<HashMap<u16, (Instant, Page)>>,
}

impl ErrorPages {
    /// The pages of `cdn`, or `None` when it declares none.
    pub(crate) fn new(cdn: Option<&CdnSpec>) -> Option<Self> {
        let cdn = cdn.filter(|c| !c.error_pages.is_empty())?;
        let ttl = cdn.error_ttl_ms.map_or(DEFAULT_TTL, Duration::from_millis);
        let cache_control = HeaderValue::try_from(format!("max-age={}", ttl.as_secs()))
            .unwrap_or(HeaderValue::from_static("no-cache"));
        Some(Self {
            paths: cdn.error_pages.clone(),
            ttl,
            cache_control,
            kept: Mutex::new(HashMap::new()),
        })
    }

    /// The page path for an answer with `status` to a request for `path` (never the page
    /// itself, so a missing page cannot loop).
    pub(crate) fn path_for(&self, status: u16, path: &str) -> Option<&str> {
        self.paths
            .iter()
            .find(|(code, page)| *code == status && page != path)
            .map(|(_, page)| page.as_str())
    }

    /// The page for `status` fetched less than `error_ttl` ago.
    pub(crate) fn kept(&self, status: u16) -> Option<Page> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.get(&status)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, page)| page.clone())
    }

    /// Reads a fetched page's answer; `None` unless it is a success.
    pub(crate) async fn read(&self, status: u16, answer: Response<Body>) -> Option<Page> {
        if !answer.status().is_success() {
            return None;
        }
        let (parts, body) = answer.into_parts();
        let body = http_body_util::Limited::new(body, PAGE_MAX)
            .collect()
            .await
            .ok()?
            .to_bytes();
        let page = Page {
            body,
            content_type: parts
                .headers
                .get(CONTENT_TYPE)
                .cloned()
                .unwrap_or(HeaderValue::from_static("text/html; charset=utf-8")),
            content_encoding: parts.headers.get(CONTENT_ENCODING).cloned(),
        };
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.insert(status, (Instant::now(), page.clone()));
        Some(page)
    }

    /// `response` with `page` as its body; its status and other headers stay.
    pub(crate) fn apply(&self, response: Response<Body>, page: Page) -> Response<Body> {
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        parts.headers.remove(CONTENT_ENCODING);
        parts.headers.insert(CONTENT_TYPE, page.content_type);
        if let Some(encoding) = page.content_encoding {
            parts.headers.insert(CONTENT_ENCODING, encoding);
        }
        if !keeps_private(&parts.headers) {
            let cache_control = if per_client(parts.status) {
                HeaderValue::from_static("private, no-store")
            } else {
                self.cache_control.clone()
            };
            parts.headers.insert(CACHE_CONTROL, cache_control);
        }
        Response::from_parts(parts, Body::from(page.body))
    }
}

/// Answers about the requester (its credentials, address or quota): a shared cache that
/// kept one would give it to everybody else.
fn per_client(status: StatusCode) -> bool {
    matches!(status.as_u16(), 401 | 403 | 407 | 429)
}

/// Whether the answer's own `Cache-Control` already limits caching (`private`, `no-store`,
/// `no-cache`): its say is then stronger than `error_ttl`.
fn keeps_private(headers: &HeaderMap) -> bool {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().split('=').next().unwrap_or("").trim())
        .any(|d| {
            ["private", "no-store", "no-cache"]
                .iter()
                .any(|k| d.eq_ignore_ascii_case(k))
        })
}
