//! Where rows live: the [`TableStore`] trait the shard router writes through, and its
//! in-memory implementation [`MemoryTables`] (the embedded default). The PostgreSQL
//! implementation, one connection pool per shard, is in `backend::postgres`.
//!
//! A row is a JSON object keyed by column name; a key is the primary key rendered as text
//! (composite keys joined with `/`), so every backend addresses rows the same way.

use crate::spec::TableSpec;
use crate::BoxFuture;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::RwLock;

/// One row: column name → value.
pub type Row = Map<String, Value>;

/// A failure of a table backend (connection lost, SQL error, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError(pub String);

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table store: {}", self.0)
    }
}

impl std::error::Error for TableError {}

/// A sharded table backend. `table` is the spec's `database.table` id; `shard` is what the
/// shard router chose (0 for an unsharded table).
pub trait TableStore: Send + Sync + fmt::Debug {
    /// Makes sure `table` exists on every shard (creates it when missing).
    fn ensure<'a>(&'a self, table: &'a TableSpec) -> BoxFuture<'a, Result<(), TableError>>;

    /// The row with primary key `key`, if any.
    fn get<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Row>, TableError>>;

    /// Inserts or replaces the row with primary key `key`.
    fn put<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
        row: Row,
    ) -> BoxFuture<'a, Result<(), TableError>>;

    /// Deletes the row; true when it existed.
    fn delete<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, TableError>>;

    /// Up to `limit` rows of one shard, in key order (broadcast reads gather these).
    fn scan<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Row>, TableError>>;

    /// The next `ids = serial` key of `table` from a counter the backend shares between
    /// instances and keeps across restarts; None: the caller counts in process.
    fn next_serial<'a>(
        &'a self,
        _table: &'a TableSpec,
    ) -> BoxFuture<'a, Result<Option<i64>, TableError>> {
        Box::pin(async { Ok(None) })
    }

    /// Answers when the backend can be reached (the service's `/ready`); in-process ones
    /// always can.
    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// The primary key of `row` as text: the key columns' values joined with `/`, or None when
/// a key column is missing or null.
pub fn key_of(table: &TableSpec, row: &Row) -> Option<String> {
    let mut parts = Vec::with_capacity(table.key.len());
    for column in &table.key {
        match row.get(column) {
            None | Some(Value::Null) => return None,
            Some(Value::String(s)) => parts.push(s.clone()),
            Some(other) => parts.push(other.to_string()),
        }
    }
    Some(parts.join("/"))
}

/// In-process tables: per table and shard, a sorted map from key to row.
#[derive(Debug, Default)]
pub struct MemoryTables {
    shards: RwLock<HashMap<(String, u32), BTreeMap<String, Row>>>,
}

impl MemoryTables {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows stored in one shard of `table` (for tests and metrics).
    pub fn len(&self, table: &str, shard: u32) -> usize {
        self.read(|m| m.get(&(table.to_string(), shard)).map_or(0, BTreeMap::len))
    }

    fn read<T>(&self, f: impl FnOnce(&HashMap<(String, u32), BTreeMap<String, Row>>) -> T) -> T {
        match self.shards.read() {
            Ok(guard) => f(&guard),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut HashMap<(String, u32), BTreeMap<String, Row>>) -> T,
    ) -> T {
        match self.shards.write() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

impl TableStore for MemoryTables {
    fn ensure<'a>(&'a self, _table: &'a TableSpec) -> BoxFuture<'a, Result<(), TableError>> {
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Row>, TableError>> {
        let row = self.read(|m| {
            m.get(&(table.to_string(), shard))
                .and_then(|rows| rows.get(key).cloned())
        });
        Box::pin(async move { Ok(row) })
    }

    fn put<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
        row: Row,
    ) -> BoxFuture<'a, Result<(), TableError>> {
        self.write(|m| {
            m.entry((table.to_string(), shard))
                .or_default()
                .insert(key.to_string(), row)
        });
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, TableError>> {
        let existed = self.write(|m| {
            m.get_mut(&(table.to_string(), shard))
                .is_some_and(|rows| rows.remove(key).is_some())
        });
        Box::pin(async move { Ok(existed) })
    }

    fn scan<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Row>, TableError>> {
        let rows = self.read(|m| {
            m.get(&(table.to_string(), shard))
                .map(|rows| rows.values().take(limit).cloned().collect())
                .unwrap_or_default()
        });
        Box::pin(async move { Ok(rows) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Row {
        match v {
            Value::Object(m) => m,
            _ => Row::new(),
        }
    }

    #[tokio::test]
    async fn a_row_put_is_read_back_from_its_shard_only() {
        let tables = MemoryTables::new();
        let r = row(json!({"id": 7, "name": "a"}));
        tables.put("db.t", 1, "7", r.clone()).await.expect("put");
        assert_eq!(tables.get("db.t", 1, "7").await.expect("get"), Some(r));
        assert_eq!(tables.get("db.t", 0, "7").await.expect("get"), None);
        assert_eq!(tables.scan("db.t", 1, 10).await.expect("scan").len(), 1);
        assert!(tables.delete("db.t", 1, "7").await.expect("delete"));
        assert!(!tables.delete("db.t", 1, "7").await.expect("delete"));
    }

    #[test]
    fn composite_keys_join_their_columns() {
        let spec = TableSpec {
            id: "db.t".into(),
            database: "db".into(),
            table: "t".into(),
            columns: vec![],
            key: vec!["a".into(), "b".into()],
            shards: 1,
            shard_by: crate::spec::ShardBySpec::None,
            ids: "serial".into(),
        };
        assert_eq!(
            key_of(&spec, &row(json!({"a": 1, "b": "x"}))),
            Some("1/x".into())
        );
        assert_eq!(key_of(&spec, &row(json!({"a": 1}))), None);
    }
}
