//! `infra/sql/DB/`: PostgreSQL DDL per database. `001_schema.sql` (extensions, tables with
//! every column and primary key, partitions, the indexes that are not built concurrently),
//! `002_indexes_concurrently.sql` (the `CONCURRENTLY` ones: they cannot run in a
//! transaction), `003_views.sql` (materialized views and the unique index a concurrent
//! refresh needs), and for a sharded database `shards/shard_N.sql` (the shard's identity and
//! the range/geo constraint that refuses misrouted rows). Every statement is idempotent.

use super::{conv, InfraFile, Model};
use crate::generate::templates::Templates;
use crate::model::*;
use serde::Serialize;

const DAY_MS: u64 = 86_400_000;

#[derive(Serialize)]
struct TableCtx {
    name: String,
    columns: Vec<(String, String)>,
    key: Vec<String>,
    partition_by: Option<String>,
    /// Statements creating the partitions (and the maintenance function).
    partitions: Vec<String>,
}

#[derive(Serialize)]
struct IndexCtx {
    name: String,
    table: String,
    statement: String,
}

#[derive(Serialize)]
struct ViewCtx {
    name: String,
    query: String,
    key_index: String,
    concurrently: bool,
}

#[derive(Serialize)]
struct SchemaCtx {
    database: String,
    engine: String,
    shards: u32,
    extensions: Vec<&'static str>,
    tables: Vec<TableCtx>,
    indexes: Vec<IndexCtx>,
    concurrent: Vec<IndexCtx>,
    views: Vec<ViewCtx>,
}

#[derive(Serialize)]
struct ShardCtx {
    database: String,
    shard: u32,
    shards: u32,
    strategy: String,
    constraints: Vec<Constraint>,
}

#[derive(Serialize)]
struct Constraint {
    table: String,
    name: String,
    check: String,
}

/// A scheduled SQL statement (view refresh, partition maintenance) for the k8s CronJobs.
pub struct SqlJob {
    pub name: String,
    pub database: String,
    pub schedule: String,
    pub statement: String,
}

/// The SQL type of a column. `geometry` is PostgreSQL's built-in `point` so the schema
/// needs no PostGIS (GiST indexes it natively).
fn pg_type(t: &ColumnType) -> String {
    match t {
        ColumnType::Geometry => "point".into(),
        other => conv::sql_type(other),
    }
}

fn ident(s: &str) -> String {
    let plain = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.chars().next().is_some_and(|c| !c.is_ascii_digit());
    if plain
        && !matches!(
            s,
            "user" | "order" | "table" | "group" | "select" | "position"
        )
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An object name within PostgreSQL's 63-byte limit.
fn object_name(parts: &[&str]) -> String {
    let mut name: String = parts.join("_");
    name.retain(|c| c.is_ascii_alphanumeric() || c == '_');
    name.make_ascii_lowercase();
    name.truncate(63);
    name
}

/// The unit and PostgreSQL interval of a partition period: `('month', '1 month')`.
fn period(ms: u64) -> (&'static str, String) {
    let days = ms / DAY_MS;
    if ms % DAY_MS == 0 && days % 365 == 0 {
        ("year", format!("{} year", days / 365))
    } else if ms % DAY_MS == 0 && days % 30 == 0 {
        ("month", format!("{} month", days / 30))
    } else if ms % DAY_MS == 0 && days % 7 == 0 {
        ("week", format!("{} day", days))
    } else if ms % DAY_MS == 0 {
        ("day", format!("{days} day"))
    } else {
        ("hour", format!("{} hour", ms.div_ceil(3_600_000).max(1)))
    }
}

/// Partitions of a table and the SQL that creates them.
fn partitions(t: &Table, p: &PartitionBy, keep: Option<u64>) -> (String, Vec<String>) {
    let table = &t.name.value;
    let col = ident(&p.column().value);
    match p {
        PartitionBy::Hash { parts, .. } => {
            let n = parts.as_ref().map(|p| p.value).unwrap_or(4).max(1);
            let stmts = (0..n)
                .map(|i| {
                    format!(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES WITH (MODULUS {n}, REMAINDER {i});",
                        ident(&format!("{table}_p{i}")),
                        ident(table)
                    )
                })
                .collect();
            (format!("HASH ({col})"), stmts)
        }
        PartitionBy::List { .. } => (
            format!("LIST ({col})"),
            // The values are not declared: one default partition; add per-value ones as data shows.
            vec![format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT;",
                ident(&format!("{table}_default")),
                ident(table)
            )],
        ),
        PartitionBy::Range { every: None, .. } => (
            format!("RANGE ({col})"),
            vec![format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT;",
                ident(&format!("{table}_default")),
                ident(table)
            )],
        ),
        PartitionBy::Range {
            every: Some(every), ..
        } => {
            let every_ms = conv::ms(every.value).max(3_600_000);
            let (unit, step) = period(every_ms);
            // 2y of 1mo partitions is 24 (years are 365 days, months 30).
            let keep_periods = keep
                .map(|k| ((k + every_ms / 2) / every_ms).max(1))
                .unwrap_or(1);
            let func = object_name(&["archc_partition", table]);
            let prefix = format!("{table}_p");
            let body = format!(
                "CREATE OR REPLACE FUNCTION {func}() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  first_lo timestamptz := date_trunc('{unit}', now()) - {keep_periods} * interval '{step}';
  stop  timestamptz := date_trunc('{unit}', now()) + 3 * interval '{step}';
  lo    timestamptz := first_lo;
  victim text;
BEGIN
  -- {keep_periods} period(s) kept, 3 created ahead; run daily by the maintenance CronJob.
  WHILE lo < stop LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                   {pfx} || to_char(lo, 'YYYYMMDDHH24'), {tbl}, lo, lo + interval '{step}');
    lo := lo + interval '{step}';
  END LOOP;
  FOR victim IN
    SELECT c.relname FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = {tbl} AND c.relname ~ ('^' || {pfx} || '[0-9]{{10}}$')
       AND to_timestamp(right(c.relname, 10), 'YYYYMMDDHH24') + interval '{step}' <= first_lo
  LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I', victim);
  END LOOP;
END
$fn$;
SELECT {func}();",
                pfx = literal(&prefix),
                tbl = literal(table),
            );
            (format!("RANGE ({col})"), vec![body])
        }
    }
}

fn column_type<'t>(t: &'t Table, name: &str) -> Option<&'t ColumnType> {
    t.columns
        .iter()
        .find(|c| c.name.value == name)
        .map(|c| &c.ty)
}

/// The operator class an index kind needs for a column type, and the extension providing it.
fn opclass(
    kind: IndexKind,
    ty: Option<&ColumnType>,
) -> (Option<&'static str>, Option<&'static str>) {
    let texty = matches!(ty, Some(ColumnType::Text | ColumnType::Varchar(_)));
    match kind {
        IndexKind::Gin if texty => (Some("gin_trgm_ops"), Some("pg_trgm")),
        IndexKind::Gin if matches!(ty, Some(ColumnType::Jsonb) | None) => (None, None),
        IndexKind::Gin => (None, Some("btree_gin")),
        IndexKind::Gist if texty => (Some("gist_trgm_ops"), Some("pg_trgm")),
        IndexKind::Gist if matches!(ty, Some(ColumnType::Geometry) | None) => (None, None),
        IndexKind::Gist => (None, Some("btree_gist")),
        _ => (None, None),
    }
}

fn index_sql(
    t: &Table,
    i: &Index,
    concurrently: bool,
    extensions: &mut Vec<&'static str>,
) -> IndexCtx {
    let table = &t.name.value;
    let label = i.label.clone().unwrap_or_else(|| {
        let cols: Vec<String> =
            i.on.iter()
                .map(|p| match p {
                    IndexPart::Column(c) => c.value.clone(),
                    IndexPart::Expression(_) => "expr".into(),
                })
                .collect();
        format!("{}_{}", cols.join("_"), i.kind.value)
    });
    let name = object_name(&[table, &label]);
    let parts: Vec<String> =
        i.on.iter()
            .map(|p| match p {
                IndexPart::Column(c) => {
                    let (op, ext) = opclass(i.kind.value, column_type(t, &c.value));
                    if let Some(e) = ext {
                        if !extensions.contains(&e) {
                            extensions.push(e);
                        }
                    }
                    match op {
                        Some(op) => format!("{} {op}", ident(&c.value)),
                        None => ident(&c.value),
                    }
                }
                IndexPart::Expression(e) => format!("({})", e.value),
            })
            .collect();
    let mut stmt = format!(
        "CREATE {}INDEX {}IF NOT EXISTS {} ON {} USING {} ({})",
        if i.unique.value { "UNIQUE " } else { "" },
        if concurrently { "CONCURRENTLY " } else { "" },
        ident(&name),
        ident(table),
        i.kind.value,
        parts.join(", ")
    );
    if !i.include.is_empty() {
        let inc: Vec<String> = i.include.iter().map(|c| ident(&c.value)).collect();
        stmt.push_str(&format!(" INCLUDE ({})", inc.join(", ")));
    }
    if let Some(w) = &i.where_ {
        stmt.push_str(&format!(" WHERE {}", w.value));
    }
    stmt.push(';');
    IndexCtx {
        name,
        table: table.clone(),
        statement: stmt,
    }
}

/// A cron schedule running at least every `ms` (rounded to what cron can express).
pub fn cron_every(ms: u64) -> String {
    let minutes = ms.div_ceil(60_000).max(1);
    if minutes < 60 && 60 % minutes == 0 {
        if minutes == 1 {
            "* * * * *".into()
        } else {
            format!("*/{minutes} * * * *")
        }
    } else if minutes < 60 {
        // Cron steps restart every hour; the largest divisor of 60 not above the interval.
        let m = (1..=minutes).rev().find(|m| 60 % m == 0).unwrap_or(1);
        format!("*/{m} * * * *")
    } else if minutes < 1440 {
        let h = minutes.div_ceil(60);
        let h = (1..=h).rev().find(|x| 24 % x == 0).unwrap_or(1);
        if h == 1 {
            "0 * * * *".into()
        } else {
            format!("0 */{h} * * *")
        }
    } else {
        "0 3 * * *".into()
    }
}

pub fn jobs(program: &Program) -> Vec<SqlJob> {
    let mut out = Vec::new();
    for db in &program.databases {
        for v in &db.views {
            if let Some(r) = &v.refresh {
                out.push(SqlJob {
                    name: format!("refresh-{}", v.name.value),
                    database: db.name.value.clone(),
                    schedule: cron_every(conv::ms(r.value)),
                    statement: format!(
                        "REFRESH MATERIALIZED VIEW {}{};",
                        if v.concurrently.value {
                            "CONCURRENTLY "
                        } else {
                            ""
                        },
                        ident(&v.name.value)
                    ),
                });
            }
        }
        for t in &db.tables {
            if let Some(PartitionBy::Range { every: Some(_), .. }) =
                t.partition.as_ref().and_then(|p| p.by.as_ref())
            {
                out.push(SqlJob {
                    name: format!("partitions-{}", t.name.value),
                    database: db.name.value.clone(),
                    schedule: "15 0 * * *".into(),
                    statement: format!(
                        "SELECT {}();",
                        object_name(&["archc_partition", &t.name.value])
                    ),
                });
            }
        }
    }
    out
}

fn shard_constraints(db: &Database, shard: u32) -> (String, Vec<Constraint>) {
    let Some(by) = db.shard_by.as_ref().map(|s| &s.value) else {
        return ("none".into(), Vec::new());
    };
    let col = by.column().value.clone();
    let (strategy, check) = match by {
        ShardBy::Hash { .. } => ("hash", None),
        ShardBy::Directory { .. } => ("directory", None),
        ShardBy::Range { boundaries, .. } => {
            let b: Vec<String> = boundaries
                .value
                .iter()
                .map(|b| match &b.value {
                    Boundary::Number(n) => format!("{}", *n as i64),
                    Boundary::Text(s) => literal(s),
                })
                .collect();
            let i = shard as usize;
            let mut parts = Vec::new();
            if i > 0 {
                if let Some(lo) = b.get(i - 1) {
                    parts.push(format!("{} >= {lo}", ident(&col)));
                }
            }
            if let Some(hi) = b.get(i) {
                parts.push(format!("{} < {hi}", ident(&col)));
            }
            ("range", (!parts.is_empty()).then(|| parts.join(" AND ")))
        }
        ShardBy::Geo { map, .. } => {
            let regions: Vec<String> = map
                .iter()
                .filter(|g| g.shard.value == i64::from(shard))
                .map(|g| literal(&g.region.value.to_ascii_lowercase().replace('-', "_")))
                .collect();
            let check = (!regions.is_empty()).then(|| {
                format!(
                    "replace(lower({}), '-', '_') IN ({})",
                    ident(&col),
                    regions.join(", ")
                )
            });
            ("geo", check)
        }
    };
    let constraints = match check {
        None => Vec::new(),
        Some(check) => db
            .tables
            .iter()
            .filter(|t| column_type(t, &col).is_some())
            .map(|t| Constraint {
                table: ident(&t.name.value),
                name: object_name(&[&t.name.value, "shard", &shard.to_string()]),
                check: check.clone(),
            })
            .collect(),
    };
    (strategy.into(), constraints)
}

#[derive(Serialize)]
struct NoCtx {}

pub fn files(model: &Model, templates: &Templates, out: &mut Vec<InfraFile>) -> Result<(), String> {
    if !model.program.databases.is_empty() {
        model.render(
            templates,
            "infra/sql/apply.sh.j2",
            &NoCtx {},
            "infra/sql/apply.sh".into(),
            out,
        )?;
    }
    for db in &model.program.databases {
        let mut extensions = Vec::new();
        let mut indexes = Vec::new();
        let mut concurrent = Vec::new();
        let mut tables = Vec::new();
        for t in &db.tables {
            let partition = t.partition.as_ref();
            let by = partition.and_then(|p| p.by.as_ref());
            let keep = partition
                .and_then(|p| p.keep.as_ref())
                .map(|k| conv::ms(k.value));
            let (partition_by, parts) = match by {
                Some(p) => {
                    let (b, s) = partitions(t, p, keep);
                    (Some(b), s)
                }
                None => (None, Vec::new()),
            };
            for i in &t.indexes {
                // PostgreSQL cannot build an index concurrently on a partitioned table.
                let conc = i.concurrently.value && by.is_none();
                let ix = index_sql(t, i, conc, &mut extensions);
                if conc {
                    concurrent.push(ix);
                } else {
                    indexes.push(ix);
                }
            }
            tables.push(TableCtx {
                name: ident(&t.name.value),
                columns: t
                    .columns
                    .iter()
                    .map(|c| (ident(&c.name.value), pg_type(&c.ty)))
                    .collect(),
                key: t.key.iter().map(|k| ident(&k.value)).collect(),
                partition_by,
                partitions: parts,
            });
        }
        let views = db
            .views
            .iter()
            .filter_map(|v| {
                Some(ViewCtx {
                    name: ident(&v.name.value),
                    query: v
                        .query
                        .as_ref()?
                        .value
                        .trim()
                        .trim_end_matches(';')
                        .to_string(),
                    key_index: object_name(&[&v.name.value, "refresh_key"]),
                    concurrently: v.concurrently.value,
                })
            })
            .collect();
        extensions.sort_unstable();
        let shards = db.shards.value.max(1);
        let ctx = SchemaCtx {
            database: db.name.value.clone(),
            engine: db.engine.value.to_string(),
            shards,
            extensions,
            tables,
            indexes,
            concurrent,
            views,
        };
        let dir = format!("infra/sql/{}", db.name.value);
        model.render(
            templates,
            "infra/sql/schema.sql.j2",
            &ctx,
            format!("{dir}/001_schema.sql"),
            out,
        )?;
        model.render(
            templates,
            "infra/sql/indexes_concurrently.sql.j2",
            &ctx,
            format!("{dir}/002_indexes_concurrently.sql"),
            out,
        )?;
        model.render(
            templates,
            "infra/sql/views.sql.j2",
            &ctx,
            format!("{dir}/003_views.sql"),
            out,
        )?;
        if shards > 1 {
            for n in 0..shards {
                let (strategy, constraints) = shard_constraints(db, n);
                let ctx = ShardCtx {
                    database: db.name.value.clone(),
                    shard: n,
                    shards,
                    strategy,
                    constraints,
                };
                model.render(
                    templates,
                    "infra/sql/shard.sql.j2",
                    &ctx,
                    format!("{dir}/shards/shard_{n}.sql"),
                    out,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_schedules() {
        assert_eq!(period(30 * DAY_MS), ("month", "1 month".to_string()));
        assert_eq!(period(DAY_MS), ("day", "1 day".to_string()));
        assert_eq!(cron_every(15 * 60_000), "*/15 * * * *");
        assert_eq!(cron_every(7 * 60_000), "*/6 * * * *");
        assert_eq!(cron_every(6 * 3_600_000), "0 */6 * * *");
        assert_eq!(ident("position"), "\"position\"");
        assert_eq!(ident("order_id"), "order_id");
    }
}
