//! Helpers the A3 rules share: the shard key of a sharded database, and the parser of the
//! access patterns tables declare in `queries`.

use crate::model::{Database, Spanned, Table};

/// The shard key of a database that is spread over more than one shard.
pub(super) fn shard_key(db: &Database) -> Option<&Spanned<String>> {
    if db.shards.value < 2 {
        return None;
    }
    db.shard_by.as_ref().map(|s| s.value.column())
}

/// True when the table is spread by `key`: it has that column, or declares no columns. A
/// table without the column is a reference table, copied whole to every shard.
pub(super) fn is_sharded(t: &Table, key: &str) -> bool {
    t.columns.is_empty() || t.column(key).is_some()
}

/// An access pattern, as written in `queries`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum AccessPattern {
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
pub(super) fn parse_access_pattern(text: &str) -> Option<AccessPattern> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (first, rest) = words.split_first()?;
    match (first.to_ascii_lowercase().as_str(), rest) {
        ("range", [x]) => column(x).map(AccessPattern::Range),
        ("search", [x]) => column(x).map(AccessPattern::Search),
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
            Some(AccessPattern::By { columns, order })
        }
        _ => None,
    }
}
