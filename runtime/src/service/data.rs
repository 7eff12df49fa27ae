//! Tables of a service: each table's shard router and id generator over the
//! [`TableStore`], body validation against the columns' SQL types, and sample rows for
//! the generated tests.

use crate::clock::SystemClock;
use crate::rng::XorShift64;
use crate::shard::{
    IdGenerator, Route, ShardError, ShardKey, ShardRouter, Snowflake, Strategy, Ulid, UlidGenerator,
};
use crate::spec::{is_integer_type, ShardBySpec, TableSpec};
use crate::store::{key_of, Row, TableError, TableStore};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// Why a data operation failed; maps to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The input does not fit the table (400).
    Invalid(String),
    /// No such table, queue or upstream in the spec (500: the spec and code disagree).
    Unknown(String),
    /// The shard router refused the key (400).
    Shard(String),
    /// The backend failed (503).
    Backend(String),
    /// An upstream call failed (502).
    Upstream(String),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(m) => write!(f, "invalid: {m}"),
            Self::Unknown(m) => write!(f, "unknown: {m}"),
            Self::Shard(m) => write!(f, "shard: {m}"),
            Self::Backend(m) => write!(f, "backend: {m}"),
            Self::Upstream(m) => write!(f, "upstream: {m}"),
        }
    }
}

impl std::error::Error for DataError {}

impl From<TableError> for DataError {
    fn from(e: TableError) -> Self {
        Self::Backend(e.0)
    }
}

impl From<ShardError> for DataError {
    fn from(e: ShardError) -> Self {
        Self::Shard(e.to_string())
    }
}

/// Where new keys come from (`ids = ...`).
enum Ids {
    Serial(AtomicI64),
    Snowflake(Snowflake),
    Ulid(UlidGenerator),
    Uuid(Mutex<XorShift64>),
}

impl fmt::Debug for Ids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Serial(_) => "serial",
            Self::Snowflake(_) => "snowflake",
            Self::Ulid(_) => "ulid",
            Self::Uuid(_) => "uuid",
        })
    }
}

#[derive(Debug)]
struct Table {
    spec: TableSpec,
    router: ShardRouter,
    ids: Ids,
}

/// The tables one service reads and writes.
#[derive(Debug)]
pub(crate) struct Tables {
    store: Arc<dyn TableStore>,
    tables: HashMap<String, Table>,
}

/// The SQL type families the validator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    Text(Option<usize>),
    Boolean,
    Time,
    Date,
    Json,
    Uuid,
}

fn kind(sql_type: &str) -> Kind {
    let t = sql_type.trim().to_ascii_lowercase();
    let len = || {
        t.split_once('(')
            .and_then(|(_, rest)| rest.trim_end_matches(')').trim().parse().ok())
    };
    let base = t.split('(').next().unwrap_or("").trim();
    match base {
        _ if is_integer_type(base) => Kind::Integer,
        "numeric" | "decimal" | "real" | "double" | "double precision" | "float" | "float4"
        | "float8" | "money" => Kind::Number,
        "bool" | "boolean" => Kind::Boolean,
        "date" => Kind::Date,
        "json" | "jsonb" => Kind::Json,
        "uuid" => Kind::Uuid,
        "varchar" | "char" | "character" | "character varying" => Kind::Text(len()),
        b if b.starts_with("timestamp") || b.starts_with("time") => Kind::Time,
        _ => Kind::Text(None),
    }
}

/// True for `8-4-4-4-12` hexadecimal text.
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// Checks one value against a column type; None when it fits.
fn type_error(kind: Kind, v: &Value) -> Option<String> {
    if v.is_null() {
        return None;
    }
    let ok = match kind {
        Kind::Integer => v.is_i64() || v.is_u64(),
        Kind::Number => v.is_number(),
        Kind::Boolean => v.is_boolean(),
        Kind::Json => true,
        Kind::Text(max) => match (v.as_str(), max) {
            (Some(s), Some(n)) if s.chars().count() > n => {
                return Some(format!("is longer than {n} characters"))
            }
            (Some(_), _) => true,
            (None, _) => false,
        },
        Kind::Time => v.as_str().is_some_and(looks_like_date),
        Kind::Date => v
            .as_str()
            .is_some_and(|s| s.len() == 10 && looks_like_date(s)),
        Kind::Uuid => v.as_str().is_some_and(is_uuid),
    };
    (!ok).then(|| {
        match kind {
            Kind::Integer => "must be an integer",
            Kind::Number => "must be a number",
            Kind::Boolean => "must be true or false",
            Kind::Text(_) => "must be a string",
            Kind::Time => "must be a timestamp string (YYYY-MM-DDThh:mm:ssZ)",
            Kind::Date => "must be a date string (YYYY-MM-DD)",
            Kind::Uuid => "must be a UUID string",
            Kind::Json => "must be JSON",
        }
        .to_string()
    })
}

fn shard_column(spec: &TableSpec) -> Option<&str> {
    match &spec.shard_by {
        ShardBySpec::None => None,
        ShardBySpec::Hash { column }
        | ShardBySpec::Range { column, .. }
        | ShardBySpec::Directory { column }
        | ShardBySpec::Geo { column, .. } => Some(column),
    }
}

fn range_bounds(bounds: &[String]) -> Vec<ShardKey> {
    let ints: Option<Vec<i64>> = bounds.iter().map(|b| b.trim().parse().ok()).collect();
    match ints {
        Some(ints) => ints.into_iter().map(ShardKey::Int).collect(),
        None => bounds.iter().map(|b| ShardKey::Text(b.clone())).collect(),
    }
}

/// The router of a table. The embedded directory assigns keys by consistent hash (there
/// is no directory table in memory); a spec whose shape the router refuses falls back to
/// hashing so the service still starts.
fn router(spec: &TableSpec) -> ShardRouter {
    let shards = spec.shards.max(1);
    let strategy = match &spec.shard_by {
        ShardBySpec::None | ShardBySpec::Hash { .. } | ShardBySpec::Directory { .. } => {
            Strategy::Hash
        }
        ShardBySpec::Range { bounds, .. } => Strategy::Range(range_bounds(bounds)),
        ShardBySpec::Geo { regions, .. } => {
            let map: BTreeMap<String, u32> = regions.iter().cloned().collect();
            let default = map.get("default").copied();
            Strategy::Geo(map, default)
        }
    };
    let shards = if matches!(spec.shard_by, ShardBySpec::None) {
        1
    } else {
        shards
    };
    ShardRouter::new(shards, strategy).unwrap_or_else(|_| {
        ShardRouter::new(shards.min(crate::shard::MAX_SHARDS), Strategy::Hash)
            .unwrap_or_else(|_| single_shard())
    })
}

fn single_shard() -> ShardRouter {
    match ShardRouter::new(1, Strategy::Hash) {
        Ok(r) => r,
        // 1 shard with hashing is always valid.
        Err(_) => unreachable!("a one-shard router is valid"),
    }
}

fn ids(spec: &TableSpec) -> Ids {
    let clock = Arc::new(SystemClock);
    match spec.ids.as_str() {
        "snowflake" => match Snowflake::new(0, crate::shard::snowflake::DEFAULT_EPOCH_MS, clock) {
            Ok(g) => Ids::Snowflake(g),
            Err(_) => Ids::Serial(AtomicI64::new(1)),
        },
        "ulid" => match UlidGenerator::new(0, clock, XorShift64::from_entropy()) {
            Ok(g) => Ids::Ulid(g),
            Err(_) => Ids::Uuid(Mutex::new(XorShift64::from_entropy())),
        },
        "uuid" => Ids::Uuid(Mutex::new(XorShift64::from_entropy())),
        _ => Ids::Serial(AtomicI64::new(1)),
    }
}

fn uuid_from(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

impl Tables {
    /// The tables of `specs` over `store`.
    pub(crate) fn new(specs: &[TableSpec], store: Arc<dyn TableStore>) -> Self {
        let tables = specs
            .iter()
            .map(|s| {
                let table = Table {
                    spec: s.clone(),
                    router: router(s),
                    ids: ids(s),
                };
                (s.id.clone(), table)
            })
            .collect();
        Self { store, tables }
    }

    /// Creates the tables in the store.
    pub(crate) async fn ensure(&self) -> Result<(), DataError> {
        for t in self.tables.values() {
            self.store.ensure(&t.spec).await?;
        }
        Ok(())
    }

    fn table(&self, id: &str) -> Result<&Table, DataError> {
        self.tables
            .get(id)
            .ok_or_else(|| DataError::Unknown(format!("table `{id}`")))
    }

    /// The spec of table `id`.
    pub(crate) fn spec(&self, id: &str) -> Result<&TableSpec, DataError> {
        self.table(id).map(|t| &t.spec)
    }

    /// The body as a row of `table`: an object whose columns exist and whose values fit
    /// their types.
    pub(crate) fn validate(&self, table: &str, body: &Value) -> Result<Row, DataError> {
        let t = self.table(table)?;
        let Value::Object(fields) = body else {
            return Err(DataError::Invalid("the body must be a JSON object".into()));
        };
        for (name, value) in fields {
            let column = t
                .spec
                .columns
                .iter()
                .find(|c| &c.name == name)
                .ok_or_else(|| {
                    DataError::Invalid(format!("`{name}` is not a column of {}", t.spec.id))
                })?;
            if let Some(why) = type_error(kind(&column.sql_type), value) {
                return Err(DataError::Invalid(format!(
                    "`{name}` ({}) {why}",
                    column.sql_type
                )));
            }
        }
        Ok(fields.clone())
    }

    /// A new key value for `table`'s single key column, typed for that column.
    async fn next_key(&self, t: &Table) -> Result<Value, DataError> {
        let column = t
            .spec
            .key
            .first()
            .and_then(|k| t.spec.columns.iter().find(|c| &c.name == k));
        let textual =
            column.is_some_and(|c| !matches!(kind(&c.sql_type), Kind::Integer | Kind::Number));
        let value = match &t.ids {
            Ids::Serial(n) => match self.store.next_serial(&t.spec).await? {
                Some(shared) => json!(shared),
                None => json!(n.fetch_add(1, Ordering::Relaxed)),
            },
            Ids::Snowflake(g) => {
                json!(g.next_id().map_err(|e| DataError::Backend(e.to_string()))?)
            }
            Ids::Ulid(g) => json!(g
                .next_id()
                .map_err(|e| DataError::Backend(e.to_string()))?
                .to_string()),
            Ids::Uuid(rng) => {
                let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
                json!(uuid_from(rng.next_u64(), rng.next_u64()))
            }
        };
        Ok(match (textual, value) {
            (true, Value::Number(n)) => Value::String(n.to_string()),
            (_, v) => v,
        })
    }

    /// Fills the missing single key column of `row` from the id generator.
    pub(crate) async fn fill_key(&self, table: &str, row: &mut Row) -> Result<(), DataError> {
        let t = self.table(table)?;
        if let [key] = t.spec.key.as_slice() {
            if !matches!(row.get(key), Some(v) if !v.is_null()) {
                let value = self.next_key(t).await?;
                row.insert(key.clone(), value);
            }
        }
        Ok(())
    }

    /// The value of a key given as text, typed like its column.
    pub(crate) fn key_value(&self, table: &str, column: &str, text: &str) -> Value {
        let kind = self
            .table(table)
            .ok()
            .and_then(|t| t.spec.columns.iter().find(|c| c.name == column))
            .map(|c| kind(&c.sql_type));
        match (kind, text.parse::<i64>()) {
            (Some(Kind::Integer), Ok(n)) => json!(n),
            _ => json!(text),
        }
    }

    fn shard_key(t: &Table, value: &Value) -> Option<ShardKey> {
        match value {
            Value::Number(n) => n
                .as_i64()
                .map(ShardKey::Int)
                .or_else(|| Some(ShardKey::Text(n.to_string()))),
            Value::String(s) => match (&t.spec.shard_by, s.parse::<i64>()) {
                (ShardBySpec::Range { bounds, .. }, Ok(n))
                    if matches!(range_bounds(bounds).first(), Some(ShardKey::Int(_))) =>
                {
                    Some(ShardKey::Int(n))
                }
                _ => Some(ShardKey::Text(s.clone())),
            },
            Value::Null => None,
            other => Some(ShardKey::Text(other.to_string())),
        }
    }

    /// The shard `row` belongs to.
    pub(crate) fn shard_of(&self, table: &str, row: &Row) -> Result<u32, DataError> {
        let t = self.table(table)?;
        let Some(column) = shard_column(&t.spec) else {
            return Ok(0);
        };
        let key = row
            .get(column)
            .and_then(|v| Self::shard_key(t, v))
            .ok_or_else(|| DataError::Invalid(format!("the shard key `{column}` is missing")))?;
        Ok(t.router.shard_for(&key)?)
    }

    /// Stores `row` (a missing key is generated first) and returns its key and the row.
    pub(crate) async fn put(&self, table: &str, mut row: Row) -> Result<(String, Row), DataError> {
        self.fill_key(table, &mut row).await?;
        let t = self.table(table)?;
        let key = key_of(&t.spec, &row)
            .ok_or_else(|| DataError::Invalid(format!("the key {:?} is missing", t.spec.key)))?;
        let shard = self.shard_of(table, &row)?;
        self.store.put(table, shard, &key, row.clone()).await?;
        Ok((key, row))
    }

    /// The shards that may hold `key`: its own when the table is sharded by its key,
    /// every shard otherwise (a broadcast read).
    fn shards_for_key(&self, t: &Table, key: &str) -> Result<Vec<u32>, DataError> {
        let by_key = match (shard_column(&t.spec), t.spec.key.as_slice()) {
            (None, _) => return Ok(vec![0]),
            (Some(col), [k]) if col == k => Some(col),
            _ => None,
        };
        let route = match by_key {
            Some(col) => {
                let value = self.key_value(&t.spec.id, col, key);
                t.router.route(Self::shard_key(t, &value).as_ref())?
            }
            None => t.router.route(None)?,
        };
        Ok(match route {
            Route::One(s) => vec![s],
            Route::Broadcast(all) => all,
        })
    }

    /// The row of `table` with key `key`.
    pub(crate) async fn get(&self, table: &str, key: &str) -> Result<Option<Row>, DataError> {
        let t = self.table(table)?;
        for shard in self.shards_for_key(t, key)? {
            if let Some(row) = self.store.get(table, shard, key).await? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Deletes the row; true when it existed.
    pub(crate) async fn delete(&self, table: &str, key: &str) -> Result<bool, DataError> {
        let t = self.table(table)?;
        let mut existed = false;
        for shard in self.shards_for_key(t, key)? {
            existed |= self.store.delete(table, shard, key).await?;
        }
        Ok(existed)
    }

    /// Up to `limit` rows gathered from every shard.
    pub(crate) async fn scan(&self, table: &str, limit: usize) -> Result<Vec<Row>, DataError> {
        let t = self.table(table)?;
        let mut rows = Vec::new();
        for shard in 0..t.router.shards() {
            if rows.len() >= limit {
                break;
            }
            rows.extend(self.store.scan(table, shard, limit - rows.len()).await?);
        }
        Ok(rows)
    }

    /// A row valid for `table`'s column types, with a distinct key per `seed`; the shard
    /// column of range and geo tables cycles through the shards.
    pub(crate) fn sample_row(&self, table: &str, seed: u64) -> Result<Row, DataError> {
        let t = self.table(table)?;
        let mut row = Map::new();
        for c in &t.spec.columns {
            let is_key = t.spec.key.contains(&c.name);
            row.insert(
                c.name.clone(),
                sample_value(kind(&c.sql_type), &t.spec.ids, is_key, seed),
            );
        }
        match &t.spec.shard_by {
            ShardBySpec::Range { column, bounds } => {
                let n = bounds.len() as u64 + 1;
                let (shard, step) = ((seed % n) as usize, seed / n);
                let value = match range_bounds(bounds).as_slice() {
                    [ShardKey::Int(first), ..] if shard == 0 => {
                        json!(first.saturating_sub(1).saturating_sub(step as i64))
                    }
                    b @ [ShardKey::Int(_), ..] => match &b[shard - 1] {
                        ShardKey::Int(lo) => json!(lo.saturating_add(step as i64)),
                        ShardKey::Text(s) => json!(s),
                    },
                    [] => json!(seed),
                    b => match shard {
                        0 => json!(format!("{step}")),
                        s => json!(format!("{}{step}", b[s - 1])),
                    },
                };
                row.insert(column.clone(), self.retype(t, column, value));
            }
            ShardBySpec::Geo { column, regions } if !regions.is_empty() => {
                let region = &regions[(seed % regions.len() as u64) as usize].0;
                row.insert(column.clone(), json!(region));
            }
            _ => {}
        }
        Ok(row)
    }

    fn retype(&self, t: &Table, column: &str, value: Value) -> Value {
        let textual = t
            .spec
            .columns
            .iter()
            .find(|c| c.name == column)
            .is_some_and(|c| !matches!(kind(&c.sql_type), Kind::Integer | Kind::Number));
        match value {
            Value::Number(n) if textual => Value::String(n.to_string()),
            v => v,
        }
    }
}

fn sample_value(kind: Kind, ids: &str, is_key: bool, seed: u64) -> Value {
    match kind {
        Kind::Integer => json!(seed as i64 + 1),
        Kind::Number => json!(seed as f64 + 0.5),
        Kind::Boolean => json!(seed % 2 == 0),
        Kind::Time => json!("2024-01-01T00:00:00Z"),
        Kind::Date => json!("2024-01-01"),
        Kind::Json => json!({ "seed": seed }),
        Kind::Uuid => json!(uuid_from(
            0x5eed_0000_0000_0000 | seed,
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        )),
        Kind::Text(max) => {
            let text = if is_key && ids == "ulid" {
                Ulid::from_parts(1_704_067_200_000, u128::from(seed)).to_string()
            } else if is_key && ids == "uuid" {
                uuid_from(0x5eed_0000_0000_0000 | seed, seed)
            } else {
                format!("s{seed}")
            };
            match max {
                Some(n) if text.chars().count() > n => {
                    json!(text.chars().rev().take(n).collect::<String>())
                }
                _ => json!(text),
            }
        }
    }
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
