//! A310: an access pattern (`queries`) that no index supports.

use super::common::{parse_access_pattern, AccessPattern};
use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::{Database, IndexKind, IndexPart, Spanned, Table};

crate::declare_rule! {
    /// ## What it does
    /// Reads each `queries` pattern of a table and reports one that no index supports:
    /// - `"by a, b [order c]"` needs an index whose leading columns are `a` and `b` (in any
    ///   order), optionally followed by `c`: a `btree` index, the primary key, or for a single
    ///   column without `order` also a `hash` index;
    /// - `"range x"` needs a `btree` or `brin` index (or the primary key) that starts with `x`;
    /// - `"search x"` needs a `gin` or `gist` index on `x` or on an expression that mentions `x`.
    ///
    /// Words are case-insensitive; a pattern of another form is not checked.
    ///
    /// ## Why is this bad?
    /// Without a supporting index the database reads the whole table for every such query
    /// (`shared/seed`, §6 "Index Types and Strategies"): fine with a thousand rows, a
    /// timeout with a hundred million.
    ///
    /// ## Example
    /// ```arch
    /// database shop_db {
    ///   table orders {
    ///     columns { id = bigint  user_id = bigint  created_at = timestamptz }
    ///     key = id
    ///     queries = ["by user_id order created_at"]
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// database shop_db {
    ///   table orders {
    ///     columns { id = bigint  user_id = bigint  created_at = timestamptz }
    ///     key = id
    ///     index { on = [user_id, created_at] }
    ///     queries = ["by user_id order created_at"]
    ///   }
    /// }
    /// ```
    A310, Warning, "access pattern without a supporting index", run
}

/// An index reduced to what matters here; the primary key is a btree index.
struct Shape<'a> {
    kind: IndexKind,
    parts: Vec<&'a IndexPart>,
    key: Vec<&'a str>,
}

fn shapes(t: &Table) -> Vec<Shape<'_>> {
    let mut out: Vec<Shape> = t
        .indexes
        .iter()
        .map(|i| Shape {
            kind: i.kind.value,
            parts: i.on.iter().collect(),
            key: Vec::new(),
        })
        .collect();
    if !t.key.is_empty() {
        out.push(Shape {
            kind: IndexKind::Btree,
            parts: Vec::new(),
            key: t.key.iter().map(|k| k.value.as_str()).collect(),
        });
    }
    out
}

impl Shape<'_> {
    /// The plain columns of the index in order; an expression ends the usable prefix.
    fn columns(&self) -> Vec<&str> {
        if !self.key.is_empty() {
            return self.key.clone();
        }
        self.parts
            .iter()
            .map_while(|p| match p {
                IndexPart::Column(c) => Some(c.value.as_str()),
                IndexPart::Expression(_) => None,
            })
            .collect()
    }

    fn mentions(&self, col: &str) -> bool {
        self.columns().contains(&col)
            || self.parts.iter().any(|p| match p {
                IndexPart::Expression(e) => e
                    .value
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == col),
                IndexPart::Column(_) => false,
            })
    }
}

/// True when some index of the table supports the pattern.
fn supported(t: &Table, pattern: &AccessPattern) -> bool {
    shapes(t).iter().any(|s| match pattern {
        AccessPattern::By { columns, order } => {
            let cols = s.columns();
            let kind_ok = s.kind == IndexKind::Btree
                || (s.kind == IndexKind::Hash && columns.len() == 1 && order.is_none());
            kind_ok
                && cols.len() >= columns.len()
                && cols
                    .iter()
                    .take(columns.len())
                    .all(|c| columns.iter().any(|q| q == c))
        }
        AccessPattern::Range(x) => {
            matches!(s.kind, IndexKind::Btree | IndexKind::Brin)
                && s.columns().first() == Some(&x.as_str())
        }
        AccessPattern::Search(x) => {
            matches!(s.kind, IndexKind::Gin | IndexKind::Gist) && s.mentions(x)
        }
    })
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        for t in &db.tables {
            for q in &t.queries {
                let Some(p) = parse_access_pattern(&q.value) else {
                    continue;
                };
                if !supported(t, &p) {
                    out.push(report(db, t, q, &p));
                }
            }
        }
    }
    out
}

fn suggestion(p: &AccessPattern, table: &str) -> String {
    match p {
        AccessPattern::By { columns, order } => {
            let mut cols = columns.clone();
            cols.extend(order.iter().filter(|o| !columns.contains(o)).cloned());
            format!("add `index {{ on = [{}] }}` to table `{table}`", cols.join(", "))
        }
        AccessPattern::Range(x) => {
            format!("add `index {{ on = [{x}] }}` to table `{table}` (or `index {{ on = [{x}]  kind = brin }}` if `{x}` grows with insertion order)")
        }
        AccessPattern::Search(x) => format!("add `index {{ on = [\"to_tsvector('simple', {x})\"]  kind = gin }}` to table `{table}`"),
    }
}

/// `5M`, `12k` or the number as written.
fn count(n: f64) -> String {
    match n {
        n if n >= 1e9 => format!("{}G", n / 1e9),
        n if n >= 1e6 => format!("{}M", n / 1e6),
        n if n >= 1e3 => format!("{}k", n / 1e3),
        n => format!("{n}"),
    }
}

fn report(db: &Database, t: &Table, q: &Spanned<String>, p: &AccessPattern) -> Diagnostic {
    let rows = t
        .rows
        .as_ref()
        .map(|r| format!(" of {} rows", count(r.value)))
        .unwrap_or_default();
    Diagnostic::warning(
        "A310",
        q.span,
        format!(
            "no index of `{}.{}` supports the access pattern \"{}\": every such query reads the whole table{rows}",
            db.name.value, t.name.value, q.value
        ),
    )
    .with_primary_label(format!("\"{}\" has no supporting index", q.value))
    .with_label(t.name.span, format!("table `{}`", t.name.value))
    .with_help(suggestion(p, &t.name.value))
}
