//! `archc plan` as users and tools see it: every format on every example, the terminal
//! table's width and order, the JSON contract of plan-model.md §9, `--pricing`, `--horizon`,
//! `-o`, and refusals (check errors, unknown instance class, bad pricing, bad horizon).
//!
//! Every test runs the real binary with `NO_COLOR=1` and never accepts exit code 101.

mod common;

use archc::plan::catalogue::Catalogue;
use common::cli::archc;
use serde_json::Value;
use std::path::{Path, PathBuf};

const EXAMPLES: [&str; 4] = [
    "examples/minimal.arch",
    "examples/shop/main.arch",
    "examples/api-gateway.arch",
    "examples/timeline.arch",
];

fn ok(args: &[&str]) -> String {
    let run = archc(args);
    assert_eq!(run.code, 0, "{args:?} failed:\n{}", run.stderr);
    run.stdout
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&ok(&all)).expect("valid JSON")
}

/// A directory unique to one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("archc-plan-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write scratch file");
        path.display().to_string()
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn assert_fits(text: &str, what: &str) {
    for line in text.lines() {
        let n = line.chars().count();
        assert!(n <= 100, "{what}: a line of {n} columns:\n{line}");
    }
}

#[test]
fn every_format_renders_every_example() {
    for example in EXAMPLES {
        let table = ok(&["plan", example]);
        assert_fits(&table, example);
        assert_fits(&ok(&["plan", example, "--explain"]), example);
        let md = ok(&["plan", example, "--format", "markdown"]);
        assert!(md.starts_with("# Plan for "), "{example}:\n{md}");
        assert!(md.contains("## How each figure was obtained"), "{example}");
        let html = ok(&["plan", example, "--format", "html"]);
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        let doc = json(&["plan", example]);
        assert!(
            doc["cost"]["monthly_total"].as_f64().unwrap() > 0.0,
            "{example}"
        );
    }
}

#[test]
fn table_leads_with_cost_availability_and_bottleneck() {
    let table = ok(&["plan", "examples/shop/main.arch"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "Plan for shop");
    assert!(lines[2].starts_with("Monthly cost  $"), "{table}");
    assert!(lines[2].ends_with("/mo"), "{table}");
    assert!(lines[3].starts_with("Availability  99."), "{table}");
    assert!(lines[3].contains("vs SLO 99.95%: met by"), "{table}");
    assert!(lines[3].contains("/mo of 21m 36s allowed"), "{table}");
    let bottleneck = lines[..8].iter().find(|l| l.starts_with("Bottleneck"));
    assert!(
        bottleneck.is_some_and(|l| l.contains("× today's peak")),
        "{table}"
    );
    for section in [
        "Services",
        "Routes",
        "Caches",
        "Databases",
        "Queues",
        "Horizon",
    ] {
        assert!(lines.contains(&section), "no {section} section:\n{table}");
    }
    assert!(
        table.contains(" rps") && table.contains("k rps"),
        "humanised rates"
    );
    assert!(!table.contains("How each figure was obtained"));
}

#[test]
fn explain_adds_every_formula_and_its_inputs() {
    let table = ok(&["plan", "examples/shop/main.arch", "--explain"]);
    assert!(table.contains("How each figure was obtained"));
    assert!(table.contains("service catalog\n  "), "{table}");
    assert!(table.contains("    with "), "inputs are listed");
    let doc = json(&["plan", "examples/shop/main.arch", "--explain"]);
    let traces = &doc["services"][0]["traces"];
    assert!(traces.as_array().is_some_and(|t| !t.is_empty()));
    for key in ["figure", "formula", "inputs", "result"] {
        assert!(!traces[0][key].is_null(), "trace.{key}");
    }
}

/// The JSON contract of plan-model.md §9: a JSON pointer to an object and its exact keys.
const CONTRACT: [(&str, &str); 13] = [
    (
        "",
        "services caches databases queues routes availability cost horizon bottlenecks \
         assumptions",
    ),
    (
        "/services/0",
        "name load_rps instances vcpu utilization latency_ms instances_zone_down saturates_at \
         monthly_cost",
    ),
    ("/services/0/latency_ms", "p50 p95 p99"),
    (
        "/caches/0",
        "name hit_ratio memory_bytes nodes monthly_cost",
    ),
    (
        "/databases/0",
        "name reads_rps writes_rps shards_needed replicas_needed storage_bytes_at_horizon \
         monthly_cost",
    ),
    (
        "/queues/0",
        "name rate consumers_needed partitions_needed storage_bytes monthly_cost",
    ),
    (
        "/routes/0",
        "gateway route load_rps availability latency_ms",
    ),
    ("/routes/0/latency_ms", "p50 p95 p99"),
    (
        "/availability",
        "system target downtime_per_month_s weakest",
    ),
    ("/cost", "currency monthly_total by_component"),
    ("/cost/by_component/0", "name kind monthly"),
    ("/horizon/0", "month peak_rps monthly_cost"),
    ("/bottlenecks/0", "component saturates_at"),
];

#[test]
fn json_follows_the_contract() {
    let doc = json(&["plan", "examples/shop/main.arch"]);
    for (pointer, expected) in CONTRACT {
        let object = doc.pointer(pointer).and_then(Value::as_object);
        let mut keys: Vec<&str> = object.expect(pointer).keys().map(String::as_str).collect();
        let mut want: Vec<&str> = expected.split(' ').collect();
        if pointer.is_empty() && !keys.contains(&"assumptions") {
            want.retain(|k| *k != "assumptions"); // optional: the plan's assumptions in words
        }
        keys.sort_unstable();
        want.sort_unstable();
        assert_eq!(keys, want, "the keys of `{pointer}`");
    }
    let a = &doc["availability"];
    let system = a["system"].as_f64().unwrap();
    assert!(
        system > 0.99 && system <= 1.0,
        "availability is a fraction: {system}"
    );
    assert_eq!(a["target"].as_f64(), Some(0.9995), "the SLO as a fraction");
    assert_eq!(doc["cost"]["currency"], "USD");
}

#[test]
fn pricing_merges_key_by_key_and_changes_the_cost() {
    let s = Scratch::new("pricing");
    let medium = Catalogue::builtin()
        .instance("medium")
        .expect("a medium class")
        .hourly;
    let pricing = s.write(
        "p.toml",
        &format!("[instances.medium]\nhourly = {}\n", medium * 2.0),
    );
    let base = json(&["plan", "examples/minimal.arch"]);
    let dear = json(&["plan", "examples/minimal.arch", "--pricing", &pricing]);
    let (a, b) = (
        base["cost"]["monthly_total"].as_f64(),
        dear["cost"]["monthly_total"].as_f64(),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        (b / a - 2.0).abs() < 0.01,
        "doubling the only class doubles the cost: {a} → {b}"
    );
    // Everything else is kept: the instance count does not change.
    assert_eq!(
        base["services"][0]["instances"],
        dear["services"][0]["instances"]
    );
}

#[test]
fn a_bad_pricing_file_names_the_key() {
    let s = Scratch::new("bad-pricing");
    let pricing = s.write("p.toml", "[instances.medium]\nhourly = \"cheap\"\n");
    let run = archc(&["plan", "examples/minimal.arch", "--pricing", &pricing]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("instances.medium.hourly"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let missing = archc(&[
        "plan",
        "examples/minimal.arch",
        "--pricing",
        "/no/such/p.toml",
    ]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/no/such/p.toml"),
        "{}",
        missing.stderr
    );
}

const SMALL: &str = r#"system s {
  traffic { peak = 100/s }
}
service api {
  instance = medium
  replicas = 2
  endpoint get { route = "GET /x"  share = 100%  work = 2ms }
}
"#;

#[test]
fn an_unknown_instance_class_is_a_located_error_with_a_suggestion() {
    let s = Scratch::new("class");
    let file = s.write("bad.arch", &SMALL.replace("medium", "mediun"));
    let run = archc(&["plan", &file]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("`mediun`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.arch:5:14"),
        "located: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `medium`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_program_with_check_errors_is_refused_with_the_diagnostics() {
    let s = Scratch::new("check");
    let file = s.write(
        "bad.arch",
        &SMALL.replace("replicas = 2", "replicas = 2\n  colour = red"),
    );
    let run = archc(&["plan", &file]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("A002"), "{}", run.stderr);
    assert!(run.stderr.contains("bad.arch:7:3"), "{}", run.stderr);
    assert!(
        run.stderr.contains("1 error, 0 warnings in 1 file"),
        "{}",
        run.stderr
    );
    let check = archc(&["check", &file]);
    assert!(
        run.stderr.starts_with(&check.stderr),
        "rendered as `check` renders it"
    );
}

#[test]
fn output_goes_to_the_file_named_by_o() {
    let s = Scratch::new("output");
    let out = s.path("plan.md");
    let out_text = out.display().to_string();
    let run = archc(&[
        "plan",
        "examples/api-gateway.arch",
        "--format",
        "markdown",
        "-o",
        &out_text,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let written = std::fs::read_to_string(&out).expect("the report was written");
    assert_eq!(
        written,
        ok(&["plan", "examples/api-gateway.arch", "--format", "markdown"])
    );
    let nowhere = Path::new("/no/such/dir/plan.md").display().to_string();
    assert_eq!(
        archc(&["plan", "examples/minimal.arch", "-o", &nowhere]).code,
        2
    );
}

#[test]
fn horizon_sets_the_number_of_months() {
    let months = |extra: &[&str]| {
        let mut args = vec!["plan", "examples/shop/main.arch"];
        args.extend(extra);
        let doc = json(&args);
        let h = doc["horizon"].as_array().expect("horizon").clone();
        (h.len(), h.last().unwrap()["month"].as_u64().unwrap())
    };
    assert_eq!(months(&[]), (19, 18), "the program's own 18mo");
    assert_eq!(months(&["--horizon", "2y"]), (25, 24));
    assert_eq!(months(&["--horizon", "6mo"]), (7, 6));
    let run = archc(&["plan", "examples/shop/main.arch", "--horizon", "12"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a duration"), "{}", run.stderr);
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let run = archc(&["plan", "no/such/file.arch"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no/such/file.arch"), "{}", run.stderr);
}
