//! Every refusal is an explicit answer with a JSON body `{"error": CODE, "message": …}`:
//! 400 malformed input, 401/403 auth, 404, 413 body too large, 429 with `Retry-After` and
//! `RateLimit-*`, 501 not implemented, 503 with `Retry-After`, 504 timeout.

use crate::limit::Decision;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A JSON error answer.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": code, "message": message.into() });
    (status, axum::Json(body)).into_response()
}

/// 400 for a body or parameter that does not parse or validate.
pub fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// 404.
pub fn not_found(message: impl Into<String>) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", message)
}

/// 413 for a body over `limit` bytes.
pub fn too_large(limit: u64) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {limit} bytes"),
    )
}

/// 429 with `Retry-After` and the `RateLimit-*` headers of `decision`.
pub fn rate_limited(limit: &str, decision: &Decision) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("limit `{limit}` exceeded"),
    );
    add_headers(&mut response, &decision.headers());
    response
}

/// 503 with `Retry-After` (seconds, at least 1).
pub fn unavailable(code: &str, message: impl Into<String>, retry_after_secs: u64) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, code, message);
    add_headers(
        &mut response,
        &[("Retry-After", retry_after_secs.max(1).to_string())],
    );
    response
}

/// 504 when the time budget ran out.
pub fn timeout(budget_ms: u64) -> Response {
    error(
        StatusCode::GATEWAY_TIMEOUT,
        "timeout",
        format!("no answer within {budget_ms} ms"),
    )
}

/// Adds headers to a response, skipping any whose name or value is not valid HTTP.
pub fn add_headers(response: &mut Response, headers: &[(&str, String)]) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(*name),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
}
