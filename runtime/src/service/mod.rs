//! Generated services: the API the templates of `archc generate` program against, and the
//! behaviour a service has before anyone edits it (`generate.md` §4).
//!
//! A generated crate embeds its [`ServiceSpec`] and implements [`Handlers`] (through its
//! generated trait). [`serve`] runs it on its port with the backends the environment names; [`App`] is
//! the same service in process, which [`crate::testing::TestApp`] drives.
//!
//! Every [`Outcome::Default`] runs the generated behaviour: reads go cache → shard router →
//! store, writes validate the body against the table's columns and store it, calls go
//! through timeout, retry and circuit breaker, anything else answers 501.

mod app;
mod behaviour;
mod cache;
pub mod cron;
mod data;
mod outbound;
mod workers;

pub use app::App;
pub use data::DataError;

use crate::backend::Backends;
use crate::http::log;
use crate::queue::{Delivery, ErrorClass, HandlerError};
use crate::spec::ServiceSpec;
use crate::store::Row;
use axum::http::{HeaderMap, Method};
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

/// Parses the JSON spec a generated crate embeds.
pub fn spec_from_json(text: &str) -> Result<ServiceSpec, serde_json::Error> {
    serde_json::from_str(text)
}

/// An HTTP request as a handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path as requested (without the query).
    pub path: String,
    /// Path parameters (`:id` → value).
    pub params: BTreeMap<String, String>,
    /// Query parameters (the last value of a repeated name wins).
    pub query: BTreeMap<String, String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
    /// The request id (`X-Request-Id`).
    pub request_id: String,
}

impl Request {
    /// The path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// The header `name` as text, if it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// What an endpoint handler answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Run the behaviour archc generated for the endpoint.
    Default,
    /// Answer `status` with a JSON body.
    Json(u16, Value),
    /// Answer `status` with no body.
    Status(u16),
    /// Answer `status` with a `text/plain` body.
    Text(u16, String),
}

/// What a consumer handler answers for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Done: acknowledge the message.
    Default,
    /// May succeed later (the queue's `errors.transient` action, retry by default).
    Transient(String),
    /// The message can never be processed (`errors.invalid`, discard by default).
    Invalid(String),
    /// Refused by a business rule (`errors.business`, dead letter by default).
    Business(String),
}

impl MessageOutcome {
    /// The consumer's view: `Ok` to ack, or the failure with its class.
    pub fn into_result(self) -> Result<(), HandlerError> {
        let (class, message) = match self {
            Self::Default => return Ok(()),
            Self::Transient(m) => (ErrorClass::Transient, m),
            Self::Invalid(m) => (ErrorClass::Invalid, m),
            Self::Business(m) => (ErrorClass::Business, m),
        };
        Err(HandlerError { class, message })
    }
}

/// The code of one service: one method per kind, dispatched by name. Generated crates
/// implement it through their generated trait; every default runs the generated behaviour.
#[async_trait::async_trait]
pub trait Handlers: Send + Sync + 'static {
    /// Endpoint `endpoint` was called.
    async fn endpoint(&self, _endpoint: &str, _ctx: &Context, _req: Request) -> Outcome {
        Outcome::Default
    }

    /// Consumer `consumer` received `delivery`.
    async fn message(
        &self,
        _consumer: &str,
        _ctx: &Context,
        _delivery: &Delivery,
    ) -> MessageOutcome {
        MessageOutcome::Default
    }

    /// Job `job` is due.
    async fn job(&self, _job: &str, _ctx: &Context) -> Result<(), String> {
        Ok(())
    }
}

/// What handlers reach: the tables through their shard routers, the caches, the queues
/// and the upstream services. Cloning shares everything.
#[derive(Debug, Clone)]
pub struct Context {
    shared: Arc<app::Shared>,
}

impl Context {
    /// The service's spec.
    pub fn spec(&self) -> &ServiceSpec {
        &self.shared.spec
    }

    /// The row of `table` (`database.table`) with primary key `key`, read through the
    /// shard router (no cache).
    pub async fn get(&self, table: &str, key: &str) -> Result<Option<Row>, DataError> {
        self.shared.tables.get(table, key).await
    }

    /// Validates `row` against `table`'s columns, fills a missing key from the table's id
    /// generator and stores it through the shard router. Returns the key and the row.
    pub async fn put(&self, table: &str, row: Value) -> Result<(String, Row), DataError> {
        let row = self.shared.tables.validate(table, &row)?;
        self.shared.tables.put(table, row).await
    }

    /// Publishes `payload` (as JSON) to `queue`.
    pub async fn publish(&self, queue: &str, payload: &Value) -> Result<(), DataError> {
        self.shared.publish(queue, payload).await
    }

    /// Calls `method path` on upstream service `service` with an optional JSON body,
    /// returning the status and body. No retry or breaker: those belong to endpoints.
    pub async fn call(
        &self,
        service: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Bytes), DataError> {
        let body = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
        self.shared
            .outbound
            .send_once(service, method, path, body)
            .await
            .map_err(DataError::Upstream)
    }
}

/// Runs the service on its port (`PORT` overrides it) until Ctrl-C or SIGTERM, then drains
/// requests, consumers and jobs. The backends are those the environment names
/// ([`Backends::from_env`]): embedded when no URL is set; a URL that is set but does not
/// work stops start-up with a message naming its variable.
/// The JSON access log is on unless `ACCESS_LOG` is `off`.
pub async fn serve(spec: ServiceSpec, handlers: Arc<dyn Handlers>) -> ExitCode {
    let name = spec.name.clone();
    let port = match crate::http::listen_port(spec.port) {
        Ok(port) => port,
        Err(why) => {
            log::error(&name, &why, &[]);
            return ExitCode::FAILURE;
        }
    };
    let backends = match Backends::from_env(&spec).await {
        Ok(b) => b,
        Err(why) => {
            log::error(
                &name,
                "cannot start: backend unavailable",
                &[
                    ("variable", why.variable.clone().into()),
                    ("error", why.to_string().into()),
                ],
            );
            return ExitCode::FAILURE;
        }
    };
    let app = match App::build(spec, handlers, backends).await {
        Ok(app) => app.with_access_log(crate::http::server::access_log_from_env()),
        Err(why) => {
            log::error(&name, "cannot start", &[("error", why.to_string().into())]);
            return ExitCode::FAILURE;
        }
    };
    let listener = match crate::http::server::listen(&name, port).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    log::info(
        &name,
        "listening",
        &[
            ("port", port.into()),
            ("backends", app.backends_described().into()),
        ],
    );
    app.start_workers();
    let shutdown = app.shutdown();
    let served = app.clone();
    crate::http::server::run(
        &name,
        listener,
        move |request| {
            let app = served.clone();
            async move { app.handle(request).await }
        },
        move || shutdown.trigger(),
        app.drain(),
    )
    .await
}
