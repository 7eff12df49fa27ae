//! Family A0 — syntax, names and types. These rules are enforced while parsing
//! (`syntax`) and lowering (`model::reader`, `model::resolve`, `load`); this module holds
//! their explanations.

use crate::check::Rule;

mod names;
mod syntax_error;
mod types;

/// The rules of this family.
pub const RULES: &[Rule] = &[
    syntax_error::RULE,
    names::a002::RULE,
    names::a003::RULE,
    names::a004::RULE,
    types::a005::RULE,
    types::a006::RULE,
    types::a007::RULE,
    names::a008::RULE,
    names::a009::RULE,
    types::a010::RULE,
];
