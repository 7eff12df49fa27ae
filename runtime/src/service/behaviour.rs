//! The generated behaviour of an endpoint (`Outcome::Default`): read a row, write a row,
//! call upstreams, or answer 501 naming the handler to write.

use super::data::DataError;
use super::outbound::CallError;
use super::{Context, Request};
use crate::http::respond;
use crate::spec::{EndpointSpec, TargetSpec};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};

/// The table an endpoint's targets reach (through a cache, its source) and the cache.
fn target<'a>(ctx: &'a Context, targets: &'a [TargetSpec]) -> Option<(&'a str, Option<&'a str>)> {
    targets.iter().find_map(|t| match t {
        TargetSpec::Table { id } => Some((id.as_str(), None)),
        TargetSpec::Cache { name } => ctx
            .spec()
            .caches
            .iter()
            .find(|c| &c.name == name)
            .and_then(|c| Some((c.source.as_deref()?, Some(name.as_str())))),
        TargetSpec::Database { .. } => None,
    })
}

/// The key of a request: the `id` path parameter, else the last one.
fn key_param(e: &EndpointSpec, req: &Request) -> Option<String> {
    if let Some(id) = req.param("id") {
        return Some(id.to_string());
    }
    let path = e.path.as_deref()?;
    let last = path
        .split('/')
        .filter_map(|s| s.strip_prefix(':'))
        .next_back()?;
    req.param(last).map(str::to_string)
}

/// 200 with `json`, a serialised JSON value, as the body.
fn json_answer(json: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

fn failure(e: DataError) -> Response {
    match e {
        DataError::Invalid(m) | DataError::Shard(m) => respond::bad_request(m),
        DataError::Unknown(m) => respond::error(StatusCode::INTERNAL_SERVER_ERROR, "spec", m),
        DataError::Backend(m) => respond::unavailable("backend_unavailable", m, 1),
        DataError::Upstream(m) => respond::error(StatusCode::BAD_GATEWAY, "upstream", m),
    }
}

fn not_implemented(e: &EndpointSpec) -> Response {
    respond::error(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        format!(
            "endpoint `{0}` has no generated behaviour: implement `{0}` in src/handlers.rs",
            e.name
        ),
    )
}

/// Runs the generated behaviour of `e`.
pub(crate) async fn run(ctx: &Context, e: &EndpointSpec, req: Request) -> Response {
    if !e.writes.is_empty() {
        match target(ctx, &e.writes) {
            Some((table, cache)) => write(ctx, e, table, cache, req).await,
            None => not_implemented(e),
        }
    } else if !e.reads.is_empty() {
        match target(ctx, &e.reads) {
            Some((table, cache)) => read(ctx, e, table, cache, &req).await,
            None => not_implemented(e),
        }
    } else if !e.calls.is_empty() {
        call(ctx, e, req).await
    } else {
        not_implemented(e)
    }
}

async fn read(
    ctx: &Context,
    e: &EndpointSpec,
    table: &str,
    cache: Option<&str>,
    req: &Request,
) -> Response {
    let shared = &ctx.shared;
    let Some(key) = key_param(e, req) else {
        let limit = req
            .query("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(100usize)
            .min(1000);
        return match shared.tables.scan(table, limit).await {
            Ok(rows) => axum::Json(Value::Array(rows.into_iter().map(Value::Object).collect()))
                .into_response(),
            Err(why) => failure(why),
        };
    };
    let found = match cache.and_then(|c| shared.caches.get(c)) {
        Some(c) => c.get(&shared.tables, table, &key).await,
        None => shared
            .tables
            .get(table, &key)
            .await
            .map(|row| row.map(|row| Bytes::from(Value::Object(row).to_string()))),
    };
    match found {
        Ok(Some(json)) => json_answer(json),
        Ok(None) => respond::not_found(format!("no row of {table} has key `{key}`")),
        Err(why) => failure(why),
    }
}

async fn write(
    ctx: &Context,
    e: &EndpointSpec,
    table: &str,
    cache: Option<&str>,
    req: Request,
) -> Response {
    let shared = &ctx.shared;
    let key = key_param(e, &req);
    if req.method == Method::DELETE {
        let Some(key) = key else {
            return respond::bad_request("a delete needs the key in the path");
        };
        for c in shared
            .caches
            .values()
            .filter(|c| c.spec.source.as_deref() == Some(table))
        {
            c.invalidate(&key).await;
        }
        if !req.body.is_empty() && serde_json::from_slice::<Value>(&req.body).is_err() {
            return respond::bad_request("the body is not JSON");
        }
        // Deleting is idempotent: a row already gone is still gone.
        return match shared.tables.delete(table, &key).await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(why) => failure(why),
        };
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(why) => return respond::bad_request(format!("the body is not JSON: {why}")),
    };
    let mut row = match shared.tables.validate(table, &body) {
        Ok(row) => row,
        Err(why) => return failure(why),
    };
    if let (Some(key), Ok(spec)) = (&key, shared.tables.spec(table)) {
        if let [column] = spec.key.as_slice() {
            if row.get(column).is_none_or_null() {
                let value = shared.tables.key_value(table, column, key);
                row.insert(column.clone(), value);
            }
        }
    }
    if let Err(why) = shared.tables.fill_key(table, &mut row).await {
        return failure(why);
    }
    let key = match shared
        .tables
        .spec(table)
        .ok()
        .and_then(|s| crate::store::key_of(s, &row))
    {
        Some(k) => k,
        None => return respond::bad_request("the row has no primary key"),
    };
    let mut deferred = false;
    let fronting = shared.caches.values().filter(|c| {
        c.spec.source.as_deref() == Some(table) || cache.is_some_and(|n| n == c.spec.name)
    });
    for c in fronting {
        deferred |= c.after_write(&key, &row).await;
        if c.batch_full() {
            c.flush(&shared.tables).await;
        }
    }
    if !deferred {
        if let Err(why) = shared.tables.put(table, row.clone()).await {
            return failure(why);
        }
    }
    let row = Value::Object(row);
    for queue in &e.publishes {
        if let Err(why) = shared.publish(queue, &row).await {
            return failure(why);
        }
    }
    let status = if req.method == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(row)).into_response()
}

async fn call(ctx: &Context, e: &EndpointSpec, req: Request) -> Response {
    let mut last = None;
    for c in &e.calls {
        match ctx
            .shared
            .outbound
            .call(e, c, &req.params, req.body.clone())
            .await
        {
            Ok((status, body)) if status < 400 => last = Some((status, body)),
            Ok((status, body)) => return upstream_answer(status, body),
            Err(CallError::Open(secs)) => {
                return respond::unavailable(
                    "breaker_open",
                    format!("calls to `{}` are suspended", c.service),
                    secs,
                )
            }
            Err(CallError::Failed(why)) => {
                return respond::error(
                    StatusCode::BAD_GATEWAY,
                    "upstream",
                    format!("{}: {why}", c.service),
                )
            }
        }
    }
    match last {
        Some((status, body)) => upstream_answer(status, body),
        None => not_implemented(e),
    }
}

fn upstream_answer(status: u16, body: bytes::Bytes) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => (status, axum::Json(v)).into_response(),
        Err(_) if body.is_empty() => (status, axum::Json(json!({}))).into_response(),
        Err(_) => (status, body).into_response(),
    }
}

trait NullOrMissing {
    fn is_none_or_null(&self) -> bool;
}

impl NullOrMissing for Option<&Value> {
    fn is_none_or_null(&self) -> bool {
        !matches!(self, Some(v) if !v.is_null())
    }
}
