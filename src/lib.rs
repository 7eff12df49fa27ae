//! archc — a compiler for system architectures.
//!
//! The pipeline, one module per stage: [`syntax`] (text → AST) → [`model`] (AST → typed IR,
//! names resolved) → [`graph`] (IR → petgraph) → [`check`] (rules over IR and graph) →
//! [`plan`] (capacity, latency, availability, cost) / [`generate`] (workspace files) → `cli` (the only layer with I/O).
//! [`load`] assembles a program from files and imports through a [`load::SourceReader`].

// pest's derive without its `std` feature names `alloc::` paths; the std feature only adds a
// per-rule stack probe, redundant with the parser's own nesting bound (syntax::parser).
extern crate alloc;

pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod generate;
pub mod graph;
pub mod load;
pub mod model;
pub mod plan;
pub mod source;
pub mod syntax;
