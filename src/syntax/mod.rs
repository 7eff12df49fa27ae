//! The syntax layer: pest grammar (`grammar/arch.pest`) → AST with spans.
//!
//! Invariants: knows nothing of kinds, attributes or the IR; never does I/O. Usable alone
//! (a formatter or language server can reuse it).

pub mod ast;
pub mod literal;
mod parser;

pub use parser::parse;
