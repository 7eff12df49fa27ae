//! One file per kind: the IR struct and the lowering that fills it from a block.

mod cache;
mod cdn;
mod common;
mod database;
mod gateway;
mod job;
mod limit;
mod queue;
mod service;
mod system;

pub use cache::*;
pub use cdn::*;
pub use common::*;
pub use database::*;
pub use gateway::*;
pub use job::*;
pub use limit::*;
pub use queue::*;
pub use service::*;
pub use system::*;
