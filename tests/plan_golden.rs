//! Golden JSON plans of every example program (`tests/golden/plan/<example>.json`), made
//! with the built-in catalogue and the default options, traces dropped. Set
//! `UPDATE_GOLDEN=1` to rewrite them after checking the new figures by eye.

use std::path::{Path, PathBuf};

use archc::plan::catalogue::Catalogue;
use archc::plan::estimate::{plan, PlanOptions};

const EXAMPLES: [(&str, &str); 5] = [
    ("minimal", "examples/minimal.arch"),
    ("shop", "examples/shop/main.arch"),
    ("api-gateway", "examples/api-gateway.arch"),
    ("timeline", "examples/timeline.arch"),
    ("backends", "examples/backends.arch"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pretty JSON plan of one example, with a final newline.
fn plan_json(path: &Path) -> String {
    let loaded = archc::cli::check_paths(&[path.to_path_buf()]).expect("the example loads");
    assert_eq!(loaded.len(), 1, "{} is one program", path.display());
    let program = &loaded[0].program;
    let plan = match plan(program, &Catalogue::builtin(), &PlanOptions::default()) {
        Ok(p) => p,
        Err(errors) => panic!("{} does not plan: {errors:?}", path.display()),
    };
    let mut text = serde_json::to_string_pretty(&plan.without_traces()).expect("serialises");
    text.push('\n');
    // Planning without traces (what `archc plan --format json` does) changes no figure.
    let traceless = PlanOptions {
        without_traces: true,
        ..PlanOptions::default()
    };
    let lean = archc::plan::estimate::plan(program, &Catalogue::builtin(), &traceless)
        .expect("plans without traces");
    assert!(!lean.has_traces(), "{}: traces were built", path.display());
    let mut lean_text = serde_json::to_string_pretty(&lean).expect("serialises");
    lean_text.push('\n');
    assert_eq!(
        lean_text,
        text,
        "{}: figures differ without traces",
        path.display()
    );
    text
}

#[test]
fn every_example_matches_its_golden_plan() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let dir = root().join("tests/golden/plan");
    let mut stale = Vec::new();
    for (name, source) in EXAMPLES {
        let got = plan_json(&root().join(source));
        let golden = dir.join(format!("{name}.json"));
        if update {
            std::fs::create_dir_all(&dir).expect("golden directory");
            std::fs::write(&golden, &got).expect("golden written");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != got {
            stale.push(format!(
                "{name}: {} differs from the plan (rerun with UPDATE_GOLDEN=1 after checking the figures)",
                golden.display()
            ));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

#[test]
fn every_example_program_has_a_golden_plan() {
    // `check_paths` groups a directory into programs: an imported file is part of its
    // importer's program, so each program's first file is its root.
    let programs = archc::cli::check_paths(&[root().join("examples")]).expect("examples load");
    assert_eq!(
        programs.len(),
        EXAMPLES.len(),
        "one golden plan per example program"
    );
    for p in &programs {
        let (_, first) = p.sources.files().next().expect("a root file");
        let relative = first.path.strip_prefix(root()).unwrap_or(&first.path);
        let relative = relative.to_string_lossy().replace('\\', "/");
        assert!(
            EXAMPLES.iter().any(|(_, s)| *s == relative),
            "{relative} has no golden plan: add it to EXAMPLES"
        );
    }
}
