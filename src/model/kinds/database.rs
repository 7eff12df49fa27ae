//! `database`: engine, sharding, replicas, pools, ids, tables with columns and indexes,
//! partitions and materialized views.

use super::common::*;
use crate::diagnostic::Diagnostic;
use crate::model::reader::{int_of, list_items, Reader, Sink};
use crate::model::value::*;
use crate::model::{Consistency, Kind, Name};
use crate::syntax::ast::{Arg, Block, Value, ValueKind};
use crate::syntax::literal::Dimension;
use schemars::JsonSchema;
use serde::Serialize;

keyword_enum! {
    /// Database engines.
    Engine { Postgres = "postgres", Mysql = "mysql", Mongodb = "mongodb", Cassandra = "cassandra", Dynamodb = "dynamodb" }
}
keyword_enum! {
    /// Id generation.
    Ids { Serial = "serial", Uuid = "uuid", Ulid = "ulid", Snowflake = "snowflake" }
}
keyword_enum! {
    /// What a query across shards does.
    CrossShard { Forbid = "forbid", Broadcast = "broadcast", TwoPhase = "two_phase" }
}
keyword_enum! {
    /// Index access methods.
    IndexKind { Btree = "btree", Hash = "hash", Gin = "gin", Gist = "gist", Brin = "brin" }
}

/// Column types.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Bigint,
    Int,
    Text,
    Varchar(u32),
    Bool,
    Numeric,
    Real,
    Timestamptz,
    Date,
    Uuid,
    Jsonb,
    Geometry,
    Bytea,
}

const COLUMN_TYPES: &[&str] = &[
    "bigint",
    "int",
    "text",
    "varchar",
    "bool",
    "numeric",
    "real",
    "timestamptz",
    "date",
    "uuid",
    "jsonb",
    "geometry",
    "bytea",
];

/// A boundary of range sharding: a number, a string, or a duration/size.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Boundary {
    Number(f64),
    Text(String),
}

/// A geo-map entry: region → shard.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GeoShard {
    pub region: Spanned<String>,
    pub shard: Spanned<i64>,
}

/// How rows are spread over shards.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "strategy", rename_all = "lowercase")]
pub enum ShardBy {
    Hash {
        column: Spanned<String>,
    },
    Range {
        column: Spanned<String>,
        boundaries: Spanned<Vec<Spanned<Boundary>>>,
    },
    Directory {
        column: Spanned<String>,
    },
    Geo {
        column: Spanned<String>,
        map: Vec<GeoShard>,
        #[serde(skip)]
        #[schemars(skip)]
        map_span: crate::source::Span,
    },
}

impl ShardBy {
    /// The shard key column.
    pub fn column(&self) -> &Spanned<String> {
        match self {
            ShardBy::Hash { column }
            | ShardBy::Range { column, .. }
            | ShardBy::Directory { column }
            | ShardBy::Geo { column, .. } => column,
        }
    }
}

/// `consistency { read write }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReadWriteConsistency {
    pub read: Option<Spanned<Consistency>>,
    pub write: Option<Spanned<Consistency>>,
}

/// A column.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Column {
    pub name: Spanned<String>,
    pub ty: ColumnType,
}

/// A column or an expression an index is on.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum IndexPart {
    Column(Spanned<String>),
    Expression(Spanned<String>),
}

/// `index [label] { on kind unique where include concurrently }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Index {
    pub label: Option<String>,
    pub on: Vec<IndexPart>,
    pub kind: Spanned<IndexKind>,
    pub unique: Spanned<bool>,
    #[serde(rename = "where")]
    pub where_: Option<Spanned<String>>,
    pub include: Vec<Spanned<String>>,
    pub concurrently: Spanned<bool>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: crate::source::Span,
}

/// How a table is partitioned.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum PartitionBy {
    Range {
        column: Spanned<String>,
        every: Option<Spanned<Millis>>,
    },
    List {
        column: Spanned<String>,
    },
    Hash {
        column: Spanned<String>,
        parts: Option<Spanned<u32>>,
    },
}

impl PartitionBy {
    /// The partition column.
    pub fn column(&self) -> &Spanned<String> {
        match self {
            PartitionBy::Range { column, .. }
            | PartitionBy::List { column }
            | PartitionBy::Hash { column, .. } => column,
        }
    }
}

/// `partition { by keep }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Partition {
    pub by: Option<PartitionBy>,
    pub keep: Option<Spanned<Millis>>,
}

/// A table.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Table {
    pub name: Name,
    pub columns: Vec<Column>,
    pub key: Vec<Spanned<String>>,
    pub rows: Option<Spanned<f64>>,
    pub row: Option<Spanned<Bytes>>,
    pub indexes: Vec<Index>,
    pub partition: Option<Partition>,
    pub queries: Vec<Spanned<String>>,
}

impl Table {
    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.value == name)
    }
}

/// `view name { query refresh concurrently }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct View {
    pub name: Name,
    pub query: Option<Spanned<String>>,
    pub refresh: Option<Spanned<Millis>>,
    pub concurrently: Spanned<bool>,
}

/// A database.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Database {
    pub name: Name,
    pub engine: Spanned<Engine>,
    pub instance: Spanned<String>,
    pub shards: Spanned<u32>,
    pub shard_by: Option<Spanned<ShardBy>>,
    pub replicas: Spanned<u32>,
    pub storage: Option<Spanned<Bytes>>,
    pub growth: Option<Spanned<Rate>>,
    pub writes: Option<Spanned<Rate>>,
    pub reads: Option<Spanned<Rate>>,
    pub max_connections: Spanned<u32>,
    /// Connections per service instance; None: (2 × vCPU) + 1 of the instance class.
    pub pool: Option<Spanned<u32>>,
    pub ids: Spanned<Ids>,
    pub consistency: Option<ReadWriteConsistency>,
    pub cross_shard: Spanned<CrossShard>,
    pub availability: Option<Spanned<Percent>>,
    pub tables: Vec<Table>,
    pub views: Vec<View>,
}

pub(crate) fn lower_database(block: &Block, sink: &Sink) -> Database {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let shards = r.int("shards", 1).unwrap_or_else(|| dflt(&r, 1));
    let db = Database {
        name,
        engine: r
            .keyword("engine")
            .unwrap_or_else(|| dflt(&r, Engine::Postgres)),
        instance: r
            .word("instance")
            .unwrap_or_else(|| dflt(&r, "db_medium".to_string())),
        shard_by: shard_by(&r),
        replicas: r.int("replicas", 0).unwrap_or_else(|| dflt(&r, 1)),
        storage: r.size("storage"),
        growth: r.rate("growth", RateUnit::Bytes),
        writes: r.rate("writes", RateUnit::Count),
        reads: r.rate("reads", RateUnit::Count),
        max_connections: r.int("max_connections", 1).unwrap_or_else(|| dflt(&r, 100)),
        pool: r.int("pool", 1),
        ids: r.keyword("ids").unwrap_or_else(|| {
            dflt(
                &r,
                if shards.value > 1 {
                    Ids::Snowflake
                } else {
                    Ids::Serial
                },
            )
        }),
        consistency: sub(&r, "consistency", |c| ReadWriteConsistency {
            read: c.keyword("read"),
            write: c.keyword("write"),
        }),
        cross_shard: r
            .keyword("cross_shard")
            .unwrap_or_else(|| dflt(&r, CrossShard::Broadcast)),
        availability: r.percent("availability"),
        tables: subs(&r, "table", table),
        views: subs(&r, "view", |v| View {
            name: member_name(v),
            query: required(v, "query", "\"SELECT ...\"", v.string("query")),
            refresh: v.positive_duration("refresh"),
            concurrently: v.bool("concurrently").unwrap_or_else(|| dflt(v, true)),
        }),
        shards,
    };
    r.finish();
    db
}

fn column_arg(r: &Reader, call: &str, args: &[Arg], what: &str) -> Option<Spanned<String>> {
    match args.iter().find(|a| a.name.is_none()).map(|a| &a.value) {
        Some(Value {
            kind: ValueKind::Name(c),
            span,
        }) => Some(Spanned::new(normalize(c), *span)),
        Some(v) => {
            r.wrong_type(call, v, &format!("a column name, as in `{what}`"));
            None
        }
        None => {
            r.sink.push(
                Diagnostic::error("A007", r.head(), format!("`{call}(...)` needs a column"))
                    .with_primary_label("column missing")
                    .with_help(format!("write `{what}`")),
            );
            None
        }
    }
}

fn named<'v>(args: &'v [Arg], name: &str) -> Option<&'v Value> {
    args.iter()
        .find(|a| a.name.as_ref().is_some_and(|n| n.text == name))
        .map(|a| &a.value)
}

fn check_named_args(r: &Reader, call: &str, args: &[Arg], allowed: &[&str]) {
    for a in args {
        if let Some(n) = &a.name {
            if !allowed.contains(&n.text.as_str()) {
                let help = match crate::diagnostic::closest(&n.text, allowed.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None if allowed.is_empty() => format!("`{call}` takes only a column"),
                    None => format!("`{call}` takes {}", allowed.join(", ")),
                };
                r.sink.push(
                    Diagnostic::error(
                        "A002",
                        n.span,
                        format!("`{call}` has no argument `{}`", n.text),
                    )
                    .with_primary_label("unknown argument")
                    .with_help(help),
                );
            }
        }
    }
}

fn shard_by(r: &Reader) -> Option<Spanned<ShardBy>> {
    let a = r.attr("shard_by")?;
    let ValueKind::Call { name: f, args } = &a.value.kind else {
        r.wrong_type(
            "shard_by",
            &a.value,
            "hash(col), range(col, boundaries = [...]), directory(col) or geo(col, map = {...})",
        );
        return None;
    };
    let strategy = match f.text.as_str() {
        "hash" => {
            check_named_args(r, "hash", args, &[]);
            ShardBy::Hash {
                column: column_arg(r, "hash", args, "hash(user_id)")?,
            }
        }
        "directory" => {
            check_named_args(r, "directory", args, &[]);
            ShardBy::Directory {
                column: column_arg(r, "directory", args, "directory(tenant_id)")?,
            }
        }
        "range" => {
            check_named_args(r, "range", args, &["boundaries"]);
            let column = column_arg(r, "range", args, "range(created_at, boundaries = [...])")?;
            let Some(b) = named(args, "boundaries") else {
                r.sink.push(
                    Diagnostic::error("A007", a.value.span, "range sharding needs `boundaries`")
                        .with_primary_label("boundaries missing")
                        .with_help("write `range(col, boundaries = [1000, 2000])` with shards − 1 increasing values"),
                );
                return None;
            };
            let items = list_items(r, "boundaries", b)?;
            let values = items
                .iter()
                .filter_map(|v| match &v.kind {
                    ValueKind::Quantity(q) if q.per_seconds.is_none() => {
                        Some(Spanned::new(Boundary::Number(q.value), v.span))
                    }
                    ValueKind::String(s) => Some(Spanned::new(Boundary::Text(s.clone()), v.span)),
                    _ => {
                        r.wrong_type("boundaries", v, "numbers or strings");
                        None
                    }
                })
                .collect();
            ShardBy::Range {
                column,
                boundaries: Spanned::new(values, b.span),
            }
        }
        "geo" => {
            check_named_args(r, "geo", args, &["map"]);
            let column = column_arg(r, "geo", args, "geo(region, map = { us_east = 0 })")?;
            let Some(m) = named(args, "map") else {
                r.sink.push(
                    Diagnostic::error("A007", a.value.span, "geo sharding needs `map`")
                        .with_primary_label("map missing")
                        .with_help("write `geo(region, map = { us_east = 0  eu_west = 1 })`"),
                );
                return None;
            };
            let ValueKind::Map(entries) = &m.kind else {
                r.wrong_type("map", m, "a map `{ region = shard ... }`");
                return None;
            };
            let map = entries
                .iter()
                .filter_map(|e| {
                    let shard = int_of(r, &e.key.text, &e.value, 0)?;
                    Some(GeoShard {
                        region: Spanned::new(normalize(&e.key.text), e.key.span),
                        shard: Spanned::new(shard.value as i64, shard.span),
                    })
                })
                .collect();
            ShardBy::Geo {
                column,
                map,
                map_span: m.span,
            }
        }
        other => {
            r.sink.push(
                Diagnostic::error("A005", f.span, format!("`{other}` is not a sharding strategy"))
                    .with_primary_label("unknown strategy")
                    .with_help(format!(
                        "{}strategies are hash(col), range(col, boundaries = [...]), directory(col), geo(col, map = {{...}})",
                        crate::diagnostic::closest(other, ["hash", "range", "directory", "geo"]).map(|c| format!("did you mean `{c}`? ")).unwrap_or_default()
                    )),
            );
            return None;
        }
    };
    Some(Spanned::new(strategy, a.value.span))
}

fn column_type(r: &Reader, key: &str, v: &Value) -> Option<ColumnType> {
    let unknown = |word: &str| {
        r.sink.push(
            Diagnostic::error("A005", v.span, format!("`{word}` is not a column type"))
                .with_primary_label("unknown type")
                .with_help(format!(
                    "{}column types are {}",
                    crate::diagnostic::closest(word, COLUMN_TYPES.iter().copied())
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default(),
                    COLUMN_TYPES.join(", ")
                )),
        );
        None
    };
    match &v.kind {
        ValueKind::Name(w) => Some(match w.as_str() {
            "bigint" => ColumnType::Bigint,
            "int" => ColumnType::Int,
            "text" => ColumnType::Text,
            "bool" => ColumnType::Bool,
            "numeric" => ColumnType::Numeric,
            "real" => ColumnType::Real,
            "timestamptz" => ColumnType::Timestamptz,
            "date" => ColumnType::Date,
            "uuid" => ColumnType::Uuid,
            "jsonb" => ColumnType::Jsonb,
            "geometry" => ColumnType::Geometry,
            "bytea" => ColumnType::Bytea,
            "varchar" => {
                r.wrong_type(key, v, "`varchar(n)` with a length");
                return None;
            }
            other => return unknown(other),
        }),
        ValueKind::Call { name, args } if name.text == "varchar" => match args.as_slice() {
            [a] if a.name.is_none() => {
                int_of(r, key, &a.value, 1).map(|n| ColumnType::Varchar(n.value))
            }
            _ => {
                r.wrong_type(key, v, "`varchar(n)` with one length");
                None
            }
        },
        ValueKind::Call { name, .. } => unknown(&name.text),
        _ => {
            r.wrong_type(key, v, "a column type such as bigint, text or varchar(255)");
            None
        }
    }
}

fn table(t: &Reader) -> Table {
    let columns = t
        .block("columns")
        .map(|b| {
            let m = Reader::map_like(b, t.sink);
            let cols = m
                .entries()
                .into_iter()
                .filter_map(|a| {
                    let ty = column_type(&m, &a.key.text, &a.value)?;
                    Some(Column {
                        name: Spanned::new(normalize(&a.key.text), a.key.span),
                        ty,
                    })
                })
                .collect();
            m.finish();
            cols
        })
        .unwrap_or_default();
    let key = match t.attr("key") {
        Some(a) => match &a.value.kind {
            ValueKind::Name(n) | ValueKind::String(n) => {
                vec![Spanned::new(normalize(n), a.value.span)]
            }
            _ => t.column_names("key"),
        },
        None => Vec::new(),
    };
    Table {
        name: member_name(t),
        columns,
        key,
        rows: t.number("rows").filter(|n| {
            if n.value < 0.0 {
                t.out_of_range(
                    n.span,
                    "`rows` cannot be negative".into(),
                    "a row count is 0 or more",
                );
                false
            } else {
                true
            }
        }),
        row: t.size("row"),
        indexes: subs(t, "index", index),
        partition: sub(t, "partition", partition),
        queries: t.spanned_strings("queries"),
    }
}

fn index(i: &Reader) -> Index {
    let on = match i.attr("on") {
        Some(a) => list_items(i, "on", &a.value)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| match &v.kind {
                ValueKind::Name(n) => Some(IndexPart::Column(Spanned::new(normalize(n), v.span))),
                ValueKind::String(s) => {
                    Some(IndexPart::Expression(Spanned::new(s.clone(), v.span)))
                }
                _ => {
                    i.wrong_type("on", v, "column names or \"expression\" strings");
                    None
                }
            })
            .collect(),
        None => {
            i.missing("on", "[user_id, created_at]");
            Vec::new()
        }
    };
    if on.is_empty()
        && i.block
            .items
            .iter()
            .any(|x| matches!(x, crate::syntax::ast::Item::Attribute(a) if a.key.text == "on"))
    {
        i.out_of_range(
            i.head(),
            "an index needs at least one column".into(),
            "write `on = [column]`",
        );
    }
    Index {
        label: i.block.labels.first().map(|l| l.text.clone()),
        on,
        kind: i
            .keyword("kind")
            .unwrap_or_else(|| dflt(i, IndexKind::Btree)),
        unique: i.bool("unique").unwrap_or_else(|| dflt(i, false)),
        where_: i.string("where"),
        include: i.column_names("include"),
        concurrently: i.bool("concurrently").unwrap_or_else(|| dflt(i, true)),
        span: i.head(),
    }
}

fn partition(p: &Reader) -> Partition {
    let by = match p.attr("by") {
        None => {
            p.missing("by", "range(created_at, every = 30d)");
            None
        }
        Some(a) => match &a.value.kind {
            ValueKind::Call { name, args } => {
                let what = "range(created_at, every = 30d)";
                match name.text.as_str() {
                    "range" => {
                        check_named_args(p, "range", args, &["every"]);
                        column_arg(p, "range", args, what).map(|column| PartitionBy::Range {
                            column,
                            every: named(args, "every").and_then(|v| {
                                crate::model::reader::quantity_of(
                                    p,
                                    "every",
                                    v,
                                    Dimension::Duration,
                                    false,
                                    "a duration such as 30d",
                                )
                                .map(|q| Spanned::new(Millis(q.0), q.3))
                            }),
                        })
                    }
                    "list" => {
                        check_named_args(p, "list", args, &[]);
                        column_arg(p, "list", args, "list(country)")
                            .map(|column| PartitionBy::List { column })
                    }
                    "hash" => {
                        check_named_args(p, "hash", args, &["parts"]);
                        column_arg(p, "hash", args, "hash(user_id, parts = 8)").map(|column| {
                            PartitionBy::Hash {
                                column,
                                parts: named(args, "parts").and_then(|v| int_of(p, "parts", v, 1)),
                            }
                        })
                    }
                    _ => {
                        p.wrong_type(
                            "by",
                            &a.value,
                            "range(col, every = d), list(col) or hash(col, parts = n)",
                        );
                        None
                    }
                }
            }
            _ => {
                p.wrong_type(
                    "by",
                    &a.value,
                    "range(col, every = d), list(col) or hash(col, parts = n)",
                );
                None
            }
        },
    };
    Partition {
        by,
        keep: p.positive_duration("keep"),
    }
}

/// Kinds a cache `source` may name.
pub const SOURCE_KINDS: &[Kind] = &[Kind::Database];
