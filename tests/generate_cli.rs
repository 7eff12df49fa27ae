//! `archc generate` as users see it: the files of every example, deterministic bytes,
//! safe regeneration (user changes kept, `FILE.new` beside them, handlers never touched),
//! `--dry-run`, `--check`, `--force`, `--only`, `--templates`, refusals (a program with
//! errors, a foreign non-empty directory), and a golden tree for the minimal example.
//!
//! The heavy test that builds and tests the generated workspaces is `generated_build.rs`.

mod common;

use archc_runtime::spec::{GatewaySpec, ServiceSpec};
use common::cli::{archc, Run};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const EXAMPLES: [&str; 4] = [
    "examples/minimal.arch",
    "examples/shop/main.arch",
    "examples/api-gateway.arch",
    "examples/timeline.arch",
];

/// A fresh, empty scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("generate_cli")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.parent().expect("has a parent")).expect("scratch parent");
    dir
}

fn generate(example: &str, out: &Path, extra: &[&str]) -> Run {
    let out = out.to_string_lossy().into_owned();
    let mut args = vec!["generate", example, "-o", &out];
    args.extend_from_slice(extra);
    archc(&args)
}

/// Every file under `dir` (relative path → bytes).
/// A generated crate's `src/generated/spec.json`, parsed.
fn read_spec<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_slice(&fs::read(path).expect("spec")).expect("parses")
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read(e.path()).expect("readable"))
        })
        .collect()
}

#[test]
fn every_example_generates_a_workspace_with_a_crate_per_service_and_gateway() {
    for example in EXAMPLES {
        let name = Path::new(example).file_stem().unwrap().to_string_lossy();
        let out = scratch(&format!("all-{name}"));
        let run = generate(example, &out, &[]);
        assert_eq!(run.code, 0, "{example}: {}", run.stderr);
        let files = tree(&out);
        for required in [
            "Cargo.toml",
            "README.md",
            ".archc/manifest.json",
            "docs/architecture.md",
            "runtime/Cargo.toml",
            "runtime/src/lib.rs",
        ] {
            assert!(files.contains_key(required), "{example}: no {required}");
        }
        let workspace: toml::Table = String::from_utf8_lossy(&files["Cargo.toml"])
            .parse()
            .expect("the workspace Cargo.toml parses");
        let members = workspace["workspace"]["members"]
            .as_array()
            .expect("members");
        for (path, bytes) in &files {
            if let Some(dir) = path.strip_suffix("/src/generated/spec.json") {
                assert!(
                    members.iter().any(|m| m.as_str() == Some(dir)),
                    "{example}: {dir} is not a workspace member"
                );
                let text = String::from_utf8_lossy(bytes);
                if dir.starts_with("services/") {
                    let spec: ServiceSpec = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{example}: {path}: {e}"));
                    assert!(files.contains_key(&format!("{dir}/src/handlers.rs")));
                    assert_eq!(format!("services/{}", spec.name), dir);
                } else {
                    let spec: GatewaySpec = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{example}: {path}: {e}"));
                    assert_eq!(format!("gateways/{}", spec.name), dir);
                }
            }
        }
        // The runtime is a verbatim copy of this repository's crate.
        let ours = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/src/lib.rs"))
            .expect("runtime/src/lib.rs");
        assert_eq!(
            files["runtime/src/lib.rs"], ours,
            "{example}: runtime copied verbatim"
        );
    }
}

#[test]
fn the_shop_spec_carries_its_declared_settings() {
    let out = scratch("shop-settings");
    assert_eq!(generate("examples/shop/main.arch", &out, &[]).code, 0);
    let orders: ServiceSpec = read_spec(&out.join("services/orders/src/generated/spec.json"));
    let create = orders
        .endpoints
        .iter()
        .find(|e| e.name == "create_order")
        .expect("create_order");
    assert_eq!(create.method.as_deref(), Some("POST"));
    assert_eq!(create.timeout_ms, 6000);
    assert_eq!(create.breaker.expect("breaker").failures, 5);
    assert_eq!(create.calls[0].service, "payments");
    let orders_table = orders
        .tables
        .iter()
        .find(|t| t.id == "orders_db.orders")
        .expect("orders table");
    assert_eq!(orders_table.shards, 8);
    assert_eq!(orders_table.ids, "snowflake");
    let edge: GatewaySpec = read_spec(&out.join("gateways/edge/src/generated/spec.json"));
    let per_ip = edge
        .limit_specs
        .iter()
        .find(|l| l.name == "per_ip")
        .expect("per_ip");
    assert_eq!((per_ip.rate.count, per_ip.rate.per_ms), (6000, 60_000));
    assert_eq!(per_ip.block_ms, 300_000);
    assert!(per_ip.distributed);
    assert_eq!(edge.port, 8443, "tls on 443 → the binary binds 8443");
}

#[test]
fn a_route_to_a_cdn_forwards_its_misses_to_the_cdn_origin() {
    // api-gateway: `route "GET /docs/*" { to = developer_docs }`, `cdn developer_docs { origin = docs }`.
    let out = scratch("cdn-route");
    assert_eq!(generate("examples/api-gateway.arch", &out, &[]).code, 0);
    let gateway: GatewaySpec = read_spec(&out.join("gateways/api_gateway/src/generated/spec.json"));
    let docs = gateway
        .routes
        .iter()
        .find(|r| r.path == "/docs/*")
        .expect("the docs route");
    assert_eq!(docs.to, "docs");
    assert!(
        gateway.backends.iter().any(|b| b.name == "docs"),
        "the origin service is an upstream of the gateway"
    );
}

#[test]
fn a_clustered_cache_makes_the_whole_programs_redis_a_cluster() {
    // timeline: timeline_cache and post_cache say `cluster = true`; `social` only uses
    // profile_cache, whose layer does not, yet reaches the same REDIS_URL (redis-0).
    let out = scratch("redis-cluster");
    assert_eq!(generate("examples/timeline.arch", &out, &[]).code, 0);
    let social: ServiceSpec = read_spec(&out.join("services/social/src/generated/spec.json"));
    assert!(
        social
            .caches
            .iter()
            .flat_map(|c| &c.layers)
            .all(|l| !l.cluster),
        "social's own caches are not clustered"
    );
    assert!(social.redis_cluster, "but the program's Redis is");
    let edge: GatewaySpec = read_spec(&out.join("gateways/edge/src/generated/spec.json"));
    assert!(edge.redis_cluster);
    let readme = fs::read_to_string(out.join("README.md")).expect("readme");
    assert!(
        readme.contains("Redis Cluster for cache layers 2+"),
        "README says so"
    );

    // api-gateway: a Redis cache layer that says `cluster = false`, a gateway and services.
    let out = scratch("redis-single");
    assert_eq!(generate("examples/api-gateway.arch", &out, &[]).code, 0);
    let mut specs = 0;
    for spec in walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "spec.json")
    {
        let text = fs::read_to_string(spec.path()).expect("spec");
        assert!(!text.contains("redis_cluster"), "{}", spec.path().display());
        specs += 1;
    }
    assert!(specs >= 4, "the gateway and the services were read");
}

#[test]
fn what_kafka_does_not_do_as_declared_is_warned_about_after_generating() {
    let out = scratch("kafka-caveat");
    let source = fs::read_to_string("tests/fixtures/e2e/ledger.arch").expect("fixture");
    let source = source.replacen(
        "  dead_letter = note_events_dlq\n",
        "  dead_letter = note_events_dlq\n  delay = 1s\n  delivery = exactly_once\n",
        1,
    );
    let program = out.with_extension("arch");
    fs::write(&program, source).expect("write the program");
    let run = generate(&program.to_string_lossy(), &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for said in [
        "warning: queue `note_events` is on Kafka with delay = 1s: Kafka has no delayed delivery",
        "warning: queue `note_events` declares delivery = exactly_once",
        "make the consumers of `note_events` idempotent",
    ] {
        assert!(run.stderr.contains(said), "{said}: {}", run.stderr);
    }
    // The ledger as it is: Kafka's consumer group shares the records between its two
    // replicas, and Streams queues share theirs: nothing to say.
    for example in ["tests/fixtures/e2e/ledger.arch", "examples/backends.arch"] {
        let out = scratch("no-caveat");
        let run = generate(example, &out, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stderr.contains("warning"), "{example}: {}", run.stderr);
    }
}

#[test]
fn generation_is_deterministic() {
    let a = scratch("det-a");
    let b = scratch("det-b");
    assert_eq!(generate("examples/shop/main.arch", &a, &[]).code, 0);
    assert_eq!(generate("examples/shop/main.arch", &b, &[]).code, 0);
    assert_eq!(tree(&a), tree(&b));
    // A second run over its own output changes nothing.
    let again = generate("examples/shop/main.arch", &a, &["--check"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
}

#[test]
fn a_changed_file_is_kept_and_the_new_version_written_beside_it() {
    let out = scratch("regen");
    assert_eq!(generate("examples/minimal.arch", &out, &[]).code, 0);
    let files = tree(&out);
    let generated = files
        .keys()
        .find(|p| p.ends_with("src/main.rs"))
        .expect("a main.rs")
        .clone();
    let handlers = files
        .keys()
        .find(|p| p.ends_with("src/handlers.rs"))
        .expect("a handlers.rs")
        .clone();
    fs::write(out.join(&generated), "// mine\n").expect("edit");
    fs::write(out.join(&handlers), "// my handlers\n").expect("edit");

    let check = generate("examples/minimal.arch", &out, &["--check"]);
    assert_eq!(check.code, 1, "a changed file makes the output out of date");
    assert!(check.stderr.contains(&generated), "{}", check.stderr);

    let dry = generate("examples/minimal.arch", &out, &["--dry-run"]);
    assert_eq!(dry.code, 0);
    assert!(
        dry.stdout.contains("keep (changed by you"),
        "{}",
        dry.stdout
    );
    assert!(
        !out.join(format!("{generated}.new")).exists(),
        "--dry-run writes nothing"
    );

    let run = generate("examples/minimal.arch", &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("warning: kept"), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(out.join(&generated)).unwrap(),
        "// mine\n"
    );
    assert_eq!(
        fs::read(out.join(format!("{generated}.new"))).unwrap(),
        files[&generated],
        "archc's version is beside the user's"
    );
    assert_eq!(
        fs::read_to_string(out.join(&handlers)).unwrap(),
        "// my handlers\n"
    );

    let forced = generate("examples/minimal.arch", &out, &["--force"]);
    assert_eq!(forced.code, 0);
    assert_eq!(fs::read(out.join(&generated)).unwrap(), files[&generated]);
    assert_eq!(
        fs::read_to_string(out.join(&handlers)).unwrap(),
        "// my handlers\n",
        "--force never touches the user's handlers"
    );

    // A deleted generated file is out of date, and recreated.
    fs::remove_file(out.join("README.md")).expect("remove");
    assert_eq!(
        generate("examples/minimal.arch", &out, &["--check"]).code,
        1
    );
    assert_eq!(generate("examples/minimal.arch", &out, &[]).code, 0);
    assert!(out.join("README.md").exists());
}

#[test]
fn only_regenerates_the_named_part() {
    let out = scratch("only");
    assert_eq!(generate("examples/minimal.arch", &out, &[]).code, 0);
    fs::remove_file(out.join("README.md")).expect("remove");
    fs::remove_file(out.join("Cargo.toml")).expect("remove");
    let run = generate("examples/minimal.arch", &out, &["--only", "docs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.join("README.md").exists());
    assert!(
        !out.join("Cargo.toml").exists(),
        "--only docs leaves the crates alone"
    );
    let manifest = fs::read_to_string(out.join(".archc/manifest.json")).unwrap();
    assert!(
        manifest.contains("\"Cargo.toml\""),
        "other parts stay in the manifest"
    );
}

#[test]
fn a_template_override_replaces_the_builtin_template() {
    let out = scratch("templates-out");
    let templates = scratch("templates-in");
    fs::create_dir_all(templates.join("workspace")).unwrap();
    fs::write(
        templates.join("workspace/README.md.j2"),
        "# {{ common.system }}, our way\n",
    )
    .unwrap();
    let t = templates.to_string_lossy().into_owned();
    let run = generate("examples/shop/main.arch", &out, &["--templates", &t]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(out.join("README.md")).unwrap(),
        "# shop, our way\n"
    );

    fs::write(templates.join("workspace/README.j2"), "x").unwrap();
    let bad = generate(
        "examples/shop/main.arch",
        &scratch("templates-bad"),
        &["--templates", &t],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("workspace/README.md.j2"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_foreign_non_empty_directory_is_refused() {
    let out = scratch("foreign");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("notes.txt"), "mine").unwrap();
    let run = generate("examples/minimal.arch", &out, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not an archc output"), "{}", run.stderr);
    assert_eq!(tree(&out).len(), 1, "nothing written");
}

#[test]
fn a_program_with_errors_generates_nothing() {
    let out = scratch("errors");
    let bad = scratch("errors-src");
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("bad.arch"), "service api { port = \"x\" }\n").unwrap();
    let src = bad.join("bad.arch").to_string_lossy().into_owned();
    let run = generate(&src, &out, &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("A005") || run.stderr.contains("error"),
        "{}",
        run.stderr
    );
    assert!(!out.exists(), "nothing written");
}

/// Golden files of the minimal example (the runtime copy excluded: it is this repository's
/// own crate). `UPDATE_GOLDEN=1 cargo test --test generate_cli` rewrites them.
#[test]
fn the_minimal_example_matches_its_golden_tree() {
    let out = scratch("golden");
    assert_eq!(generate("examples/minimal.arch", &out, &[]).code, 0);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/generate/minimal");
    let actual: BTreeMap<String, Vec<u8>> = tree(&out)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("runtime/") && p != ".archc/manifest.json")
        .collect();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = fs::remove_dir_all(&golden);
        for (path, bytes) in &actual {
            let target = golden.join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(target, bytes).unwrap();
        }
    }
    let expected = tree(&golden);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "the set of generated files changed (UPDATE_GOLDEN=1 to accept)"
    );
    for (path, bytes) in &actual {
        assert_eq!(
            String::from_utf8_lossy(&expected[path]),
            String::from_utf8_lossy(bytes),
            "{path} changed (UPDATE_GOLDEN=1 to accept)"
        );
    }
}
