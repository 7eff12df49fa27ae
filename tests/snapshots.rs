//! Snapshots of the human diagnostics, exactly as `archc check` prints them (stderr, no
//! colour), for one representative input per kind of problem.
//!
//! Inputs live in `tests/fixtures/snapshots/`; the binary runs from the crate root with
//! relative paths, so file names in the output are stable. Review changes with
//! `cargo insta review` (or accept all with `INSTA_UPDATE=always cargo test --test snapshots`)
//! and read every changed `.snap` before committing it.

use assert_cmd::Command;

/// `archc check FIXTURE` from the crate root, colours off: (exit code, stderr).
fn check(fixture: &str) -> (i32, String) {
    let path = format!("tests/fixtures/snapshots/{fixture}");
    let out = Command::new(env!("CARGO_BIN_EXE_archc"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["check", &path])
        .output()
        .expect("run archc");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        matches!(code, 0..=2),
        "archc check {path} exited with {code}"
    );
    assert!(out.stdout.is_empty(), "human output goes to stderr");
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Snapshots the report of a fixture that must fail the check.
fn snapshot(name: &str, fixture: &str) {
    let (code, stderr) = check(fixture);
    assert_eq!(code, 1, "{fixture} must fail the check:\n{stderr}");
    insta::with_settings!({
        description => format!("archc check tests/fixtures/snapshots/{fixture}"),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, stderr);
    });
}

#[test]
fn syntax_error() {
    snapshot("syntax_error", "syntax_error.arch");
}

/// One error: the bad literal is not then also reported as a number of the wrong type.
#[test]
fn unknown_unit_suggests_the_closest() {
    snapshot("unknown_unit", "unknown_unit.arch");
}

#[test]
fn spaced_literal_has_a_fix() {
    snapshot("spaced_literal", "spaced_literal.arch");
}

#[test]
fn unknown_attribute_suggests_the_closest() {
    snapshot("unknown_attribute", "unknown_attribute.arch");
}

#[test]
fn duplicate_name_labels_both_places() {
    snapshot("duplicate_name", "duplicate_name.arch");
}

#[test]
fn undefined_reference_suggests_the_closest() {
    snapshot("undefined_reference", "undefined_reference.arch");
}

#[test]
fn wrong_kind_labels_the_declaration() {
    snapshot("wrong_kind", "wrong_kind.arch");
}

#[test]
fn wrong_type_says_what_was_expected() {
    snapshot("wrong_type", "wrong_type.arch");
}

#[test]
fn literal_secret() {
    snapshot("literal_secret", "literal_secret.arch");
}

#[test]
fn missing_required_attribute() {
    snapshot("missing_required", "missing_required.arch");
}

#[test]
fn missing_import() {
    snapshot("import_missing", "import_missing/main.arch");
}

#[test]
fn error_inside_an_imported_file() {
    snapshot("error_in_import", "error_in_import/main.arch");
}

/// The JSON document for the duplicate-name fixture, pretty-printed for review.
#[test]
fn json_of_a_duplicate_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_archc"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "--format",
            "json",
            "tests/fixtures/snapshots/duplicate_name.arch",
        ])
        .output()
        .expect("run archc");
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    insta::with_settings!({
        description => "archc check --format json tests/fixtures/snapshots/duplicate_name.arch",
        omit_expression => true,
    }, {
        insta::assert_snapshot!("json_duplicate_name", serde_json::to_string_pretty(&doc).expect("pretty"));
    });
}

/// A label in another file is shown as a note with that file's snippet.
#[test]
fn label_in_another_file() {
    snapshot("duplicate_across_files", "duplicate_across_files/main.arch");
}

/// That note belongs to an error, so it must not be titled `Warning` (nor drawn with the
/// warning sign) when the run has no warning at all.
#[test]
fn label_in_another_file_is_not_shown_as_a_warning() {
    let (code, stderr) = check("duplicate_across_files/main.arch");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("1 error, 0 warnings in 2 files"),
        "{stderr}"
    );
    assert!(
        stderr.contains("duplicate_across_files/main.arch:4:9"),
        "the label's place is shown:\n{stderr}"
    );
    assert!(
        stderr.contains("duplicate_across_files/other.arch:2:9"),
        "the primary place is shown:\n{stderr}"
    );
    assert!(
        !stderr.contains("Warning") && !stderr.contains('⚠'),
        "an error's label in another file is rendered as a warning:\n{stderr}"
    );
}
