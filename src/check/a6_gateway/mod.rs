//! Rules of family a6 (see checks.md).

use crate::check::Rule;

/// The rules of this family.
pub const RULES: &[Rule] = &[];
