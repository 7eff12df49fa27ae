//! What the gateway adds at the edge: CORS (preflights and response headers), security
//! headers, CDN behaviours (`Cache-Control`/`Surrogate-Control`/`Vary` per path pattern,
//! signed URLs, geo allow/deny by a country header, custom error pages) and gzip.

use super::auth::sign_hex;
use crate::spec::{CdnBehaviorSpec, CdnSpec, CorsSpec, SecurityHeadersSpec};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Pre-rendered header values, built once at start-up.
#[derive(Debug, Default)]
pub(crate) struct Edge {
    cors: Option<Cors>,
    security: Vec<(HeaderName, HeaderValue)>,
    cdn: Option<CdnSpec>,
    behaviours: Vec<(HeaderValue, Option<HeaderValue>)>,
    signed_keys: Vec<Option<Vec<u8>>>,
}

#[derive(Debug)]
struct Cors {
    any: bool,
    origins: Vec<String>,
    methods: HeaderValue,
    headers: HeaderValue,
    credentials: bool,
}

fn value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

/// `pattern` (`/assets/*`, `*.js`, `/exact`) matches `path`.
pub(crate) fn glob(pattern: &str, path: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        return path.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return path.ends_with(suffix);
    }
    pattern == path
}

fn cache_control(b: &CdnBehaviorSpec) -> String {
    let secs = |ms: u64| ms / 1000;
    let mut parts = vec![if b.private { "private" } else { "public" }.to_string()];
    parts.push(format!("max-age={}", secs(b.ttl_ms)));
    if b.immutable {
        parts.push("immutable".into());
    }
    if let Some(swr) = b.stale_while_revalidate_ms {
        parts.push(format!("stale-while-revalidate={}", secs(swr)));
    }
    parts.join(", ")
}

impl Edge {
    pub(crate) fn new(
        cors: Option<&CorsSpec>,
        headers: Option<&SecurityHeadersSpec>,
        cdn: Option<&CdnSpec>,
    ) -> Self {
        let cors = cors.map(|c| Cors {
            any: c.origins.iter().any(|o| o == "*"),
            origins: c.origins.clone(),
            methods: value(&c.methods.join(", ")).unwrap_or(HeaderValue::from_static("GET")),
            headers: value(&c.headers.join(", ")).unwrap_or(HeaderValue::from_static("")),
            credentials: c.credentials,
        });
        let mut security = Vec::new();
        if let Some(h) = headers {
            if h.hsts {
                security.push((
                    HeaderName::from_static("strict-transport-security"),
                    HeaderValue::from_static("max-age=31536000; includeSubDomains"),
                ));
            }
            if let Some(csp) = h.csp.as_deref().and_then(value) {
                security.push((HeaderName::from_static("content-security-policy"), csp));
            }
            if let Some(frame) = value(&h.frame) {
                security.push((HeaderName::from_static("x-frame-options"), frame));
            }
            if h.nosniff {
                security.push((
                    HeaderName::from_static("x-content-type-options"),
                    HeaderValue::from_static("nosniff"),
                ));
            }
        }
        let behaviours = cdn
            .map(|c| {
                c.behaviors
                    .iter()
                    .map(|b| {
                        let cc = value(&cache_control(b))
                            .unwrap_or(HeaderValue::from_static("no-cache"));
                        let vary = (!b.vary.is_empty())
                            .then(|| value(&b.vary.join(", ")))
                            .flatten();
                        (cc, vary)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let signed_keys = cdn
            .map(|c| {
                c.behaviors
                    .iter()
                    .map(|b| {
                        b.signed_key_env
                            .as_ref()
                            .map(|env| std::env::var(env).unwrap_or_default().into_bytes())
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            cors,
            security,
            cdn: cdn.cloned(),
            behaviours,
            signed_keys,
        }
    }

    /// The request's `Origin` when CORS allows it.
    pub(crate) fn origin_allowed<'a>(&self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let cors = self.cors.as_ref()?;
        let origin = headers.get(axum::http::header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        (cors.any || cors.origins.iter().any(|o| o == text)).then_some(origin)
    }

    /// The preflight answer, if `method`/`headers` are a CORS preflight this gateway owns:
    /// `Some(Ok(headers))` for an allowed origin, `Some(Err(()))` for a refused one.
    #[allow(clippy::result_unit_err)]
    pub(crate) fn preflight(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Option<Result<HeaderMap, ()>> {
        let cors = self.cors.as_ref()?;
        if method != Method::OPTIONS || !headers.contains_key("access-control-request-method") {
            return None;
        }
        let Some(origin) = self.origin_allowed(headers) else {
            return Some(Err(()));
        };
        let mut out = HeaderMap::new();
        self.cors_headers(origin.clone(), &mut out);
        out.insert("access-control-allow-methods", cors.methods.clone());
        out.insert("access-control-allow-headers", cors.headers.clone());
        out.insert("access-control-max-age", HeaderValue::from_static("600"));
        Some(Ok(out))
    }

    fn cors_headers(&self, origin: HeaderValue, out: &mut HeaderMap) {
        let Some(cors) = &self.cors else { return };
        if cors.any && !cors.credentials {
            out.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        } else {
            out.insert("access-control-allow-origin", origin);
            out.append("vary", HeaderValue::from_static("Origin"));
        }
        if cors.credentials {
            out.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
    }

    /// Adds the CORS headers (for an allowed `origin`), the security headers and, on a
    /// success or redirect, the CDN headers of `path` to a response with `status`.
    ///
    /// An error keeps its own caching headers (or the error page's): a behaviour's
    /// `max-age` is for the content, and a shared cache that kept a 403 or a 500 under it
    /// would serve that to everyone. nginx's `add_header` draws the same line.
    pub(crate) fn decorate(
        &self,
        origin: Option<HeaderValue>,
        path: &str,
        status: StatusCode,
        out: &mut HeaderMap,
    ) {
        if let Some(origin) = origin {
            self.cors_headers(origin, out);
        }
        for (name, v) in &self.security {
            out.insert(name.clone(), v.clone());
        }
        let content = status.is_success() || status.is_redirection();
        if let Some(i) = self.behaviour(path).filter(|_| content) {
            let (cc, vary) = &self.behaviours[i];
            out.insert("cache-control", cc.clone());
            out.insert("surrogate-control", cc.clone());
            if let Some(vary) = vary {
                out.append("vary", vary.clone());
            }
        }
    }

    fn behaviour(&self, path: &str) -> Option<usize> {
        self.cdn
            .as_ref()?
            .behaviors
            .iter()
            .position(|b| glob(&b.pattern, path))
    }

    /// Geo and signed-URL checks of the CDN: `Err(message)` is a 403.
    pub(crate) fn admit(&self, path: &str, query: &str, headers: &HeaderMap) -> Result<(), String> {
        let Some(cdn) = &self.cdn else { return Ok(()) };
        let country = headers
            .get(cdn.country_header.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_uppercase);
        if let Some(c) = &country {
            if cdn.geo_deny.iter().any(|d| d.eq_ignore_ascii_case(c)) {
                return Err(format!("requests from {c} are refused"));
            }
        }
        if !cdn.geo_allow.is_empty()
            && !country
                .as_ref()
                .is_some_and(|c| cdn.geo_allow.iter().any(|a| a.eq_ignore_ascii_case(c)))
        {
            return Err("requests from this country are refused".into());
        }
        if let Some(i) = self.behaviour(path) {
            if let Some(key) = &self.signed_keys[i] {
                verify_signed_url(key, path, query, now_secs())?;
            }
        }
        Ok(())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A signed URL carries `expires` (unix seconds) and `signature`, the hex HMAC-SHA256 of
/// `path?expires=N` under the CDN's key.
pub(crate) fn verify_signed_url(
    key: &[u8],
    path: &str,
    query: &str,
    now: u64,
) -> Result<(), String> {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let expires: u64 = param("expires")
        .and_then(|v| v.parse().ok())
        .ok_or("the URL is not signed (expires missing)")?;
    let signature = param("signature").ok_or("the URL is not signed (signature missing)")?;
    if now > expires {
        return Err("the signed URL has expired".into());
    }
    let expected = sign_hex(key, format!("{path}?expires={expires}").as_bytes());
    if key.is_empty() || !constant_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err("bad URL signature".into());
    }
    Ok(())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Bodies smaller than this are sent as they are: gzip would not pay for itself.
pub(crate) const COMPRESS_MIN: usize = 1024;

/// True when the request's `Accept-Encoding` lists gzip.
pub(crate) fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get(axum::http::header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|e| e.trim().split(';').next() == Some("gzip"))
        })
}

/// True when a response is worth compressing: text, not already encoded, not tiny.
pub(crate) fn worth_gzip(response: &HeaderMap) -> bool {
    let small = response
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n < COMPRESS_MIN);
    let textual = response
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.starts_with("text/")
                || t.contains("json")
                || t.contains("javascript")
                || t.contains("xml")
        });
    !small && textual && !response.contains_key(axum::http::header::CONTENT_ENCODING)
}

/// `body` gzip-compressed.
pub(crate) fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::fast(),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}
