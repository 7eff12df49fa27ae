//! The `archc` binary as users and tools see it: exit codes, the JSON output contract of
//! `shared/design/checks.md`, directories and imports, `--emit ir`, `explain` and `graph`.
//!
//! Every test writes its inputs into its own directory under the system temp dir, runs the
//! real binary with `NO_COLOR=1`, and never accepts exit code 101 (a panic).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A scratch directory, unique per test, removed when dropped.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root =
            std::env::temp_dir().join(format!("archc-cli-{}-{n}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create scratch dir");
        Scratch { root }
    }

    /// Writes `text` to `rel` (creating parent directories) and returns the full path.
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, text).expect("write scratch file");
        path
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The binary, with colours off.
fn archc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_archc"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// What one run produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout parsed as the one JSON document it must be.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs archc with these arguments (from `dir`, if given) and checks it did not panic.
fn run_in(dir: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = archc();
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd.output().expect("run archc");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        matches!(run.code, 0..=2),
        "archc {args:?} exited with {} (0, 1 or 2 expected; 101 is a panic, -1 a signal)\nstdout:\n{}\nstderr:\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
    run
}

fn run(args: &[&str]) -> Run {
    run_in(None, args)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// `archc check PATHS --format json`, returning the exit code and the document.
fn check_json(paths: &[&Path]) -> (i32, Value) {
    let mut args = vec!["check", "--format", "json"];
    args.extend(paths.iter().map(|p| s(p)));
    let r = run(&args);
    (r.code, r.json())
}

fn diagnostics(doc: &Value) -> &Vec<Value> {
    doc["diagnostics"]
        .as_array()
        .expect("`diagnostics` is an array")
}

fn codes(doc: &Value) -> Vec<String> {
    diagnostics(doc)
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn with_code<'a>(doc: &'a Value, code: &str) -> &'a Value {
    diagnostics(doc)
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {doc:#}"))
}

/// A program with nothing to report, now or once every rule exists.
const CLEAN: &str = r#"// A clean program: one service, one endpoint, no SLO.
system hello {
  description = "One service, one endpoint"
  traffic { peak = 200/s }
}

service greeter {
  replicas = 2
  endpoint say_hello {
    route = "GET /hello"
    share = 100%
    work  = 1ms
  }
}
"#;

/// Warnings only: a queue retries three times with no dead letter (A501). It has a
/// producer and a consumer, so nothing else applies.
const WARNINGS_ONLY: &str = r#"service orders {
  replicas = 2
  endpoint create_order {
    route     = "GET /orders/new"
    work      = 2ms
    publishes = [order_jobs]
  }
  consumes worker { from = order_jobs  work = 5ms }
}

queue order_jobs {
  engine = redis
  retry { attempts = 3 }
}
"#;

// ---------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------

#[test]
fn clean_file_exits_0_with_a_summary() {
    let dir = Scratch::new("clean");
    let f = dir.write("clean.arch", CLEAN);
    let r = run(&["check", s(&f)]);
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    assert!(
        r.stderr.contains("0 errors, 0 warnings in 1 file"),
        "stderr:\n{}",
        r.stderr
    );
    assert!(
        r.stdout.is_empty(),
        "human output goes to stderr; stdout:\n{}",
        r.stdout
    );
}

#[test]
fn errors_exit_1() {
    let dir = Scratch::new("errors");
    let f = dir.write("bad.arch", "service a {\n  replicaz = 2\n}\n");
    let r = run(&["check", s(&f)]);
    assert_eq!(r.code, 1, "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("A002"), "stderr:\n{}", r.stderr);
    assert!(
        r.stderr.contains("1 error, 0 warnings in 1 file"),
        "stderr:\n{}",
        r.stderr
    );
}

#[test]
fn syntax_error_exits_1() {
    let dir = Scratch::new("syntax");
    let f = dir.write("bad.arch", "service a { port = }\n");
    let r = run(&["check", s(&f)]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("A001"), "stderr:\n{}", r.stderr);
}

/// Needs a warning rule (A501) to be implemented: until then no warning is produced.
#[test]
fn warnings_only_exit_0() {
    let dir = Scratch::new("warn");
    let f = dir.write("warn.arch", WARNINGS_ONLY);
    let (code, doc) = check_json(&[&f]);
    assert_eq!(doc["errors"], 0, "{doc:#}");
    assert_eq!(code, 0, "{doc:#}");
    let a501 = with_code(&doc, "A501");
    assert_eq!(a501["severity"], "warning", "{doc:#}");
    assert!(doc["warnings"].as_u64().unwrap_or(0) >= 1, "{doc:#}");
    // Human output exits 0 too and names the warning.
    let r = run(&["check", s(&f)]);
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("A501"), "stderr:\n{}", r.stderr);
}

/// Needs A501: `--deny warnings` turns the warning into a failure.
#[test]
fn deny_warnings_exits_1_on_warnings() {
    let dir = Scratch::new("deny");
    let f = dir.write("warn.arch", WARNINGS_ONLY);
    let r = run(&["check", "--deny", "warnings", s(&f)]);
    assert_eq!(
        r.code, 1,
        "a warning must fail the check under --deny warnings; stderr:\n{}",
        r.stderr
    );
    let r = run(&["check", "--deny", "warnings", "--format", "json", s(&f)]);
    assert_eq!(r.code, 1);
    let doc = r.json();
    assert!(codes(&doc).contains(&"A501".to_string()), "{doc:#}");
    assert!(doc["errors"].as_u64().unwrap_or(0) >= 1, "{doc:#}");
}

#[test]
fn deny_warnings_on_a_clean_file_exits_0() {
    let dir = Scratch::new("deny-clean");
    let f = dir.write("clean.arch", CLEAN);
    let r = run(&["check", "--deny", "warnings", s(&f)]);
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
}

#[test]
fn missing_file_exits_2() {
    let dir = Scratch::new("missing");
    let r = run(&["check", s(&dir.path("nope.arch"))]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("nope.arch"),
        "the message names the file; stderr:\n{}",
        r.stderr
    );
    // JSON mode too: a usage error is not a diagnostic.
    let r = run(&["check", "--format", "json", s(&dir.path("nope.arch"))]);
    assert_eq!(r.code, 2);
}

#[test]
fn unknown_flag_exits_2() {
    let dir = Scratch::new("flag");
    let f = dir.write("clean.arch", CLEAN);
    assert_eq!(run(&["check", "--bogus", s(&f)]).code, 2);
    assert_eq!(run(&["check", "--format", "xml", s(&f)]).code, 2);
    assert_eq!(run(&["check", "--deny", "everything", s(&f)]).code, 2);
    assert_eq!(run(&["check"]).code, 2, "check needs a path");
    assert_eq!(run(&["frobnicate"]).code, 2, "unknown subcommand");
}

#[test]
fn explain_unknown_code_exits_2() {
    let r = run(&["explain", "NOPE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NOPE"), "stderr:\n{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn directory_without_arch_files_exits_2() {
    let dir = Scratch::new("empty-dir");
    dir.write("notes.txt", "not an arch file");
    assert_eq!(run(&["check", s(&dir.root)]).code, 2);
}

#[test]
fn non_utf8_file_exits_2_without_panic() {
    let dir = Scratch::new("binary");
    let f = dir.path("bin.arch");
    std::fs::write(&f, [0xff, 0xfe, 0x00, 0x80, b'{']).expect("write");
    let r = run(&["check", s(&f)]);
    assert_eq!(r.code, 2, "stderr:\n{}", r.stderr);
}

#[test]
fn odd_inputs_never_panic() {
    let dir = Scratch::new("odd");
    let inputs: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("ws", " \n\t\r\n".into()),
        ("bom", "\u{feff}service a {}".into()),
        ("crlf", "service a {\r\n  replicas = 2\r\n}\r\n".into()),
        ("unterminated_string", "service a { instance = \"abc".into()),
        ("unterminated_comment", "/* never closed".into()),
        ("only_close", "}}}}".into()),
        ("emoji_names", "service 😀 { }".into()),
        (
            "huge_number",
            "service a { replicas = 99999999999999999999999999999999999 }".into(),
        ),
        ("negative", "service a { replicas = -5  port = -1 }".into()),
        (
            "big_range",
            "service a { replicas = 18446744073709551615..1 }".into(),
        ),
        (
            "nan_like",
            "cache c { layer memory { ttl = 1e400s } }".into(),
        ),
        (
            "unicode_escape",
            "service a { instance = \"\\u{110000}\\u{D800}\\u{}\" }".into(),
        ),
        ("self_import", "import \"self.arch\"\nservice a {}".into()),
        ("import_dir_up", "import \"..\"\nservice a {}".into()),
        ("import_empty", "import \"\"\nservice a {}".into()),
    ];
    for (name, text) in &inputs {
        let f = dir.write(&format!("odd/{name}.arch"), text);
        // `run` asserts the exit code is 0, 1 or 2.
        run(&["check", s(&f)]);
        run(&["check", "--format", "json", s(&f)]).json();
        run(&["check", "--emit", "ir", s(&f)]);
        run(&["graph", s(&f)]);
    }
}

/// Deep nesting must be refused with a diagnostic, not overflow the stack (a crash is as
/// bad as a panic). 3000 levels is far beyond any real file and well within a fuzzer's reach.
#[test]
fn deeply_nested_input_does_not_crash() {
    let dir = Scratch::new("deep");
    let n = 3000;
    let inputs = [
        (
            "blocks",
            format!("service s {{ {}{} }}", "a b { ".repeat(n), "}".repeat(n)),
        ),
        (
            "lists",
            format!("service s {{ x = {}{} }}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            "maps",
            format!(
                "service s {{ x = {}1{} }}",
                "{ a = ".repeat(n),
                "}".repeat(n)
            ),
        ),
        (
            "calls",
            format!("service s {{ x = {}1{} }}", "f(".repeat(n), ")".repeat(n)),
        ),
        ("comments", format!("{}{}", "/*".repeat(n), "*/".repeat(n))),
        ("unclosed", "a b { x = [".repeat(n)),
    ];
    let mut crashed = Vec::new();
    for (name, text) in &inputs {
        let f = dir.write(&format!("{name}.arch"), text);
        let out = archc().args(["check", s(&f)]).output().expect("run archc");
        let code = out.status.code().unwrap_or(-1);
        if !matches!(code, 0..=2) {
            crashed.push(format!(
                "{name}: exit {code} ({})",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        crashed.is_empty(),
        "crashed on deep nesting:\n{}",
        crashed.join("\n")
    );
}

/// Unterminated nested comments must not make the parser backtrack exponentially: in debug
/// builds 20 of them took 5 s and each one more doubles it (found by `cargo fuzz`). A linear
/// parser needs milliseconds for 40.
#[test]
fn unterminated_nested_comments_do_not_hang() {
    let dir = Scratch::new("comment-hang");
    let f = dir.write(
        "comments.arch",
        &format!("service s {{\n  replicas = 2 {}\n", "/* ".repeat(40)),
    );
    let started = std::time::Instant::now();
    let out = archc()
        .args(["check", s(&f)])
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .expect("run archc");
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(10) && out.status.code() == Some(1),
        "archc check did not finish within 10 s on 40 unterminated `/*` (status {:?})",
        out.status
    );
}

// ---------------------------------------------------------------------------------------
// The JSON contract
// ---------------------------------------------------------------------------------------

/// Line 2 holds multibyte characters before nothing; line 4 holds them *before* the error on
/// the same line, so a byte-counted column would be off by 4 ("é" is 2 bytes, "😀" is 4).
const MULTIBYTE: &str = "service greeter {\n  endpoint hello { route = \"GET /café/😀\"  work = 1ms }\n}\ngateway edge { route \"GET /é😀\" { to = greeterr } }\nservice edge { }\n";

#[test]
fn json_output_follows_the_contract() {
    let dir = Scratch::new("json");
    let f = dir.write("multi.arch", MULTIBYTE);
    let r = run(&["check", "--format", "json", s(&f)]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.is_empty(),
        "JSON mode writes only stdout; stderr:\n{}",
        r.stderr
    );
    assert!(r.stdout.ends_with('\n'));
    assert_eq!(
        r.stdout.trim_end().lines().count(),
        1,
        "one object, one line:\n{}",
        r.stdout
    );
    let doc = r.json();

    // The document: exactly these four keys.
    let obj = doc.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["diagnostics", "errors", "files", "warnings"]);
    assert_eq!(doc["errors"], 2, "{doc:#}");
    assert_eq!(doc["warnings"], 0, "{doc:#}");
    assert_eq!(doc["files"], 1, "{doc:#}");
    assert_eq!(diagnostics(&doc).len(), 2, "{doc:#}");

    // Every diagnostic has exactly the contract's fields, with the right types.
    for d in diagnostics(&doc) {
        let mut keys: Vec<&str> = d
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "code",
                "column",
                "end_column",
                "end_line",
                "file",
                "help",
                "labels",
                "line",
                "message",
                "severity"
            ],
            "{d:#}"
        );
        let code = d["code"].as_str().expect("code is a string");
        assert!(
            code.len() == 4
                && code.starts_with('A')
                && code[1..].chars().all(|c| c.is_ascii_digit()),
            "{code}"
        );
        assert!(
            matches!(d["severity"].as_str(), Some("error" | "warning")),
            "{d:#}"
        );
        assert!(!d["message"].as_str().expect("message").is_empty());
        assert!(
            d["file"].as_str().expect("file").ends_with("multi.arch"),
            "{d:#}"
        );
        for k in ["line", "column", "end_line", "end_column"] {
            assert!(
                d[k].as_u64().expect("a number") >= 1,
                "{k} is 1-based: {d:#}"
            );
        }
        assert!(d["help"].is_string() || d["help"].is_null(), "{d:#}");
        for l in d["labels"].as_array().expect("labels") {
            for k in ["file", "message"] {
                assert!(l[k].is_string(), "label {k}: {l:#}");
            }
            for k in ["line", "column"] {
                assert!(l[k].as_u64().expect("a number") >= 1, "label {k}: {l:#}");
            }
        }
    }

    // A004 on line 4: `greeterr` after "GET /é😀" — characters, not bytes.
    let a004 = with_code(&doc, "A004");
    assert_eq!(a004["severity"], "error");
    assert_eq!(a004["line"], 4, "{a004:#}");
    assert_eq!(a004["column"], 39, "column counts characters: {a004:#}");
    assert_eq!(a004["end_line"], 4);
    assert_eq!(
        a004["end_column"], 47,
        "end is exclusive, in characters: {a004:#}"
    );
    assert!(
        a004["message"]
            .as_str()
            .unwrap_or_default()
            .contains("greeterr"),
        "{a004:#}"
    );
    assert_eq!(a004["help"], "did you mean `greeter`?");

    // A003 on line 5, with a label at the first declaration on line 4.
    let a003 = with_code(&doc, "A003");
    assert_eq!(
        (a003["line"].as_u64(), a003["column"].as_u64()),
        (Some(5), Some(9)),
        "{a003:#}"
    );
    assert_eq!(
        (a003["end_line"].as_u64(), a003["end_column"].as_u64()),
        (Some(5), Some(13)),
        "{a003:#}"
    );
    let labels = a003["labels"].as_array().expect("labels");
    assert_eq!(labels.len(), 1, "{a003:#}");
    assert!(labels[0]["file"]
        .as_str()
        .unwrap_or_default()
        .ends_with("multi.arch"));
    assert_eq!(
        (labels[0]["line"].as_u64(), labels[0]["column"].as_u64()),
        (Some(4), Some(9)),
        "{a003:#}"
    );
    assert!(!labels[0]["message"].as_str().unwrap_or_default().is_empty());
    assert!(a003["help"].is_string());
}

#[test]
fn json_columns_match_a_character_count_of_the_line() {
    // Independent of the numbers above: recompute the column from the text itself.
    let dir = Scratch::new("json-cols");
    let text = "// Ünïcødé — 😀😀 comment\nservice s { instance = \"ñ😀\"  replicaz = 2 }\n";
    let f = dir.write("cols.arch", text);
    let (_, doc) = check_json(&[&f]);
    let d = with_code(&doc, "A002");
    let line = text.lines().nth(1).expect("line 2");
    let byte = line.find("replicaz").expect("in line");
    let chars = line[..byte].chars().count() + 1;
    assert_eq!(d["line"], 2);
    assert_eq!(d["column"].as_u64(), Some(chars as u64), "{d:#}");
    assert_ne!(
        chars,
        byte + 1,
        "the test line must have multibyte characters before the error"
    );
}

/// An unknown unit is one problem: the A001 that names it. The value must not then also be
/// reported as a plain number of the wrong type (A005) or out of range (A006).
#[test]
fn unknown_unit_is_reported_once() {
    let dir = Scratch::new("unit-once");
    let f = dir.write(
        "unit.arch",
        "service users {\n  health { interval = 10sec }\n}\nqueue jobs {\n  max_length = 500kb\n  dead_letter = jobs_dlq\n}\nqueue jobs_dlq { }\n",
    );
    let (_, doc) = check_json(&[&f]);
    let front_end: Vec<(String, u64)> = diagnostics(&doc)
        .iter()
        .filter(|d| matches!(d["code"].as_str(), Some("A001" | "A005" | "A006")))
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        front_end,
        [("A001".to_string(), 2), ("A001".to_string(), 5)],
        "{doc:#}"
    );
}

#[test]
fn json_of_a_clean_file_is_empty_and_exits_0() {
    let dir = Scratch::new("json-clean");
    let f = dir.write("clean.arch", CLEAN);
    let (code, doc) = check_json(&[&f]);
    assert_eq!(code, 0);
    assert_eq!(
        doc,
        serde_json::json!({"diagnostics": [], "errors": 0, "warnings": 0, "files": 1})
    );
}

// ---------------------------------------------------------------------------------------
// Directories
// ---------------------------------------------------------------------------------------

/// `a.arch` imports `lib.arch`; `b.arch` stands alone. lib and b each have one error.
fn two_programs(dir: &Scratch) {
    dir.write(
        "proj/a.arch",
        "import \"lib.arch\"\nservice a_svc { replicas = 2 }\n",
    );
    dir.write("proj/lib.arch", "service lib_svc {\n  replicaz = 2\n}\n");
    dir.write("proj/b.arch", "service b_svc {\n  portt = 8081\n}\n");
}

fn assert_each_once(doc: &Value) {
    let mut seen: Vec<(String, u64, u64, String)> = diagnostics(doc)
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                d["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let before = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), before, "duplicate diagnostics: {doc:#}");
}

#[test]
fn directory_checks_each_program_once() {
    let dir = Scratch::new("dir");
    two_programs(&dir);
    let (code, doc) = check_json(&[&dir.path("proj")]);
    assert_eq!(code, 1);
    // a.arch + lib.arch (one program) and b.arch: 3 files, not 4.
    assert_eq!(doc["files"], 3, "{doc:#}");
    assert_eq!(diagnostics(&doc).len(), 2, "{doc:#}");
    assert_eq!(doc["errors"], 2);
    assert_each_once(&doc);
    let files: Vec<&str> = diagnostics(&doc)
        .iter()
        .filter_map(|d| d["file"].as_str())
        .collect();
    assert!(files.iter().any(|f| f.ends_with("lib.arch")), "{doc:#}");
    assert!(files.iter().any(|f| f.ends_with("b.arch")), "{doc:#}");
}

#[test]
fn directory_with_the_imported_file_sorted_first() {
    // `common.arch` sorts before `main.arch`, which imports it: still one program.
    let dir = Scratch::new("dir-order");
    dir.write(
        "proj/common.arch",
        "limit per_ip { rate = 100/min  burstt = 3 }\n",
    );
    dir.write(
        "proj/main.arch",
        "import \"common.arch\"\nservice web { replicas = 2 }\n",
    );
    let (code, doc) = check_json(&[&dir.path("proj")]);
    assert_eq!(code, 1);
    assert_eq!(doc["files"], 2, "{doc:#}");
    assert_eq!(codes(&doc), ["A002"], "{doc:#}");
}

#[test]
fn directory_and_file_given_together_are_checked_once() {
    let dir = Scratch::new("dir-dup");
    two_programs(&dir);
    let a = dir.path("proj/a.arch");
    let lib = dir.path("proj/lib.arch");
    let (_, doc) = check_json(&[&dir.path("proj"), &a, &lib, &a]);
    assert_eq!(doc["files"], 3, "{doc:#}");
    assert_eq!(diagnostics(&doc).len(), 2, "{doc:#}");
    assert_each_once(&doc);
}

#[test]
fn nested_directories_are_walked() {
    let dir = Scratch::new("dir-nested");
    dir.write("proj/x/one.arch", "service one { replicas = 2 }\n");
    dir.write("proj/y/z/two.arch", "service two { replicas = 2 }\n");
    dir.write("proj/y/readme.md", "# not arch");
    let (code, doc) = check_json(&[&dir.path("proj")]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["files"], 2, "{doc:#}");
}

#[test]
fn independent_programs_do_not_share_names() {
    // Both programs declare `api`: not a duplicate, they are separate programs.
    let dir = Scratch::new("dir-names");
    dir.write("proj/one.arch", "service api { replicas = 2 }\n");
    dir.write("proj/two.arch", "service api { replicas = 3 }\n");
    let (code, doc) = check_json(&[&dir.path("proj")]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["files"], 2);
}

// ---------------------------------------------------------------------------------------
// Imports
// ---------------------------------------------------------------------------------------

#[test]
fn error_in_an_imported_file_names_that_file() {
    let dir = Scratch::new("import-err");
    let main = dir.write(
        "app/main.arch",
        "import \"parts/lib.arch\"\nservice web { replicas = 2 }\n",
    );
    dir.write(
        "app/parts/lib.arch",
        "// the library\nservice lib_svc {\n  replicaz = 2\n}\n",
    );
    let (code, doc) = check_json(&[&main]);
    assert_eq!(code, 1);
    assert_eq!(doc["files"], 2, "{doc:#}");
    let d = with_code(&doc, "A002");
    let file = d["file"].as_str().unwrap_or_default();
    assert!(
        file.ends_with("parts/lib.arch") || file.ends_with("parts\\lib.arch"),
        "{d:#}"
    );
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(3), Some(3)),
        "{d:#}"
    );
    // The human report names the imported file with its position.
    let r = run(&["check", s(&main)]);
    assert!(r.stderr.contains("lib.arch:3:3"), "stderr:\n{}", r.stderr);
}

#[test]
fn names_resolve_across_imports() {
    let dir = Scratch::new("import-names");
    let main = dir.write(
        "main.arch",
        "import \"svc.arch\"\ngateway edge { route \"GET /hello\" { to = greeter } }\n",
    );
    dir.write(
        "svc.arch",
        "service greeter {\n  endpoint hi { route = \"GET /hello\"  work = 1ms }\n}\n",
    );
    let (code, doc) = check_json(&[&main]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["files"], 2);
}

#[test]
fn duplicate_name_across_files_labels_the_other_file() {
    let dir = Scratch::new("import-dup");
    let main = dir.write(
        "main.arch",
        "import \"other.arch\"\nservice api { replicas = 2 }\n",
    );
    dir.write("other.arch", "service api { replicas = 3 }\n");
    let (_, doc) = check_json(&[&main]);
    let d = with_code(&doc, "A003");
    let files: Vec<&str> = std::iter::once(d["file"].as_str().unwrap_or_default())
        .chain(
            d["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l["file"].as_str()),
        )
        .collect();
    assert!(files.iter().any(|f| f.ends_with("main.arch")), "{d:#}");
    assert!(files.iter().any(|f| f.ends_with("other.arch")), "{d:#}");
}

#[test]
fn missing_import_is_a008() {
    let dir = Scratch::new("import-missing");
    let main = dir.write(
        "main.arch",
        "service web { replicas = 2 }\nimport \"nowhere.arch\"\n",
    );
    let (code, doc) = check_json(&[&main]);
    assert_eq!(code, 1);
    let d = with_code(&doc, "A008");
    assert_eq!(d["severity"], "error");
    assert!(
        d["file"]
            .as_str()
            .unwrap_or_default()
            .ends_with("main.arch"),
        "{d:#}"
    );
    assert_eq!(d["line"], 2, "{d:#}");
    assert!(
        d["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nowhere.arch"),
        "{d:#}"
    );
    assert!(d["help"].is_string());
}

#[test]
fn import_cycle_is_a008() {
    let dir = Scratch::new("import-cycle");
    let a = dir.write(
        "a.arch",
        "import \"b.arch\"\nservice a_svc { replicas = 2 }\n",
    );
    dir.write(
        "b.arch",
        "import \"c.arch\"\nservice b_svc { replicas = 2 }\n",
    );
    dir.write(
        "c.arch",
        "import \"a.arch\"\nservice c_svc { replicas = 2 }\n",
    );
    let (code, doc) = check_json(&[&a]);
    assert_eq!(code, 1);
    assert_eq!(codes(&doc), ["A008"], "{doc:#}");
    let msg = with_code(&doc, "A008")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("cycle"), "{msg}");
    assert_eq!(doc["files"], 3);
    // Checking the directory reports the cycle once, not once per file.
    let (_, doc) = check_json(&[&dir.root]);
    assert_eq!(codes(&doc), ["A008"], "{doc:#}");
}

#[test]
fn self_import_is_a008() {
    let dir = Scratch::new("import-self");
    let a = dir.write(
        "a.arch",
        "import \"a.arch\"\nservice a_svc { replicas = 2 }\n",
    );
    let (code, doc) = check_json(&[&a]);
    assert_eq!(code, 1);
    assert_eq!(codes(&doc), ["A008"], "{doc:#}");
}

#[test]
fn diamond_imports_are_fine() {
    let dir = Scratch::new("import-diamond");
    let main = dir.write("main.arch", "import \"left.arch\"\nimport \"right.arch\"\n");
    dir.write(
        "left.arch",
        "import \"base.arch\"\nservice left { replicas = 2 }\n",
    );
    dir.write(
        "right.arch",
        "import \"base.arch\"\nservice right { replicas = 2 }\n",
    );
    dir.write("base.arch", "service base { replicas = 2 }\n");
    let (code, doc) = check_json(&[&main]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["files"], 4, "{doc:#}");
}

#[test]
fn importing_a_directory_imports_every_file_in_it() {
    let dir = Scratch::new("import-dir");
    let main = dir.write(
        "main.arch",
        "import \"parts\"\ngateway edge { route \"GET /x\" { to = x_svc } }\n",
    );
    dir.write(
        "parts/x.arch",
        "service x_svc {\n  endpoint x { route = \"GET /x\"  work = 1ms }\n}\n",
    );
    dir.write("parts/y.arch", "service y_svc { replicas = 2 }\n");
    let (code, doc) = check_json(&[&main]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["files"], 3, "{doc:#}");
}

// ---------------------------------------------------------------------------------------
// --emit ir
// ---------------------------------------------------------------------------------------

#[test]
fn emit_ir_fills_in_defaults() {
    let dir = Scratch::new("ir");
    let f = dir.write(
        "ir.arch",
        "service greeter {\n  endpoint hi { route = \"GET /hi\"  work = 1ms }\n}\ngateway edge {\n  route \"GET /hi\" { to = greeter }\n}\ngateway secure { tls = true }\n",
    );
    let r = run(&["check", "--emit", "ir", s(&f)]);
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    let ir = r.json();
    let svc = &ir["services"][0];
    assert_eq!(svc["name"], "greeter");
    assert_eq!(svc["replicas"]["min"], 2, "{svc:#}");
    assert_eq!(svc["replicas"]["max"], 2, "{svc:#}");
    assert_eq!(svc["port"], 8081);
    assert_eq!(svc["instance"], "medium");
    assert_eq!(svc["balance"], "round_robin");
    assert_eq!(svc["health"]["path"], "/health");
    let edge = ir["gateways"]
        .as_array()
        .expect("gateways")
        .iter()
        .find(|g| g["name"] == "edge")
        .expect("edge");
    assert_eq!(edge["listen"], 8080, "{edge:#}");
    assert_eq!(edge["tls"], false);
    assert_eq!(edge["routes"][0]["to"], "greeter", "{edge:#}");
    let secure = ir["gateways"]
        .as_array()
        .expect("gateways")
        .iter()
        .find(|g| g["name"] == "secure")
        .expect("secure");
    assert_eq!(
        secure["listen"], 443,
        "tls gateways listen on 443: {secure:#}"
    );
    for kind in [
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
        assert!(ir[kind].is_array(), "IR lacks `{kind}`: {ir:#}");
    }
}

#[test]
fn emit_ir_with_json_format_prints_only_the_ir() {
    let dir = Scratch::new("ir-json");
    let f = dir.write("ir.arch", "service greeter { }\n");
    let r = run(&["check", "--emit", "ir", "--format", "json", s(&f)]);
    assert_eq!(r.code, 0);
    let ir = r.json();
    assert!(ir.get("diagnostics").is_none(), "{ir:#}");
    assert_eq!(ir["services"][0]["replicas"]["min"], 2);
}

#[test]
fn emit_ir_of_several_programs_is_a_list() {
    let dir = Scratch::new("ir-many");
    dir.write("p/one.arch", "service one { }\n");
    dir.write("p/two.arch", "service two { }\n");
    let r = run(&["check", "--emit", "ir", s(&dir.path("p"))]);
    assert_eq!(r.code, 0);
    let ir = r.json();
    assert_eq!(ir.as_array().map(Vec::len), Some(2), "{ir:#}");
}

// ---------------------------------------------------------------------------------------
// explain
// ---------------------------------------------------------------------------------------

/// Every code of checks.md with its severity.
const CATALOGUE: &[(&str, &str)] = &[
    ("A001", "error"),
    ("A002", "error"),
    ("A003", "error"),
    ("A004", "error"),
    ("A005", "error"),
    ("A006", "error"),
    ("A007", "error"),
    ("A008", "error"),
    ("A009", "error"),
    ("A010", "error"),
    ("A101", "error"),
    ("A102", "error"),
    ("A103", "error"),
    ("A104", "warning"),
    ("A105", "warning"),
    ("A106", "warning"),
    ("A107", "error"),
    ("A108", "warning"),
    ("A201", "warning"),
    ("A202", "warning"),
    ("A203", "warning"),
    ("A204", "warning"),
    ("A205", "error"),
    ("A206", "error"),
    ("A207", "warning"),
    ("A208", "error"),
    ("A301", "error"),
    ("A302", "error"),
    ("A303", "error"),
    ("A304", "error"),
    ("A305", "warning"),
    ("A306", "error"),
    ("A307", "warning"),
    ("A308", "error"),
    ("A309", "error"),
    ("A310", "warning"),
    ("A401", "error"),
    ("A402", "warning"),
    ("A403", "warning"),
    ("A404", "warning"),
    ("A405", "error"),
    ("A501", "warning"),
    ("A502", "error"),
    ("A503", "error"),
    ("A504", "warning"),
    ("A505", "warning"),
    ("A506", "error"),
    ("A507", "error"),
    ("A508", "warning"),
    ("A509", "error"),
    ("A510", "error"),
    ("A601", "error"),
    ("A602", "warning"),
    ("A603", "warning"),
    ("A604", "error"),
    ("A605", "error"),
    ("A606", "error"),
    ("A607", "warning"),
    ("A608", "warning"),
    ("A701", "error"),
    ("A702", "error"),
    ("A703", "warning"),
    ("A704", "error"),
    ("A705", "error"),
    ("A706", "error"),
    ("A707", "warning"),
    ("A708", "warning"),
];

#[test]
fn explain_lists_every_code_with_its_severity() {
    let r = run(&["explain"]);
    assert_eq!(r.code, 0);
    let listed: Vec<(String, String)> = r
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with('A') && l.len() > 4 && l[1..4].chars().all(|c| c.is_ascii_digit())
        })
        .map(|l| {
            let mut words = l.split_whitespace();
            (
                words.next().unwrap_or_default().to_string(),
                words.next().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = CATALOGUE
        .iter()
        .map(|(c, s)| (c.to_string(), s.to_string()))
        .collect();
    assert_eq!(
        listed, expected,
        "`archc explain` must list A001..A708 in order, with checks.md's severities"
    );
    for line in r.stdout.lines().filter(|l| l.starts_with('A')) {
        assert!(
            line.split_whitespace().count() >= 3,
            "every rule has a summary: {line}"
        );
    }
}

/// What is wrong with an explanation as `archc explain CODE` prints it (nothing: fine).
fn explanation_problems(code: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.starts_with(code) {
        problems.push("does not start with the code".to_string());
    }
    for section in [
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Use instead",
    ] {
        if !text.contains(section) {
            problems.push(format!("`{section}` missing"));
        }
    }
    if !text.contains("```arch") {
        problems.push("no ```arch example".to_string());
    }
    problems
}

fn assert_explanation(code: &str, text: &str) {
    let problems = explanation_problems(code, text);
    assert!(
        problems.is_empty(),
        "{code}: {}\n{text}",
        problems.join("; ")
    );
}

/// Needs A304 to be written (its explanation is a stub until then).
#[test]
fn explain_a304_prints_the_sections() {
    let r = run(&["explain", "A304"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("A304 (error)"), "{}", r.stdout);
    assert_explanation("A304", &r.stdout);
    assert!(r.stdout.contains("shard"), "{}", r.stdout);
}

#[test]
fn explain_is_case_insensitive() {
    let upper = run(&["explain", "A001"]);
    let lower = run(&["explain", "a001"]);
    assert_eq!(upper.code, 0);
    assert_eq!(upper.stdout, lower.stdout);
    assert_explanation("A001", &upper.stdout);
}

/// Passes only once every rule has its full explanation.
#[test]
fn explain_every_rule_prints_the_sections() {
    let mut missing = Vec::new();
    for (code, sev) in CATALOGUE {
        let r = run(&["explain", code]);
        assert_eq!(r.code, 0, "explain {code}");
        assert!(
            r.stdout.starts_with(&format!("{code} ({sev})")),
            "{}",
            r.stdout
        );
        let problems = explanation_problems(code, &r.stdout);
        if !problems.is_empty() {
            missing.push(format!("{code}: {}", problems.join("; ")));
        }
    }
    assert!(
        missing.is_empty(),
        "{} explanation(s) incomplete:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn explain_output_ends_with_a_newline() {
    // Otherwise the shell prompt lands on the last line of the explanation.
    for args in [&["explain"][..], &["explain", "A001"][..]] {
        let r = run(args);
        assert!(
            r.stdout.ends_with('\n'),
            "archc {args:?} does not end with a newline:\n{}",
            r.stdout
        );
    }
}

#[test]
fn explain_suggests_a_close_code() {
    let r = run(&["explain", "A3044"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("A304"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// graph
// ---------------------------------------------------------------------------------------

const GRAPH: &str = r#"gateway edge {
  route "GET /products/:id" { to = catalog }
}
service catalog {
  endpoint get_product { route = "GET /products/:id"  work = 2ms  reads = [products]  publishes = [views] }
  consumes counter { from = views  work = 1ms }
}
cache products {
  source = catalog_db.products
  layer memory { ttl = 30s }
}
database catalog_db {
  table products {
    columns { id = bigint }
    key = id
  }
}
queue views { dead_letter = views_dlq }
queue views_dlq { retry { attempts = 0 } }
"#;

#[test]
fn graph_prints_a_mermaid_flowchart() {
    let dir = Scratch::new("graph");
    let f = dir.write("g.arch", GRAPH);
    let r = run(&["graph", s(&f)]);
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    let out = &r.stdout;
    assert!(out.starts_with("flowchart"), "{out}");
    for node in [
        "edge",
        "catalog",
        "products",
        "catalog_db",
        "views",
        "views_dlq",
    ] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(&format!("{node}["))
                    || l.trim_start().starts_with(&format!("{node}{{"))
                    || l.trim_start().starts_with(&format!("{node}("))),
            "node {node} missing:\n{out}"
        );
    }
    // Labelled edges: `from -->|"label"| to`.
    assert!(
        out.contains("edge -->|\"routes GET /products/:id\"| catalog"),
        "{out}"
    );
    assert!(
        out.contains("catalog -->|\"get_product reads\"| products"),
        "{out}"
    );
    assert!(
        out.contains("products -->|\"caches products\"| catalog_db"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("catalog -.->") && l.contains("publishes") && l.ends_with("views")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("views -.->")
            && l.contains("dead letter")
            && l.ends_with("views_dlq")),
        "{out}"
    );
    assert!(
        !out.contains("get_product[") && !out.contains("catalog.get_product"),
        "endpoints fold into their service:\n{out}"
    );
    let r = run(&["graph", "--format", "mermaid", s(&f)]);
    assert_eq!(&r.stdout, out);
}

#[test]
fn graph_prints_a_dot_digraph() {
    let dir = Scratch::new("graph-dot");
    let f = dir.write("g.arch", GRAPH);
    let r = run(&["graph", "--format", "dot", s(&f)]);
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    let out = r.stdout.trim_end();
    assert!(out.starts_with("digraph"), "{out}");
    assert!(out.ends_with('}'), "{out}");
    for node in [
        "edge",
        "catalog",
        "products",
        "catalog_db",
        "views",
        "views_dlq",
    ] {
        assert!(
            out.contains(&format!("\"{node}\" [")),
            "node {node} missing:\n{out}"
        );
    }
    assert!(
        out.contains("\"edge\" -> \"catalog\" [label=\"routes GET /products/:id\"]"),
        "{out}"
    );
    assert!(
        out.contains("\"products\" -> \"catalog_db\" [label=\"caches products\"]"),
        "{out}"
    );
    assert_eq!(
        out.matches('{').count(),
        out.matches('}').count(),
        "balanced braces:\n{out}"
    );
}

#[test]
fn graph_of_a_file_with_errors_exits_1() {
    let dir = Scratch::new("graph-err");
    let f = dir.write("bad.arch", "service a { replicaz = 2 }\n");
    let r = run(&["graph", s(&f)]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.is_empty(),
        "no graph for a broken program:\n{}",
        r.stdout
    );
    assert!(r.stderr.contains("A002"), "{}", r.stderr);
}

#[test]
fn graph_usage_errors_exit_2() {
    let dir = Scratch::new("graph-usage");
    assert_eq!(run(&["graph", s(&dir.path("missing.arch"))]).code, 2);
    let f = dir.write("g.arch", GRAPH);
    assert_eq!(run(&["graph", "--format", "png", s(&f)]).code, 2);
}

#[test]
fn schema_prints_json() {
    let r = run(&["schema"]);
    assert_eq!(r.code, 0);
    let schema = r.json();
    assert!(schema["properties"]["services"].is_object(), "{schema:#}");
}

#[test]
fn relative_paths_are_reported_as_given() {
    let dir = Scratch::new("relative");
    dir.write("sub/rel.arch", "service a {\n  replicaz = 2\n}\n");
    let r = run_in(
        Some(&dir.root),
        &["check", "--format", "json", "sub/rel.arch"],
    );
    let doc = r.json();
    assert_eq!(with_code(&doc, "A002")["file"], "sub/rel.arch", "{doc:#}");
    let r = run_in(Some(&dir.root), &["check", "./sub/../sub/rel.arch"]);
    assert!(r.stderr.contains("sub/rel.arch:2:3"), "{}", r.stderr);
}
