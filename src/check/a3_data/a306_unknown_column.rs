//! A306: an index, primary key or partition names a column the table does not have.

use crate::check::Context;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::model::{Database, IndexPart, Spanned, Table};

crate::declare_rule! {
    /// ## What it does
    /// Reports a column named by an index (`on`, `include`), the primary key (`key`) or the
    /// partitioning (`partition { by }`) that is not in the table's `columns`. Expressions
    /// (quoted `on` entries) are not checked, nor are tables that declare no columns.
    ///
    /// ## Why is this bad?
    /// The migration generated from the file fails (`CREATE INDEX ... column does not
    /// exist`), usually in the middle of a deploy; or the typo goes unnoticed in review and
    /// the query the index was meant for scans the table (`shared/seed`, §6).
    ///
    /// ## Example
    /// ```arch
    /// database shop_db {
    ///   table users {
    ///     columns { id = bigint  email = text }
    ///     index { on = [emial] }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database shop_db {
    ///   table users {
    ///     columns { id = bigint  email = text }
    ///     index { on = [email] }
    ///   }
    /// }
    /// ```
    A306, Error, "index, key or partition names an unknown column", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        for t in db.tables.iter().filter(|t| !t.columns.is_empty()) {
            for c in named_columns(t) {
                if t.column(&c.0.value).is_none() {
                    out.push(report(db, t, c.0, c.1));
                }
            }
        }
    }
    out
}

/// Every column the table's indexes, key and partition name, with the role it plays.
fn named_columns(t: &Table) -> Vec<(&Spanned<String>, &'static str)> {
    let mut out: Vec<(&Spanned<String>, &'static str)> =
        t.key.iter().map(|k| (k, "primary key")).collect();
    for i in &t.indexes {
        out.extend(i.on.iter().filter_map(|p| match p {
            IndexPart::Column(c) => Some((c, "index")),
            IndexPart::Expression(_) => None,
        }));
        out.extend(i.include.iter().map(|c| (c, "index `include`")));
    }
    if let Some(by) = t.partition.as_ref().and_then(|p| p.by.as_ref()) {
        out.push((by.column(), "partition"));
    }
    out
}

fn report(db: &Database, t: &Table, col: &Spanned<String>, role: &str) -> Diagnostic {
    let hint = did_you_mean(&col.value, t.columns.iter().map(|c| c.name.value.as_str()));
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.value.as_str()).collect();
    let help = if hint.is_empty() {
        format!(
            "name one of the columns of `{}` ({}), or add `{}` to its `columns`",
            t.name.value,
            names.join(", "),
            col.value
        )
    } else {
        format!(
            "{hint} Or add `{}` to the `columns` of `{}`",
            col.value, t.name.value
        )
    };
    Diagnostic::error(
        "A306",
        col.span,
        format!(
            "the {role} of `{}.{}` names `{}`, which is not a column of the table",
            db.name.value, t.name.value, col.value
        ),
    )
    .with_primary_label("unknown column")
    .with_label(t.name.span, format!("table `{}`", t.name.value))
    .with_help(help)
}
