//! The documentation stays true: the README lists every rule and names the commands that
//! exist; `archc explain` has the sections of every rule.

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

#[test]
fn readme_lists_every_rule() {
    let text = readme();
    let missing: Vec<&str> = archc::check::rules()
        .iter()
        .map(|r| r.code)
        .filter(|c| !text.contains(&format!("| {c} |")))
        .collect();
    assert!(missing.is_empty(), "README.md rule table lacks {missing:?}");
}

#[test]
fn every_rule_explains_itself_with_an_example_and_a_fix() {
    for rule in archc::check::rules() {
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "```arch",
        ] {
            assert!(
                rule.explanation.contains(section),
                "{} lacks `{section}` in its explanation",
                rule.code
            );
        }
        assert!(
            !rule.explanation.contains("Not yet implemented"),
            "{} is a stub",
            rule.code
        );
    }
}

#[test]
fn every_rule_code_is_in_the_catalogue_once() {
    let rules = archc::check::rules();
    let mut codes: Vec<&str> = rules.iter().map(|r| r.code).collect();
    let n = codes.len();
    codes.dedup();
    assert_eq!(codes.len(), n, "duplicate rule codes");
    assert_eq!(
        n,
        10 + 8 + 8 + 10 + 5 + 10 + 8 + 8,
        "checks.md defines 67 rules"
    );
}
