//! Inputs found by auditing for panics: huge counts, subnormal rates, very long call and
//! import chains. Each must end with a located diagnostic or a result, never a crash
//! (exit 101 or a signal).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archc-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn exit_code(args: &[&str], file: &Path) -> i32 {
    let out = Command::cargo_bin("archc")
        .expect("binary")
        .args(args)
        .arg(file)
        .output()
        .expect("run archc");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        (0..=2).contains(&code),
        "archc {args:?} crashed (exit {code}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

#[test]
fn huge_pools_and_replicas_do_not_overflow_the_connection_budget() {
    let dir = scratch("a309");
    let f = dir.join("p.arch");
    std::fs::write(
        &f,
        "service a { replicas = 4294967295  endpoint e { route = \"GET /a\"  work = 1ms  reads = [db] } }\n\
         service b { replicas = 4294967295  endpoint e { route = \"GET /b\"  work = 1ms  reads = [db] } }\n\
         database db { engine = postgres  pool = 4294967295 }\n",
    )
    .expect("write");
    assert_eq!(exit_code(&["check"], &f), 1, "A309 reports the budget");
}

#[test]
fn the_largest_retry_count_does_not_overflow_the_timeout_budget() {
    let dir = scratch("a603");
    let f = dir.join("p.arch");
    std::fs::write(
        &f,
        "service web { endpoint home { route = \"GET /\"  work = 2ms  timeout = 2s  calls = [users.get_user]  retry { attempts = 4294967295 } } }\n\
         service users { endpoint get_user { route = \"GET /users/:id\"  work = 2ms  timeout = 1s } }\n",
    )
    .expect("write");
    exit_code(&["check"], &f);
    exit_code(
        &[
            "plan",
            "--format",
            "html",
            "-o",
            dir.join("o.html").to_str().unwrap_or("o.html"),
        ],
        &f,
    );
}

#[test]
fn a_subnormal_peak_still_renders_the_html_report() {
    let dir = scratch("tiny");
    let f = dir.join("p.arch");
    let tiny = format!("0.{}1", "0".repeat(322));
    std::fs::write(
        &f,
        format!("system h {{ traffic {{ peak = {tiny}/s }} }}\nservice g {{ replicas = 2  endpoint e {{ route = \"GET /h\"  share = 100%  work = 1ms }} }}\n"),
    )
    .expect("write");
    let out = dir.join("o.html");
    exit_code(
        &[
            "plan",
            "--format",
            "html",
            "-o",
            out.to_str().unwrap_or("o.html"),
        ],
        &f,
    );
}

#[test]
fn a_call_chain_thousands_deep_does_not_exhaust_the_stack() {
    let dir = scratch("chain");
    let f = dir.join("p.arch");
    let n = 3000;
    let mut text = String::from("gateway edge { route \"GET /s0\" { to = s0  latency = 1ms } }\n");
    for i in 0..n {
        let calls = if i + 1 < n {
            format!("  calls = [s{}.e]", i + 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "service s{i} {{ endpoint e {{ route = \"GET /s{i}\"  work = 1ms{calls} }} }}\n"
        ));
    }
    std::fs::write(&f, text).expect("write");
    exit_code(&["check"], &f);
}

#[test]
fn an_import_chain_deeper_than_the_limit_is_a008() {
    let dir = scratch("imports");
    let depth = archc::load::MAX_IMPORT_DEPTH + 5;
    for i in 0..depth {
        let body = if i + 1 < depth {
            format!("import \"f{}.arch\"\n", i + 1)
        } else {
            String::new()
        };
        std::fs::write(
            dir.join(format!("f{i}.arch")),
            format!("{body}service s{i} {{ }}\n"),
        )
        .expect("write");
    }
    let out = Command::cargo_bin("archc")
        .expect("binary")
        .args(["check", "--format", "json"])
        .arg(dir.join("f0.arch"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"A008\""));
}
