//! The Rust workspaces `archc generate` writes are real projects: for every example, the
//! output passes `cargo fmt --check`, and its service and gateway crates pass
//! `cargo clippy --all-targets -- -D warnings` and their own generated tests (§5 of the
//! generate specification: per endpoint, limit, cache, sharded table, consumer and route).
//!
//! All examples share one target directory (`target/generated`) so dependencies are built
//! once. The output is pinned to this repository's `Cargo.lock`, so the versions tested
//! here are the versions the runtime is developed against.
//!
//! Gateway crates are built, linted and tested the same way (their generated test builds
//! the gateway from its embedded spec).

mod common;

use common::cli::archc;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLES: &[(&str, &str)] = &[
    ("minimal", "examples/minimal.arch"),
    ("shop", "examples/shop/main.arch"),
    ("api-gateway", "examples/api-gateway.arch"),
    ("timeline", "examples/timeline.arch"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cargo(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO"))
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", repo().join("target").join("generated"))
        .env_remove("RUSTFLAGS")
        .args(args)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "`cargo {}` failed in {}:\n{}\n{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn packages_in(out: &Path, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join(dir))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn every_generated_example_formats_lints_builds_and_passes_its_tests() {
    for (name, example) in EXAMPLES {
        let out = repo().join("target").join("generated-src").join(name);
        let _ = std::fs::remove_dir_all(&out);
        let out_text = out.to_string_lossy().into_owned();
        let run = archc(&["generate", example, "-o", &out_text]);
        assert_eq!(run.code, 0, "generate {example}:\n{}", run.stderr);
        std::fs::copy(repo().join("Cargo.lock"), out.join("Cargo.lock")).expect("copy lock");

        cargo(&out, &["fmt", "--all", "--check"]);
        let services = packages_in(&out, "services");
        assert!(!services.is_empty(), "{example} has services");
        let gateways = packages_in(&out, "gateways");
        let mut packages: Vec<&str> = Vec::new();
        for s in services.iter().chain(&gateways) {
            packages.extend(["-p", s.as_str()]);
        }
        let mut clippy = vec!["clippy", "--all-targets"];
        clippy.extend(&packages);
        clippy.extend(["--", "-D", "warnings"]);
        cargo(&out, &clippy);
        let mut test = vec!["test"];
        test.extend(&packages);
        cargo(&out, &test);
    }
}
