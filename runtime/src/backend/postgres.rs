//! [`PgTables`]: the [`TableStore`] on PostgreSQL, one small connection pool per shard.
//!
//! Shard `N` uses `DATABASE_URL_SHARD_N` when it is set, else `DATABASE_URL`. Shards with
//! their own database keep a table under its own name; shards that share a database (the
//! `DATABASE_URL` fallback of a sharded table) get one table each, `NAME_N`, so that a
//! shard holds exactly the rows the router sent it. Tables are created from the spec's
//! columns when missing (`CREATE TABLE IF NOT EXISTS`), so a service runs on an empty
//! database; the generated `infra/sql/` creates the same tables.
//!
//! Rows travel as JSON: writes go through `jsonb_populate_record`, reads come back with
//! `to_jsonb` (null columns left out, as the in-memory store leaves them out).

use crate::spec::{is_integer_type, TableSpec};
use crate::store::{Row, TableError, TableStore};
use crate::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

/// Connections per pool.
const POOL_SIZE: usize = 4;
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A few connections to one database, used round robin and re-opened when lost.
/// (A tokio-postgres client pipelines concurrent queries, so a few go a long way.)
pub struct Pool {
    url: String,
    shown: String,
    slots: Vec<tokio::sync::Mutex<Option<Arc<Client>>>>,
    next: AtomicUsize,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pool({})", self.shown)
    }
}

impl Pool {
    /// Opens the first connection to `url` (so a wrong URL fails at start-up).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let pool = Self {
            url: url.to_string(),
            shown: super::redact(url),
            slots: (0..POOL_SIZE)
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
            next: AtomicUsize::new(0),
        };
        pool.client().await?;
        Ok(pool)
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    async fn open(&self) -> Result<Client, String> {
        let connecting = tokio_postgres::connect(&self.url, NoTls);
        let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| "timed out connecting".to_string())?
            .map_err(|e| format!("cannot connect: {e}"))?;
        // The connection object does the I/O; it ends when the client is dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// A live client.
    pub async fn client(&self) -> Result<Arc<Client>, String> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = self.slots[i].lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let client = Arc::new(self.open().await?);
        *slot = Some(client.clone());
        Ok(client)
    }
}

/// One shard's database and whether it is shared with other shards.
#[derive(Debug, Clone)]
pub struct ShardDb {
    /// The pool.
    pub pool: Arc<Pool>,
    /// True when other shards use the same database (tables are then `NAME_N`).
    pub shared: bool,
}

/// Tables in PostgreSQL; `shards[n]` is shard `n`'s database.
#[derive(Debug)]
pub struct PgTables {
    shards: Vec<ShardDb>,
    specs: RwLock<HashMap<String, TableSpec>>,
}

/// The result of a `CREATE … IF NOT EXISTS`. Two instances creating the same object at
/// once: one of them loses the race on the catalogue and the object exists all the same.
fn created(result: Result<(), tokio_postgres::Error>) -> Result<(), TableError> {
    match result {
        Err(e)
            if !e.code().is_some_and(|c| {
                *c == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
                    || *c == tokio_postgres::error::SqlState::DUPLICATE_TABLE
            }) =>
        {
            Err(pg(e))
        }
        _ => Ok(()),
    }
}

/// `name` as a quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A column type from the spec, refused when it could smuggle SQL in.
fn sql_type(t: &str) -> Result<&str, TableError> {
    let ok = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _(),".contains(c));
    if ok {
        Ok(t)
    } else {
        Err(TableError(format!("unsupported column type `{t}`")))
    }
}

fn pg(e: tokio_postgres::Error) -> TableError {
    // The database's own message (with its detail) says more than the wrapper's.
    match e.as_db_error() {
        Some(db) => TableError(format!("postgres: {}", db.message())),
        None => TableError(format!("postgres: {e}")),
    }
}

impl PgTables {
    /// Tables over one database per shard.
    pub fn new(shards: Vec<ShardDb>) -> Self {
        Self {
            shards,
            specs: RwLock::new(HashMap::new()),
        }
    }

    fn spec(&self, table: &str) -> Result<TableSpec, TableError> {
        let specs = self.specs.read().unwrap_or_else(|e| e.into_inner());
        specs
            .get(table)
            .cloned()
            .ok_or_else(|| TableError(format!("table `{table}` was never ensured")))
    }

    /// The database of `shard` and the physical name of `spec`'s table in it.
    pub fn locate(&self, spec: &TableSpec, shard: u32) -> Result<(Arc<Pool>, String), TableError> {
        let db = self
            .shards
            .get(shard as usize)
            .ok_or_else(|| TableError(format!("no database for shard {shard}")))?;
        let name = if db.shared && spec.shards > 1 {
            format!("{}_{shard}", spec.table)
        } else {
            spec.table.clone()
        };
        Ok((db.pool.clone(), name))
    }

    /// The sequence `ids = serial` keys of `spec` come from, in shard 0's database (quoted).
    fn serial_sequence(&self, spec: &TableSpec) -> Result<(Arc<Pool>, String), TableError> {
        let (pool, name) = self.locate(spec, 0)?;
        Ok((pool, ident(&format!("{name}_archc_ids"))))
    }

    /// Creates the serial sequence of `spec` when missing and moves it past the largest key
    /// already stored on any shard, so ids continue after rows written before (by an
    /// earlier process, or before the sequence existed).
    async fn ensure_serial(&self, spec: &TableSpec) -> Result<(), TableError> {
        let [key] = spec.key.as_slice() else {
            return Ok(());
        };
        if !spec
            .columns
            .iter()
            .any(|c| &c.name == key && is_integer_type(&c.sql_type))
        {
            return Ok(());
        }
        let (pool, sequence) = self.serial_sequence(spec)?;
        let client = Self::client(&pool).await?;
        created(
            client
                .batch_execute(&format!("CREATE SEQUENCE IF NOT EXISTS {sequence}"))
                .await,
        )?;
        let mut largest = 0i64;
        for shard in 0..spec.shards.max(1) {
            let (pool, name) = self.locate(spec, shard)?;
            let sql = format!(
                "SELECT COALESCE(MAX({})::bigint, 0) FROM {}",
                ident(key),
                ident(&name)
            );
            let row = Self::client(&pool)
                .await?
                .query_one(&sql, &[])
                .await
                .map_err(pg)?;
            largest = largest.max(row.get::<_, i64>(0));
        }
        if largest > 0 {
            let sql = format!(
                "SELECT setval('{sequence}', GREATEST({largest}, (SELECT last_value FROM {sequence})))"
            );
            client.batch_execute(&sql).await.map_err(pg)?;
        }
        Ok(())
    }

    async fn client(pool: &Pool) -> Result<Arc<Client>, TableError> {
        pool.client()
            .await
            .map_err(|e| TableError(format!("postgres {}: {e}", pool.shown())))
    }

    /// `WHERE k1 = CAST($1 AS t1) AND ...` for the key columns, and the key's parts.
    fn key_filter(spec: &TableSpec, key: &str) -> Result<(String, Vec<String>), TableError> {
        let parts: Vec<String> = if spec.key.len() == 1 {
            vec![key.to_string()]
        } else {
            key.splitn(spec.key.len(), '/')
                .map(str::to_string)
                .collect()
        };
        if parts.len() != spec.key.len() {
            return Err(TableError(format!(
                "key `{key}` does not match {:?}",
                spec.key
            )));
        }
        let mut conds = Vec::new();
        for (i, k) in spec.key.iter().enumerate() {
            let column = spec
                .columns
                .iter()
                .find(|c| &c.name == k)
                .ok_or_else(|| TableError(format!("key column `{k}` is not a column")))?;
            conds.push(format!(
                "{} = CAST(${}::text AS {})",
                ident(k),
                i + 1,
                sql_type(&column.sql_type)?
            ));
        }
        Ok((conds.join(" AND "), parts))
    }

    fn create_sql(spec: &TableSpec, name: &str) -> Result<String, TableError> {
        let mut cols = Vec::new();
        for c in &spec.columns {
            cols.push(format!("{} {}", ident(&c.name), sql_type(&c.sql_type)?));
        }
        if !spec.key.is_empty() {
            let key: Vec<String> = spec.key.iter().map(|k| ident(k)).collect();
            cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        Ok(format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            ident(name),
            cols.join(", ")
        ))
    }

    fn upsert_sql(spec: &TableSpec, name: &str) -> String {
        let key: Vec<String> = spec.key.iter().map(|k| ident(k)).collect();
        let others: Vec<String> = spec
            .columns
            .iter()
            .filter(|c| !spec.key.contains(&c.name))
            .map(|c| format!("{0} = EXCLUDED.{0}", ident(&c.name)))
            .collect();
        let on_conflict = if others.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!("DO UPDATE SET {}", others.join(", "))
        };
        format!(
            "INSERT INTO {0} SELECT * FROM jsonb_populate_record(NULL::{0}, $1::jsonb) \
             ON CONFLICT ({1}) {2}",
            ident(name),
            key.join(", "),
            on_conflict
        )
    }
}

fn row_of(value: Value) -> Row {
    match value {
        Value::Object(m) => m,
        _ => Row::new(),
    }
}

impl TableStore for PgTables {
    fn ensure<'a>(&'a self, table: &'a TableSpec) -> BoxFuture<'a, Result<(), TableError>> {
        Box::pin(async move {
            if table.key.is_empty() {
                return Err(TableError(format!("table `{}` has no key", table.id)));
            }
            for shard in 0..table.shards.max(1) {
                let (pool, name) = self.locate(table, shard)?;
                let sql = Self::create_sql(table, &name)?;
                let client = Self::client(&pool).await?;
                created(client.batch_execute(&sql).await)?;
            }
            if table.ids == "serial" {
                self.ensure_serial(table).await?;
            }
            self.specs
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(table.id.clone(), table.clone());
            Ok(())
        })
    }

    fn next_serial<'a>(
        &'a self,
        table: &'a TableSpec,
    ) -> BoxFuture<'a, Result<Option<i64>, TableError>> {
        Box::pin(async move {
            if table.ids != "serial" {
                return Ok(None);
            }
            let (pool, sequence) = self.serial_sequence(table)?;
            let client = Self::client(&pool).await?;
            let row = client
                .query_one(&format!("SELECT nextval('{sequence}')"), &[])
                .await
                .map_err(pg)?;
            Ok(Some(row.get::<_, i64>(0)))
        })
    }

    fn get<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Row>, TableError>> {
        Box::pin(async move {
            let spec = self.spec(table)?;
            let (pool, name) = self.locate(&spec, shard)?;
            let (filter, parts) = Self::key_filter(&spec, key)?;
            let sql = format!(
                "SELECT jsonb_strip_nulls(to_jsonb(t)) FROM {} t WHERE {filter}",
                ident(&name)
            );
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                parts.iter().map(|p| p as _).collect();
            let client = Self::client(&pool).await?;
            let row = client.query_opt(&sql, &params).await.map_err(pg)?;
            Ok(row.map(|r| row_of(r.get(0))))
        })
    }

    fn put<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        _key: &'a str,
        row: Row,
    ) -> BoxFuture<'a, Result<(), TableError>> {
        Box::pin(async move {
            let spec = self.spec(table)?;
            let (pool, name) = self.locate(&spec, shard)?;
            let sql = Self::upsert_sql(&spec, &name);
            let client = Self::client(&pool).await?;
            client
                .execute(&sql, &[&Value::Object(row)])
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn delete<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, TableError>> {
        Box::pin(async move {
            let spec = self.spec(table)?;
            let (pool, name) = self.locate(&spec, shard)?;
            let (filter, parts) = Self::key_filter(&spec, key)?;
            let sql = format!("DELETE FROM {} WHERE {filter}", ident(&name));
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                parts.iter().map(|p| p as _).collect();
            let client = Self::client(&pool).await?;
            Ok(client.execute(&sql, &params).await.map_err(pg)? > 0)
        })
    }

    fn scan<'a>(
        &'a self,
        table: &'a str,
        shard: u32,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Row>, TableError>> {
        Box::pin(async move {
            let spec = self.spec(table)?;
            let (pool, name) = self.locate(&spec, shard)?;
            let order: Vec<String> = spec.key.iter().map(|k| ident(k)).collect();
            let sql = format!(
                "SELECT jsonb_strip_nulls(to_jsonb(t)) FROM {} t ORDER BY {} LIMIT $1",
                ident(&name),
                order.join(", ")
            );
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let client = Self::client(&pool).await?;
            let rows = client.query(&sql, &[&limit]).await.map_err(pg)?;
            Ok(rows.into_iter().map(|r| row_of(r.get(0))).collect())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            for shard in &self.shards {
                let client = shard.pool.client().await?;
                client
                    .simple_query("SELECT 1")
                    .await
                    .map_err(|e| format!("postgres {}: {e}", shard.pool.shown()))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ColumnSpec, ShardBySpec};

    fn spec() -> TableSpec {
        TableSpec {
            id: "db.orders".into(),
            database: "db".into(),
            table: "orders".into(),
            columns: vec![
                ColumnSpec {
                    name: "id".into(),
                    sql_type: "bigint".into(),
                },
                ColumnSpec {
                    name: "note".into(),
                    sql_type: "varchar(32)".into(),
                },
            ],
            key: vec!["id".into()],
            shards: 2,
            shard_by: ShardBySpec::Hash {
                column: "id".into(),
            },
            ids: "snowflake".into(),
        }
    }

    #[test]
    fn sql_is_built_from_the_spec_with_quoted_names() {
        let s = spec();
        assert_eq!(
            PgTables::create_sql(&s, "orders_1").expect("sql"),
            "CREATE TABLE IF NOT EXISTS \"orders_1\" (\"id\" bigint, \"note\" varchar(32), PRIMARY KEY (\"id\"))"
        );
        assert!(PgTables::upsert_sql(&s, "orders")
            .ends_with("ON CONFLICT (\"id\") DO UPDATE SET \"note\" = EXCLUDED.\"note\""));
        let (filter, parts) = PgTables::key_filter(&s, "7").expect("filter");
        assert_eq!(filter, "\"id\" = CAST($1::text AS bigint)");
        assert_eq!(parts, vec!["7"]);
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn suspicious_types_and_wrong_keys_are_refused() {
        assert!(sql_type("bigint; DROP TABLE x").is_err());
        assert!(sql_type("numeric(10, 2)").is_ok());
        let mut s = spec();
        s.key = vec!["id".into(), "note".into()];
        assert!(PgTables::key_filter(&s, "7").is_err());
        assert_eq!(
            PgTables::key_filter(&s, "7/a/b").expect("filter").1,
            vec!["7", "a/b"]
        );
    }
}
