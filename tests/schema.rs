//! The committed JSON Schema of the IR must match the code. Regenerate with
//! `cargo run -q -- schema > schemas/ir.schema.json`.

#[test]
fn committed_ir_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/ir.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = archc::cli::schema_json();
    assert!(
        committed == current,
        "schemas/ir.schema.json is stale: run `cargo run -q -- schema > schemas/ir.schema.json`"
    );
}

#[test]
fn schema_describes_the_program_kinds() {
    let schema: serde_json::Value =
        serde_json::from_str(&archc::cli::schema_json()).expect("valid JSON");
    let props = &schema["properties"];
    for kind in [
        "system",
        "regions",
        "limits",
        "gateways",
        "services",
        "databases",
        "caches",
        "queues",
        "cdns",
        "jobs",
    ] {
        assert!(props.get(kind).is_some(), "schema lacks `{kind}`");
    }
}
