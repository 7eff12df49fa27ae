//! Runs the real `archc` binary the way users do, and never accepts a panic (exit 101).

use assert_cmd::Command;

/// What a run of `archc` produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `archc ARGS` from the repository root with `NO_COLOR=1`.
pub fn archc(args: &[&str]) -> Run {
    let out = Command::cargo_bin("archc")
        .expect("the archc binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run archc");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(run.code, 101, "archc panicked on {args:?}:\n{}", run.stderr);
    run
}
