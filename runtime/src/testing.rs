//! In-process testing of a generated service: [`TestApp`] builds the app on embedded
//! backends and drives it request by request (no socket), with helpers that make rows,
//! paths and keys from the spec so the generated tests need no knowledge of the schema.

use crate::backend::Backends;
use crate::queue::{Broker, Delivery};
use crate::service::{App, Context, Handlers, MessageOutcome};
use crate::spec::ServiceSpec;
use crate::store::{key_of, Row};
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A service running in process on embedded backends, with its workers started. Dropping
/// it stops the workers.
#[derive(Debug)]
pub struct TestApp {
    app: App,
    broker: Arc<dyn Broker>,
}

/// An answer of [`TestApp::send`].
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn as_row(value: &Value) -> Row {
    match value {
        Value::Object(m) => m.clone(),
        _ => Row::new(),
    }
}

impl TestApp {
    /// Builds `spec` with `handlers` on embedded backends and starts its workers.
    ///
    /// # Panics
    /// When the spec cannot be built (a unknown limit, an invalid rate): a test failure.
    pub async fn start(spec: ServiceSpec, handlers: Arc<dyn Handlers>) -> Self {
        let backends = Backends::embedded();
        let broker = backends.broker.clone();
        let app = match App::build(spec, handlers, backends).await {
            Ok(app) => app,
            Err(why) => panic!("the service does not build: {why}"),
        };
        app.start_workers();
        Self { app, broker }
    }

    /// The context handlers get.
    pub fn context(&self) -> &Context {
        self.app.context()
    }

    /// A row valid for `table`'s columns with a key distinct per `seed`.
    ///
    /// # Panics
    /// When `table` is not a table of the service.
    pub fn sample_row(&self, table: &str, seed: u64) -> Value {
        match self.app.shared().tables.sample_row(table, seed) {
            Ok(row) => Value::Object(row),
            Err(why) => panic!("sample_row({table}): {why}"),
        }
    }

    /// The path of `endpoint` with its key parameter (`:id`, else the last one) set to
    /// `id` and any other parameter set to `1`.
    pub fn sample_path(&self, endpoint: &str, id: &str) -> String {
        let spec = self.app.context().spec();
        let path = spec
            .endpoints
            .iter()
            .find(|e| e.name == endpoint)
            .and_then(|e| e.path.clone())
            .unwrap_or_else(|| "/".into());
        let params: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix(':'))
            .collect();
        let key = if params.contains(&"id") {
            "id"
        } else {
            params.last().copied().unwrap_or("")
        };
        path.split('/')
            .map(|seg| match seg.strip_prefix(':') {
                Some(name) if name == key => id.replace('/', "%2F"),
                Some(_) => "1".to_string(),
                None => seg.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The primary key of `row` as text.
    ///
    /// # Panics
    /// When the table is unknown or the row lacks its key.
    pub fn row_id(&self, table: &str, row: &Value) -> String {
        let spec = match self.app.shared().tables.spec(table) {
            Ok(s) => s,
            Err(why) => panic!("row_id({table}): {why}"),
        };
        key_of(spec, &as_row(row)).unwrap_or_else(|| panic!("row_id({table}): the row has no key"))
    }

    /// Stores `row` through the shard router (a missing key is generated); returns its key.
    ///
    /// # Panics
    /// When the row cannot be stored.
    pub async fn seed(&self, table: &str, row: Value) -> String {
        match self.app.shared().tables.put(table, as_row(&row)).await {
            Ok((key, _)) => key,
            Err(why) => panic!("seed({table}): {why}"),
        }
    }

    /// The shard `row` of `table` routes to.
    ///
    /// # Panics
    /// When the row cannot be routed.
    pub fn shard_of(&self, table: &str, row: &Value) -> u32 {
        match self.app.shared().tables.shard_of(table, &as_row(row)) {
            Ok(s) => s,
            Err(why) => panic!("shard_of({table}): {why}"),
        }
    }

    /// (hits, misses) of cache `cache` so far.
    ///
    /// # Panics
    /// When there is no such cache.
    pub async fn cache_stats(&self, cache: &str) -> (u64, u64) {
        match self.app.shared().caches.get(cache) {
            Some(c) => c.stats(),
            None => panic!("no cache `{cache}`"),
        }
    }

    /// Drops `id` from every layer of `cache`.
    pub async fn invalidate(&self, cache: &str, id: &str) {
        if let Some(c) = self.app.shared().caches.get(cache) {
            c.invalidate(id).await;
        }
    }

    /// Publishes `payload` to `queue`.
    ///
    /// # Panics
    /// When the queue is unknown or the broker fails.
    pub async fn publish(&self, queue: &str, payload: Value) {
        if let Err(why) = self.app.shared().publish(queue, &payload).await {
            panic!("publish({queue}): {why}");
        }
    }

    /// Waits (up to an hour of tokio time, instant under `start_paused`) for `n` messages
    /// on dead-letter queue `queue`, acknowledging them.
    ///
    /// # Panics
    /// When they do not arrive.
    pub async fn wait_for_dead_letters(&self, queue: &str, n: usize) -> Vec<Delivery> {
        let mut dead = Vec::with_capacity(n);
        while dead.len() < n {
            match tokio::time::timeout(Duration::from_secs(3_600), self.broker.receive(queue)).await
            {
                Ok(Ok(d)) => {
                    let _ = self.broker.ack(&d).await;
                    dead.push(d);
                }
                Ok(Err(why)) => panic!("dead letters of {queue}: {why}"),
                Err(_) => panic!("only {} of {n} dead letters arrived on {queue}", dead.len()),
            }
        }
        dead
    }

    /// Sends `method path` with an optional JSON body.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        match body {
            Some(v) => {
                let bytes = v.to_string().into_bytes();
                self.send_raw(
                    method,
                    path,
                    &[("content-type", "application/json")],
                    &bytes,
                )
                .await
            }
            None => self.send_raw(method, path, &[], &[]).await,
        }
    }

    /// Sends `method path` with `headers` and raw `body` bytes.
    ///
    /// # Panics
    /// When the method, path or a header is not valid HTTP.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> TestResponse {
        let mut builder = axum::http::Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = match builder.body(Body::from(body.to_vec())) {
            Ok(r) => r,
            Err(why) => panic!("{method} {path}: not a valid request: {why}"),
        };
        let response = self.app.handle(request).await;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = match response.into_body().collect().await {
            Ok(b) => b.to_bytes().to_vec(),
            Err(why) => panic!("{method} {path}: the body failed: {why}"),
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.app.shutdown().trigger();
    }
}

/// Handlers whose consumers fail every message transiently (endpoints and jobs keep the
/// generated behaviour): the messages are retried, then dead-lettered.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailingConsumers;

#[async_trait::async_trait]
impl Handlers for FailingConsumers {
    async fn message(
        &self,
        consumer: &str,
        _ctx: &Context,
        _delivery: &Delivery,
    ) -> MessageOutcome {
        MessageOutcome::Transient(format!(
            "testing::FailingConsumers fails every message of `{consumer}`"
        ))
    }
}
