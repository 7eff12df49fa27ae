//! `archc check --pricing`: instance classes from a user's price catalogue are known to the
//! checks, exactly as they are to `archc plan --pricing`.

use assert_cmd::Command;

#[test]
fn a_class_from_the_pricing_file_is_known_to_check() {
    let dir = std::env::temp_dir().join(format!("archc-check-pricing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let program = dir.join("p.arch");
    std::fs::write(
        &program,
        "service api {\n  instance = in_house_box\n  endpoint get { route = \"GET /x\" work = 1ms }\n}\n",
    )
    .expect("write program");
    let pricing = dir.join("pricing.toml");
    std::fs::write(
        &pricing,
        "[instances.in_house_box]\nvcpu = 8\nmemory = \"32GB\"\nhourly = 0.05\nsource = \"our rack, 2026-11\"\n",
    )
    .expect("write pricing");

    let without = Command::cargo_bin("archc")
        .expect("binary")
        .args(["check", "--format", "json"])
        .arg(&program)
        .output()
        .expect("run");
    assert_eq!(
        without.status.code(),
        Some(1),
        "unknown class is an error without the pricing file"
    );
    assert!(String::from_utf8_lossy(&without.stdout).contains("\"A004\""));

    let with = Command::cargo_bin("archc")
        .expect("binary")
        .args(["check", "--pricing"])
        .arg(&pricing)
        .arg(&program)
        .output()
        .expect("run");
    assert_eq!(
        with.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[instances.x]\nvcpu = \"many\"\n").expect("write bad pricing");
    let refused = Command::cargo_bin("archc")
        .expect("binary")
        .args(["check", "--pricing"])
        .arg(&bad)
        .arg(&program)
        .output()
        .expect("run");
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a bad pricing file is a usage error"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
