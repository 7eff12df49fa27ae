//! A310: an access pattern (`queries`) that no index supports.
//! Also home of the parser of access patterns, which A305 shares.

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

/// An access pattern, as written in `queries`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Pattern {
    /// `by a, b [order c]`: equality on the columns, optionally sorted.
    By {
        columns: Vec<String>,
        order: Option<String>,
    },
    /// `range x`: an interval of `x`.
    Range(String),
    /// `search x`: full-text or fuzzy search in `x`.
    Search(String),
}

fn column(word: &str) -> Option<String> {
    let mut chars = word.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then(|| word.replace('-', "_"))
}

/// Reads `"by a, b order c"`, `"range x"` or `"search x"`; None for anything else.
pub(super) fn parse(text: &str) -> Option<Pattern> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (first, rest) = words.split_first()?;
    match (first.to_ascii_lowercase().as_str(), rest) {
        ("range", [x]) => column(x).map(Pattern::Range),
        ("search", [x]) => column(x).map(Pattern::Search),
        ("by", _) => {
            let split = rest
                .iter()
                .position(|w| w.eq_ignore_ascii_case("order"))
                .unwrap_or(rest.len());
            let (cols, tail) = rest.split_at(split);
            let mut columns = Vec::new();
            for w in cols.iter().filter(|w| !w.eq_ignore_ascii_case("and")) {
                let c = column(w)?;
                if !columns.contains(&c) {
                    columns.push(c);
                }
            }
            if columns.is_empty() {
                return None;
            }
            let order = match tail {
                [] => None,
                [_order, rest @ ..] => {
                    let rest = match rest {
                        [by, more @ ..] if by.eq_ignore_ascii_case("by") => more,
                        _ => rest,
                    };
                    match rest {
                        [c] => Some(column(c)?),
                        [c, dir]
                            if dir.eq_ignore_ascii_case("asc")
                                || dir.eq_ignore_ascii_case("desc") =>
                        {
                            Some(column(c)?)
                        }
                        _ => return None,
                    }
                }
            };
            Some(Pattern::By { columns, order })
        }
        _ => None,
    }
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
pub(super) fn supported(t: &Table, pattern: &Pattern) -> bool {
    shapes(t).iter().any(|s| match pattern {
        Pattern::By { columns, order } => {
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
        Pattern::Range(x) => {
            matches!(s.kind, IndexKind::Btree | IndexKind::Brin)
                && s.columns().first() == Some(&x.as_str())
        }
        Pattern::Search(x) => matches!(s.kind, IndexKind::Gin | IndexKind::Gist) && s.mentions(x),
    })
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for db in &ctx.program.databases {
        for t in &db.tables {
            for q in &t.queries {
                let Some(p) = parse(&q.value) else { continue };
                if !supported(t, &p) {
                    out.push(report(db, t, q, &p));
                }
            }
        }
    }
    out
}

fn suggestion(p: &Pattern, table: &str) -> String {
    match p {
        Pattern::By { columns, order } => {
            let mut cols = columns.clone();
            cols.extend(order.iter().filter(|o| !columns.contains(o)).cloned());
            format!("add `index {{ on = [{}] }}` to table `{table}`", cols.join(", "))
        }
        Pattern::Range(x) => {
            format!("add `index {{ on = [{x}] }}` to table `{table}` (or `index {{ on = [{x}]  kind = brin }}` if `{x}` grows with insertion order)")
        }
        Pattern::Search(x) => format!("add `index {{ on = [\"to_tsvector('simple', {x})\"]  kind = gin }}` to table `{table}`"),
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

fn report(db: &Database, t: &Table, q: &Spanned<String>, p: &Pattern) -> Diagnostic {
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
