//! The plan model (plan-model.md): load, M/M/c services, caches, databases, queues,
//! availability and cost. Pure functions over the IR and the price catalogue.
//!
//! The formula modules (`queueing`, `cache_model`, `availability`) know nothing of the IR;
//! `load` and `estimate` apply them to a program. `check` reuses these for A106, A207, A701.

pub mod availability;
pub mod cache_model;
pub mod catalogue;
pub mod estimate;
pub mod load;
pub mod queueing;
pub mod render;
pub mod report;
pub mod topology;
