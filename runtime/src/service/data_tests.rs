//! Tests of the table layer: validation, key generation, routing and sample rows.

use super::*;
use crate::spec::ColumnSpec;
use crate::store::MemoryTables;

fn table(shard_by: ShardBySpec, shards: u32, ids: &str) -> TableSpec {
    let col = |n: &str, t: &str| ColumnSpec {
        name: n.into(),
        sql_type: t.into(),
    };
    TableSpec {
        id: "db.t".into(),
        database: "db".into(),
        table: "t".into(),
        columns: vec![
            col("id", "bigint"),
            col("name", "varchar(4)"),
            col("ok", "bool"),
            col("at", "timestamptz"),
            col("u", "uuid"),
        ],
        key: vec!["id".into()],
        shards,
        shard_by,
        ids: ids.into(),
    }
}

fn tables(spec: TableSpec) -> Tables {
    Tables::new(&[spec], Arc::new(MemoryTables::new()))
}

#[test]
fn bodies_are_checked_against_the_column_types() {
    let t = tables(table(ShardBySpec::None, 1, "serial"));
    assert!(t
        .validate("db.t", &json!({"id": 1, "name": "abcd", "ok": true}))
        .is_ok());
    for bad in [
        json!([1]),
        json!({"nope": 1}),
        json!({"id": "x"}),
        json!({"name": "abcde"}),
        json!({"ok": 1}),
        json!({"at": "soon"}),
        json!({"u": "not-a-uuid"}),
    ] {
        assert!(
            matches!(t.validate("db.t", &bad), Err(DataError::Invalid(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn missing_keys_are_generated_and_rows_read_back() {
    let t = tables(table(
        ShardBySpec::Hash {
            column: "id".into(),
        },
        4,
        "snowflake",
    ));
    let (key, row) = t.put("db.t", Row::new()).await.expect("stored");
    assert!(row.get("id").is_some_and(Value::is_u64));
    assert_eq!(t.get("db.t", &key).await.expect("read"), Some(row));
    assert_eq!(t.get("db.t", "1").await.expect("read"), None);
}

#[test]
fn sample_rows_are_valid_distinct_and_spread_over_range_shards() {
    let spec = table(
        ShardBySpec::Range {
            column: "id".into(),
            bounds: vec!["100".into(), "200".into()],
        },
        3,
        "serial",
    );
    let t = tables(spec);
    let mut shards = std::collections::BTreeSet::new();
    let mut keys = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let row = t.sample_row("db.t", seed).expect("sample");
        assert!(t.validate("db.t", &Value::Object(row.clone())).is_ok());
        shards.insert(t.shard_of("db.t", &row).expect("routes"));
        keys.insert(row.get("id").map(Value::to_string));
    }
    assert_eq!(shards.len(), 3);
    assert_eq!(keys.len(), 30);
}
