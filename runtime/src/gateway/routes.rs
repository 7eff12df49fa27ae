//! The route table: routes are tried in declaration order and the first whose method and
//! path pattern match wins. Patterns have literal segments, `:name` parameters and a
//! trailing `*` that matches the rest. Path versioning (`/v2/...`) is read here too.

use crate::spec::{RouteSpec, VersioningSpec};
use axum::http::HeaderMap;

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
    Rest,
}

/// A compiled route pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    method: Option<String>,
    segments: Vec<Segment>,
}

/// What matching a request against the table found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// Route `i` serves the request.
    Route(usize),
    /// Some route has this path, none this method.
    WrongMethod,
    /// No route has this path.
    None,
}

impl Pattern {
    pub(crate) fn new(route: &RouteSpec) -> Self {
        let method = (route.method != "*" && !route.method.is_empty())
            .then(|| route.method.to_ascii_uppercase());
        let segments = route
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s == "*" {
                    Segment::Rest
                } else if s.starts_with(':') {
                    Segment::Param
                } else {
                    Segment::Literal(s.to_string())
                }
            })
            .collect();
        Self { method, segments }
    }

    fn path_matches(&self, path: &str) -> bool {
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        for seg in &self.segments {
            match seg {
                Segment::Rest => return true,
                Segment::Param => {
                    if parts.next().is_none() {
                        return false;
                    }
                }
                Segment::Literal(lit) => {
                    if parts.next() != Some(lit.as_str()) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }

    fn method_matches(&self, method: &str) -> bool {
        match &self.method {
            None => true,
            // HEAD is served by GET routes, as every HTTP server does.
            Some(m) => m == method || (method == "HEAD" && m == "GET"),
        }
    }
}

/// First match wins.
pub(crate) fn find(patterns: &[Pattern], method: &str, path: &str) -> Match {
    let mut path_seen = false;
    for (i, p) in patterns.iter().enumerate() {
        if p.path_matches(path) {
            if p.method_matches(method) {
                return Match::Route(i);
            }
            path_seen = true;
        }
    }
    if path_seen {
        Match::WrongMethod
    } else {
        Match::None
    }
}

/// The API version a request asks for, per the gateway's versioning rule: the first path
/// segment when it looks like `v1`, `v2`, … (by path), or the header (by header), else the
/// declared default.
pub(crate) fn version<'a>(
    spec: &'a VersioningSpec,
    path: &'a str,
    headers: &'a HeaderMap,
) -> Option<&'a str> {
    let found = if spec.by == "header" {
        let name = spec.header.as_deref().unwrap_or("API-Version");
        headers.get(name).and_then(|v| v.to_str().ok())
    } else {
        path.split('/')
            .filter(|s| !s.is_empty())
            .take(2)
            .find(|s| is_version(s))
    };
    found.or(spec.default.as_deref())
}

fn is_version(segment: &str) -> bool {
    let mut chars = segment.chars();
    matches!(chars.next(), Some('v' | 'V'))
        && segment.len() > 1
        && chars.all(|c| c.is_ascii_digit() || c == '.')
}

/// The query string without the parameters named in `strip`.
pub(crate) fn strip_query(query: &str, strip: &[String]) -> String {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split_once('=').map_or(*p, |(k, _)| k);
            !strip.iter().any(|s| s == name)
        })
        .collect::<Vec<_>>()
        .join("&")
}
