//! IR → runtime spec: what each generated crate embeds as `src/generated/spec.json`.
//!
//! The types are the runtime's own (`archc_runtime::spec`), so the generator and the
//! runtime that reads the file cannot disagree about its shape.

pub mod common;
mod gateway;
mod service;

pub use gateway::{gateway_spec, COUNTRY_HEADER};
pub use service::{job_runner, service_spec};
