//! Your code for the `greeter` service. archc created this file once and never
//! overwrites it.
//!
//! Every method of [`GreeterHandlers`] has a default that runs the behaviour archc
//! generated from the `.arch` file (reads go cache → shard router → store, writes validate
//! and store the row, calls go through timeout, retry and circuit breaker). Override a
//! method here to replace it, for example:
//!
//! ```ignore
//! #[archc_runtime::async_trait]
//! impl GreeterHandlers for Handlers {
//!     async fn say_hello(&self, ctx: &Context, req: Request) -> Outcome {
//!         // your business logic; `ctx` reaches the tables, caches, queues and services
//!         Outcome::Default
//!     }
//! }
//! ```

#[allow(unused_imports)]
use crate::generated::GreeterHandlers;

/// The `greeter` service's handlers.
#[derive(Debug, Default)]
pub struct Handlers;

#[archc_runtime::async_trait]
impl GreeterHandlers for Handlers {}
