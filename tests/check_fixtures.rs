//! Rule fixtures: every `tests/fixtures/check/*.arch` file states what it must produce.
//!
//! Header comments in a fixture:
//! - `// expect: A304 error 12` — a diagnostic with this code, severity and line;
//! - `// expect-none: A304` — no diagnostic with this code (a near miss);
//! - `// allow: A104` — diagnostics of this code may appear without being listed.
//!
//! Every diagnostic a fixture produces must be expected or allowed, so a fixture cannot
//! pass by accident while something else is wrong with it.

use archc::cli::check_paths;
use std::path::{Path, PathBuf};

struct Expectations {
    expect: Vec<(String, String, usize)>,
    none: Vec<String>,
    allow: Vec<String>,
}

fn expectations(text: &str) -> Expectations {
    let mut e = Expectations {
        expect: Vec::new(),
        none: Vec::new(),
        allow: Vec::new(),
    };
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("// expect:") {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(parts.len(), 3, "malformed expect line: {line}");
            let n: usize = parts[2].parse().expect("line number");
            e.expect
                .push((parts[0].to_string(), parts[1].to_string(), n));
        } else if let Some(rest) = line.strip_prefix("// expect-none:") {
            e.none.extend(rest.split_whitespace().map(str::to_string));
        } else if let Some(rest) = line.strip_prefix("// allow:") {
            e.allow.extend(rest.split_whitespace().map(str::to_string));
        }
    }
    e
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "arch"))
        .collect();
    // `FIXTURE=A3 cargo test --test check_fixtures` runs only fixtures whose name starts so.
    if let Ok(prefix) = std::env::var("FIXTURE") {
        files.retain(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        });
    }
    files.sort();
    files
}

fn run_fixture(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let exp = expectations(&text);
    if exp.expect.is_empty() && exp.none.is_empty() {
        return Err("fixture states no expectation".into());
    }
    let loaded = check_paths(&[path.to_path_buf()])?;
    let mut found: Vec<(String, String, usize)> = Vec::new();
    for l in &loaded {
        for d in &l.diagnostics {
            let file = l.sources.file(d.span.file);
            let (line, _) = file.line_col(d.span.start as usize);
            let sev = if d.is_error() { "error" } else { "warning" };
            found.push((d.code.to_string(), sev.to_string(), line));
        }
    }
    let mut problems = Vec::new();
    for e in &exp.expect {
        if !found.contains(e) {
            problems.push(format!("missing {} {} at line {}", e.0, e.1, e.2));
        }
    }
    for code in &exp.none {
        if found.iter().any(|f| &f.0 == code) {
            problems.push(format!(
                "{code} reported but the fixture says it must not be"
            ));
        }
    }
    for f in &found {
        if !exp.expect.contains(f) && !exp.allow.contains(&f.0) {
            problems.push(format!("unexpected {} {} at line {}", f.0, f.1, f.2));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let rendered: String = loaded
            .iter()
            .flat_map(|l| {
                l.diagnostics
                    .iter()
                    .map(|d| format!("  {} {}\n", d.code, d.message))
            })
            .collect();
        Err(format!("{}\n{rendered}", problems.join("; ")))
    }
}

#[test]
fn every_fixture_produces_exactly_what_it_states() {
    let mut failures = Vec::new();
    for f in fixtures() {
        if let Err(e) = run_fixture(&f) {
            failures.push(format!(
                "{}: {e}",
                f.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_a_failing_and_a_passing_fixture() {
    let names: Vec<String> = fixtures()
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut missing = Vec::new();
    for rule in archc::check::rules() {
        let failing = names
            .iter()
            .any(|n| n.starts_with(&format!("{}_", rule.code)) && !n.contains("_ok"));
        let passing = names
            .iter()
            .any(|n| n.starts_with(&format!("{}_ok", rule.code)));
        if !failing {
            missing.push(format!("{}: no failing fixture", rule.code));
        }
        if !passing {
            missing.push(format!(
                "{}: no near-miss fixture ({}_ok*.arch)",
                rule.code, rule.code
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
