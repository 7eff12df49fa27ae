//! A307: an index whose columns are a leading prefix of another index of the same kind.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Database, Index, IndexKind, IndexPart, Table};
use crate::source::Span;

crate::declare_rule! {
    /// ## What it does
    /// Reports an index whose `on` list is a leading prefix of another index of the same
    /// table with the same `kind` and the same `where` (a `btree` primary key counts as a
    /// unique btree index). A strict prefix is only redundant for `btree`; an exact duplicate
    /// is redundant for every kind. A `unique` index is kept when the other one has more
    /// columns or is not unique (it enforces a constraint), and an index whose `include`
    /// columns the other one does not cover is kept too.
    ///
    /// ## Why is this bad?
    /// Every index is updated on every write and takes memory from the cache; a redundant
    /// one costs that and serves no query the longer index cannot (`shared/seed`, §6
    /// "Too many indexes").
    ///
    /// ## Example
    /// ```arch
    /// database shop_db {
    ///   table orders {
    ///     columns { id = bigint  user_id = bigint  created_at = timestamptz }
    ///     index { on = [user_id] }
    ///     index { on = [user_id, created_at] }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database shop_db {
    ///   table orders {
    ///     columns { id = bigint  user_id = bigint  created_at = timestamptz }
    ///     index { on = [user_id, created_at] }
    ///   }
    /// }
    /// ```
    A307, Warning, "redundant index", run
}

/// An index as compared here.
struct Shape {
    parts: Vec<String>,
    kind: IndexKind,
    unique: bool,
    where_: Option<String>,
    include: Vec<String>,
    span: Span,
    what: String,
}

fn squash(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn part(p: &IndexPart) -> String {
    match p {
        IndexPart::Column(c) => c.value.clone(),
        IndexPart::Expression(e) => format!("\"{}\"", squash(&e.value)),
    }
}

fn shape(i: &Index) -> Shape {
    let parts: Vec<String> = i.on.iter().map(part).collect();
    Shape {
        what: format!("index on [{}]", parts.join(", ")),
        parts,
        kind: i.kind.value,
        unique: i.unique.value,
        where_: i.where_.as_ref().map(|w| squash(&w.value)),
        include: i.include.iter().map(|c| c.value.clone()).collect(),
        span: i.span,
    }
}

fn primary_key(t: &Table) -> Option<Shape> {
    let first = t.key.first()?;
    let parts: Vec<String> = t.key.iter().map(|k| k.value.clone()).collect();
    Some(Shape {
        what: format!("primary key [{}]", parts.join(", ")),
        parts,
        kind: IndexKind::Btree,
        unique: true,
        where_: None,
        include: Vec::new(),
        span: first.span,
    })
}

/// Does `b` make `a` redundant? `a_first` breaks the tie between two identical indexes.
fn covers(a: &Shape, b: &Shape, a_first: bool) -> bool {
    if a.kind != b.kind
        || a.where_ != b.where_
        || a.parts.is_empty()
        || a.parts.len() > b.parts.len()
    {
        return false;
    }
    if !b.parts.starts_with(&a.parts)
        || !a
            .include
            .iter()
            .all(|c| b.parts.contains(c) || b.include.contains(c))
    {
        return false;
    }
    let same = a.parts.len() == b.parts.len();
    if !same {
        return a.kind == IndexKind::Btree && !a.unique;
    }
    match (a.unique, b.unique) {
        (true, false) => false,
        (false, true) => true,
        // Same columns and uniqueness: the one with fewer `include` columns is redundant;
        // between two identical indexes, the later one.
        _ => {
            !a_first
                || !b
                    .include
                    .iter()
                    .all(|c| a.parts.contains(c) || a.include.contains(c))
        }
    }
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        for t in &db.tables {
            let indexes: Vec<Shape> = t.indexes.iter().map(shape).collect();
            let pk = primary_key(t);
            for (i, a) in indexes.iter().enumerate() {
                let other = indexes
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .find(|(j, b)| covers(a, b, i < *j))
                    .map(|(_, b)| b);
                if let Some(b) = other.or(pk.as_ref().filter(|k| covers(a, k, false))) {
                    out.push(report(db, t, a, b));
                }
            }
        }
    }
    out
}

fn report(db: &Database, t: &Table, a: &Shape, b: &Shape) -> Diagnostic {
    let relation = if a.parts.len() == b.parts.len() {
        "duplicates"
    } else {
        "is a leading prefix of"
    };
    Diagnostic::warning(
        "A307",
        a.span,
        format!(
            "on `{}.{}`, the {} {relation} the {}: it serves no query the other cannot",
            db.name.value, t.name.value, a.what, b.what
        ),
    )
    .with_primary_label("redundant index")
    .with_label(
        b.span,
        format!("the {} already serves these lookups", b.what),
    )
    .with_help(format!(
        "remove the {} (each index slows every write to `{}`)",
        a.what, t.name.value
    ))
}
