//! The PostgreSQL table store against a throwaway cluster on loopback: tables created from
//! the spec, rows round-tripping as JSON, each shard in its own database (or in its own
//! table of a shared one), and the environment choosing it.

#[path = "support/servers.rs"]
mod servers;

use archc_runtime::backend::postgres::{PgTables, Pool, ShardDb};
use archc_runtime::backend::Backends;
use archc_runtime::spec::{ColumnSpec, ServiceSpec, ShardBySpec, TableSpec};
use archc_runtime::store::{Row, TableStore};
use serde_json::{json, Value};
use servers::Postgres;
use std::sync::Arc;

fn orders(shards: u32) -> TableSpec {
    let column = |name: &str, sql_type: &str| ColumnSpec {
        name: name.into(),
        sql_type: sql_type.into(),
    };
    TableSpec {
        id: "shop.orders".into(),
        database: "shop".into(),
        table: "orders".into(),
        columns: vec![
            column("id", "bigint"),
            column("customer", "varchar(32)"),
            column("total", "numeric(10, 2)"),
            column("paid", "boolean"),
            column("meta", "jsonb"),
            column("placed_at", "timestamptz"),
        ],
        key: vec!["id".into()],
        shards,
        shard_by: ShardBySpec::Hash {
            column: "id".into(),
        },
        ids: "snowflake".into(),
    }
}

fn row(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        _ => Row::new(),
    }
}

async fn pool(url: &str) -> Arc<Pool> {
    Arc::new(Pool::connect(url).await.expect("connects"))
}

/// A store with one shard per database of `dbs`.
async fn one_database_per_shard(pg: &Postgres, dbs: &[&str]) -> PgTables {
    let mut shards = Vec::new();
    for db in dbs {
        shards.push(ShardDb {
            pool: pool(&pg.url(db)).await,
            shared: false,
        });
    }
    PgTables::new(shards)
}

#[tokio::test]
async fn each_shard_keeps_its_rows_in_its_own_database() {
    let Some(pg) = Postgres::start(&["shard0", "shard1"]) else {
        return;
    };
    let tables = one_database_per_shard(&pg, &["shard0", "shard1"]).await;
    let spec = orders(2);
    tables.ensure(&spec).await.expect("created");
    // A second ensure (another instance starting) is harmless.
    tables.ensure(&spec).await.expect("still there");

    let first = row(json!({
        "id": 7, "customer": "ada", "total": 12.5, "paid": true,
        "meta": {"gift": true}, "placed_at": "2024-01-01T10:00:00+00:00"
    }));
    tables
        .put("shop.orders", 1, "7", first.clone())
        .await
        .expect("put");
    let back = tables
        .get("shop.orders", 1, "7")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(back["customer"], "ada");
    assert_eq!(back["total"], json!(12.5));
    assert_eq!(back["paid"], json!(true));
    assert_eq!(back["meta"], json!({"gift": true}));
    assert!(back["placed_at"]
        .as_str()
        .is_some_and(|t| t.starts_with("2024-01-01T10:00:00")));
    assert_eq!(tables.get("shop.orders", 0, "7").await.expect("get"), None);
    assert_eq!(
        pg.psql("shard1", "SELECT customer FROM orders WHERE id = 7")
            .trim(),
        "ada"
    );
    assert_eq!(pg.psql("shard0", "SELECT count(*) FROM orders").trim(), "0");

    // Upsert replaces; null columns are left out like the in-memory store leaves them out.
    tables
        .put(
            "shop.orders",
            1,
            "7",
            row(json!({"id": 7, "customer": "bob"})),
        )
        .await
        .expect("replace");
    let back = tables
        .get("shop.orders", 1, "7")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(back, row(json!({"id": 7, "customer": "bob"})));

    tables
        .put("shop.orders", 0, "3", row(json!({"id": 3})))
        .await
        .expect("put");
    assert_eq!(
        tables.scan("shop.orders", 0, 10).await.expect("scan").len(),
        1
    );
    assert_eq!(
        tables.scan("shop.orders", 1, 10).await.expect("scan").len(),
        1
    );
    assert!(tables.delete("shop.orders", 1, "7").await.expect("delete"));
    assert!(!tables.delete("shop.orders", 1, "7").await.expect("delete"));

    // Bad input is an error, not a panic.
    let e = tables
        .get("shop.orders", 0, "not-a-number")
        .await
        .expect_err("bad key");
    assert!(e.to_string().contains("bigint"), "{e}");
    assert!(tables.get("shop.orders", 5, "1").await.is_err());
    assert!(tables.get("shop.unknown", 0, "1").await.is_err());
    let e = tables
        .put(
            "shop.orders",
            0,
            "9",
            row(json!({"id": 9, "customer": "x".repeat(40)})),
        )
        .await
        .expect_err("too long");
    assert!(e.to_string().contains("too long"), "{e}");
}

#[tokio::test]
async fn shards_sharing_a_database_get_a_table_each() {
    let Some(pg) = Postgres::start(&["shop"]) else {
        return;
    };
    let shared = pool(&pg.url("shop")).await;
    let tables = PgTables::new(vec![
        ShardDb {
            pool: shared.clone(),
            shared: true,
        },
        ShardDb {
            pool: shared,
            shared: true,
        },
    ]);
    tables.ensure(&orders(2)).await.expect("created");
    tables
        .put("shop.orders", 0, "1", row(json!({"id": 1})))
        .await
        .expect("put");
    tables
        .put("shop.orders", 1, "2", row(json!({"id": 2})))
        .await
        .expect("put");
    assert_eq!(pg.psql("shop", "SELECT id FROM orders_0").trim(), "1");
    assert_eq!(pg.psql("shop", "SELECT id FROM orders_1").trim(), "2");
    assert_eq!(
        tables.scan("shop.orders", 0, 10).await.expect("scan").len(),
        1
    );
}

#[tokio::test]
async fn serial_ids_come_from_one_sequence_that_continues_after_stored_rows() {
    let Some(pg) = Postgres::start(&["s0", "s1"]) else {
        return;
    };
    let spec = TableSpec {
        ids: "serial".into(),
        ..orders(2)
    };
    let instance = || async {
        let tables = one_database_per_shard(&pg, &["s0", "s1"]).await;
        tables.ensure(&spec).await.expect("created");
        tables
    };
    // Rows written before, on the second shard: ids continue after the largest.
    let first = instance().await;
    first
        .put("shop.orders", 1, "41", row(json!({"id": 41})))
        .await
        .expect("put");
    // Two instances started afterwards share the counter: no id is handed out twice.
    let (a, b) = (instance().await, instance().await);
    let mut ids = Vec::new();
    for _ in 0..5 {
        for t in [&a, &b] {
            ids.push(
                t.next_serial(&spec)
                    .await
                    .expect("nextval")
                    .expect("a serial"),
            );
        }
    }
    assert!(ids.iter().all(|&id| id > 41), "{ids:?}");
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    // Other id kinds are not the store's business.
    assert_eq!(first.next_serial(&orders(2)).await.expect("answers"), None);
}

fn service(tables: Vec<TableSpec>) -> ServiceSpec {
    serde_json::from_value(json!({
        "name": "shop", "port": 8080, "health_path": "/health", "endpoints": [],
        "consumers": [], "jobs": [], "limits": [], "caches": [], "tables": tables,
        "queues": [], "upstreams": [], "shed": null, "body_limit": 1_048_576
    }))
    .expect("a spec")
}

#[tokio::test]
async fn the_environment_puts_each_shard_where_its_variable_says() {
    let Some(pg) = Postgres::start(&["shop", "shard1"]) else {
        return;
    };
    let (main, shard1) = (pg.url("shop"), pg.url("shard1"));
    let var = move |name: &str| match name {
        "DATABASE_URL" => Some(main.clone()),
        "DATABASE_URL_SHARD_1" => Some(shard1.clone()),
        _ => None,
    };
    let spec = service(vec![orders(2)]);
    let backends = Backends::from_vars(&spec, &var).await.expect("connects");
    let line = backends
        .described
        .iter()
        .find(|d| d.starts_with("tables:"))
        .expect("described");
    assert!(
        line.contains("shard 0 DATABASE_URL ") && line.contains("shard 1 DATABASE_URL_SHARD_1"),
        "{line}"
    );
    backends
        .tables
        .ensure(&spec.tables[0])
        .await
        .expect("created");
    backends
        .tables
        .put("shop.orders", 1, "5", row(json!({"id": 5})))
        .await
        .expect("put");
    // Shard 0 alone in its database keeps the plain name; shard 1 is in its own database.
    assert_eq!(pg.psql("shard1", "SELECT id FROM orders").trim(), "5");
    assert_eq!(pg.psql("shop", "SELECT count(*) FROM orders").trim(), "0");
}
