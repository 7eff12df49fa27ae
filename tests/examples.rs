//! Every example program checks clean: no errors and no warnings.

use std::path::Path;

#[test]
fn every_example_checks_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let programs = archc::cli::check_paths(&[dir]).expect("examples load");
    assert!(
        programs.len() >= 4,
        "expected at least four example programs, found {}",
        programs.len()
    );
    let mut problems = Vec::new();
    for p in &programs {
        for d in &p.diagnostics {
            let file = p.sources.file(d.span.file);
            let (line, col) = file.line_col(d.span.start as usize);
            problems.push(format!(
                "{}:{line}:{col}: {} {}",
                file.path.display(),
                d.code,
                d.message
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "examples must check clean:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_shop_example_is_one_program_across_its_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    let programs = archc::cli::check_paths(&[dir]).expect("shop loads");
    assert_eq!(
        programs.len(),
        1,
        "limits.arch is imported by main.arch, so it is not a program of its own"
    );
    assert!(programs[0].sources.len() >= 2);
}

/// Every attribute and nested block the language knows appears in at least one example.
#[test]
fn examples_use_every_language_feature() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let (mut known, mut used) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = entry.expect("walk examples");
        if entry.path().extension().is_some_and(|e| e == "arch") {
            // One file at a time: each example has its own `system`.
            let text = std::fs::read_to_string(entry.path()).expect("read example");
            let id = archc::source::FileId(0);
            let (ast, _) = archc::syntax::parse(id, &text);
            let coverage = archc::model::feature_coverage(&[(id, ast)]);
            known.extend(coverage.known);
            used.extend(coverage.used);
        }
    }
    let unused: Vec<&String> = known.difference(&used).collect();
    assert!(unused.is_empty(), "no example uses: {unused:?}");
}
