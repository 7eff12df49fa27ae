//! Rules over the IR and the graph, one module per family (A0 names and types … A7 high
//! availability), one file per rule (or small group). Each rule's doc comment is the text
//! `archc explain CODE` prints — one source, never two.
//!
//! Invariant: pure — takes the program, returns diagnostics.

pub mod a0_syntax;
pub mod a1_balancing;
pub mod a2_caching;
pub mod a3_data;
pub mod a4_limits;
pub mod a5_queues;
pub mod a6_gateway;
pub mod a7_availability;
pub(crate) mod common;

use crate::diagnostic::{Diagnostic, Severity};
use crate::graph::ArchGraph;
use crate::model::Program;
use crate::plan::catalogue::Catalogue;

/// What a rule sees.
pub struct Context<'a> {
    pub program: &'a Program,
    pub graph: &'a ArchGraph,
    pub catalogue: &'a Catalogue,
    loads: std::cell::OnceCell<crate::plan::load::Loads>,
}

impl<'a> Context<'a> {
    /// A context over one program.
    pub fn new(program: &'a Program, graph: &'a ArchGraph, catalogue: &'a Catalogue) -> Self {
        Context {
            program,
            graph,
            catalogue,
            loads: std::cell::OnceCell::new(),
        }
    }

    /// The plan model's load figures (plan-model.md §1), computed once for every rule
    /// that needs them.
    pub fn loads(&self) -> &crate::plan::load::Loads {
        self.loads
            .get_or_init(|| crate::plan::load::compute(self.program, self.catalogue))
    }
}

/// A rule: its code, severity, one-line summary, long explanation and check function.
/// Rules A001–A010 are enforced while parsing and lowering (`syntax`, `model::reader`),
/// so they have no function here.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub explanation: &'static str,
    pub run: Option<fn(&Context) -> Vec<Diagnostic>>,
}

/// Declares a rule; the doc comment above it becomes its `archc explain` text.
#[macro_export]
macro_rules! declare_rule {
    ($(#[doc = $doc:expr])* $code:ident, $severity:ident, $summary:literal $(, $run:path)?) => {
        $(#[doc = $doc])*
        pub const RULE: $crate::check::Rule = $crate::check::Rule {
            code: stringify!($code),
            severity: $crate::diagnostic::Severity::$severity,
            summary: $summary,
            explanation: concat!($($doc, "\n"),*),
            run: $crate::declare_rule!(@run $($run)?),
        };
    };
    (@run) => { None };
    (@run $run:path) => { Some($run) };
}

/// Every rule, in code order.
pub fn rules() -> Vec<Rule> {
    let mut all: Vec<Rule> = [
        a0_syntax::RULES,
        a1_balancing::RULES,
        a2_caching::RULES,
        a3_data::RULES,
        a4_limits::RULES,
        a5_queues::RULES,
        a6_gateway::RULES,
        a7_availability::RULES,
    ]
    .concat();
    all.sort_by_key(|r| r.code);
    all
}

/// The rule with this code (case-insensitive).
pub fn rule(code: &str) -> Option<Rule> {
    rules()
        .into_iter()
        .find(|r| r.code.eq_ignore_ascii_case(code))
}

/// Runs every semantic rule over a lowered program.
pub fn check(program: &Program, graph: &ArchGraph, catalogue: &Catalogue) -> Vec<Diagnostic> {
    let ctx = Context::new(program, graph, catalogue);
    let mut out: Vec<Diagnostic> = rules()
        .iter()
        .filter_map(|r| r.run)
        .flat_map(|run| run(&ctx))
        .collect();
    out.sort_by_key(|d| (d.span.file, d.span.start, d.code));
    out
}
