//! `X-Request-Id`: kept when the client sent a sane one, otherwise a new one; echoed on
//! the response and forwarded upstream.

use axum::http::{HeaderMap, HeaderName};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The header name.
pub const HEADER: &str = "x-request-id";

/// The header name, parsed once (lookups by `&str` parse it on every call).
pub const NAME: HeaderName = HeaderName::from_static(HEADER);

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The request's id: the incoming header when it is 1–128 visible ASCII characters,
/// else a fresh id (process start time, process id and a sequence number, hex).
pub fn from_headers(headers: &HeaderMap) -> String {
    if let Some(id) = headers.get(NAME).and_then(|v| v.to_str().ok()) {
        if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) {
            return id.to_string();
        }
    }
    fresh()
}

/// A new id, unique within the process and unlikely to collide across processes.
pub fn fresh() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        format!("{start:x}-{:x}-", std::process::id())
    });
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(prefix.len() + 16);
    id.push_str(prefix);
    let _ = write!(id, "{seq:x}");
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keeps_a_sane_id_and_replaces_a_bad_one() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(from_headers(&headers), "abc-123");
        headers.insert(HEADER, HeaderValue::from_static("has space"));
        assert_ne!(from_headers(&headers), "has space");
        assert_ne!(fresh(), fresh());
    }
}
