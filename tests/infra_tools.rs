//! The infra files of every example, checked by the real tools: `nginx -t`, `haproxy -c`,
//! `promtool check config|rules` (and `promtool test rules` for a burn-rate alert),
//! `kubernetes-validate --strict`, `docker-compose config -q`, the SQL applied twice to a
//! throwaway PostgreSQL 15, and `redis-server` started with each generated conf.
//! A missing tool fails the test when `CI` is set, and skips it with a message otherwise.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXAMPLES: [(&str, &str); 5] = [
    ("minimal", "examples/minimal.arch"),
    ("api-gateway", "examples/api-gateway.arch"),
    ("timeline", "examples/timeline.arch"),
    ("shop", "examples/shop/main.arch"),
    ("backends", "examples/backends.arch"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Generates `example` into a fresh directory and returns its `infra/`.
fn generate(name: &str, file: &str, tag: &str) -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("infra-{tag}-{name}"));
    let _ = fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_archc"))
        .arg("generate")
        .arg(root().join(file))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("archc runs");
    assert!(
        status.status.success(),
        "archc generate {file} failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    out.join("infra")
}

/// Whether `tool` is on PATH; without it, panics under CI and skips otherwise.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required under CI (see the apt/pip list in docs/generate-decisions.md)"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    found
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn self_signed(dir: &Path, name: &str) {
    fs::create_dir_all(dir).unwrap();
    let (key, crt) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.crt")),
    );
    run(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            ])
            .arg(format!("/CN={name}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .stderr(Stdio::null()),
        "openssl",
    );
    let pem = [fs::read(&crt).unwrap(), fs::read(&key).unwrap()].concat();
    fs::write(dir.join(format!("{name}.pem")), pem).unwrap();
}

/// The certificates a config names under `tls/` (`tls/edge.crt`, `tls/edge.pem`).
fn tls_names(text: &str) -> BTreeSet<String> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix("tls/"))
        .map(|w| {
            w.trim_end_matches(';')
                .rsplit_once('.')
                .map_or(w, |(n, _)| n)
                .to_string()
        })
        .collect()
}

#[test]
fn nginx_accepts_every_generated_edge() {
    if !have("nginx") || !have("unshare") || !have("openssl") {
        return;
    }
    for (name, file) in EXAMPLES {
        let infra = generate(name, file, "nginx");
        let conf = infra.join("nginx/nginx.conf");
        let Ok(text) = fs::read_to_string(&conf) else {
            continue;
        };
        let prefix = infra.join("nginx");
        fs::create_dir_all(prefix.join("tmp")).unwrap();
        fs::create_dir_all(prefix.join("cache")).unwrap();
        for cert in tls_names(&text) {
            self_signed(&prefix.join("tls"), &cert);
        }
        // Upstream host names are compose / Kubernetes services: map them in a private /etc/hosts.
        let hosts: BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("server "))
            .filter_map(|s| s.split(':').next())
            .collect();
        let hosts_file = infra.join("hosts");
        let names: Vec<&str> = hosts.into_iter().collect();
        fs::write(
            &hosts_file,
            format!("127.0.0.1 localhost {}\n", names.join(" ")),
        )
        .unwrap();
        run(
            Command::new("unshare")
                .args(["-m", "sh", "-c"])
                .arg(format!(
                    "mount --bind {} /etc/hosts && nginx -t -p {} -c nginx.conf",
                    hosts_file.display(),
                    prefix.display()
                )),
            &format!("nginx -t ({name})"),
        );
    }
}

#[test]
fn haproxy_accepts_every_generated_edge() {
    if !have("haproxy") || !have("openssl") {
        return;
    }
    for (name, file) in EXAMPLES {
        let infra = generate(name, file, "haproxy");
        let dir = infra.join("haproxy");
        let Ok(text) = fs::read_to_string(dir.join("haproxy.cfg")) else {
            continue;
        };
        for cert in tls_names(&text) {
            self_signed(&dir.join("tls"), &cert);
        }
        let out = run(
            Command::new("haproxy")
                .args(["-c", "-f", "haproxy.cfg"])
                .current_dir(&dir),
            &format!("haproxy -c ({name})"),
        );
        assert!(out.contains("Configuration file is valid"), "{out}");
    }
}

#[test]
fn promtool_accepts_the_config_and_rules() {
    if !have("promtool") {
        return;
    }
    for (name, file) in EXAMPLES {
        let infra = generate(name, file, "prom");
        let dir = infra.join("prometheus");
        run(
            Command::new("promtool")
                .args(["check", "config", "prometheus.yml"])
                .current_dir(&dir),
            &format!("promtool check config ({name})"),
        );
        run(
            Command::new("promtool")
                .args(["check", "rules", "alerts.yml"])
                .current_dir(&dir),
            &format!("promtool check rules ({name})"),
        );
    }
}

/// shop's SLO is 99.95%: half the requests failing for an hour burns 1000x the budget, so
/// the 1h/5m alert fires; with no errors it does not.
#[test]
fn the_fast_burn_rate_alert_fires_on_a_burst_of_errors() {
    if !have("promtool") {
        return;
    }
    let infra = generate("shop", "examples/shop/main.arch", "promtest");
    let dir = infra.join("prometheus");
    let alerts: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(dir.join("alerts.yml")).unwrap()).unwrap();
    let summary = alerts["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().iter())
        .find(|r| r["alert"].as_str() == Some("SLOBurnRate1h"))
        .and_then(|r| r["annotations"]["summary"].as_str())
        .expect("SLOBurnRate1h is generated")
        .to_string();
    let test = format!(
        r#"rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{{service="catalog",endpoint="get_product",method="GET",status="500"}}'
        values: '0+10x120'
      - series: 'http_requests_total{{service="catalog",endpoint="get_product",method="GET",status="200"}}'
        values: '0+10x120'
    alert_rule_test:
      - eval_time: 70m
        alertname: SLOBurnRate1h
        exp_alerts:
          - exp_labels: {{severity: page}}
            exp_annotations: {{summary: {summary:?}}}
  - interval: 1m
    input_series:
      - series: 'http_requests_total{{service="catalog",endpoint="get_product",method="GET",status="200"}}'
        values: '0+10x120'
    alert_rule_test:
      - eval_time: 70m
        alertname: SLOBurnRate1h
        exp_alerts: []
"#
    );
    fs::write(dir.join("burn_test.yml"), test).unwrap();
    run(
        Command::new("promtool")
            .args(["test", "rules", "burn_test.yml"])
            .current_dir(&dir),
        "promtool test rules",
    );
}

#[test]
fn kubernetes_manifests_pass_the_official_schemas() {
    if !have("kubernetes-validate") {
        return;
    }
    for (name, file) in EXAMPLES {
        let infra = generate(name, file, "k8s");
        let mut files: Vec<PathBuf> = walk(&infra.join("k8s"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .filter(|p| !p.ends_with("kustomization.yaml"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        run(
            Command::new("kubernetes-validate")
                .arg("--strict")
                .args(&files),
            &format!("kubernetes-validate ({name})"),
        );
        let kust = fs::read_to_string(infra.join("k8s/kustomization.yaml")).unwrap();
        for f in &files {
            let rel = f
                .strip_prefix(infra.join("k8s"))
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(kust.contains(&rel), "kustomization.yaml misses {rel}");
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn compose_files_follow_the_compose_specification() {
    if !have("docker-compose") {
        return;
    }
    for (name, file) in EXAMPLES {
        let infra = generate(name, file, "compose");
        run(
            Command::new("docker-compose")
                .args(["-f", "compose.yaml", "config", "-q"])
                .current_dir(&infra),
            &format!("docker-compose config ({name})"),
        );
    }
}

/// A throwaway PostgreSQL cluster on a loopback port, stopped on drop.
struct Postgres {
    dir: PathBuf,
    port: u16,
}

fn as_postgres(cmd: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let mut c = Command::new(if root { "su" } else { "sh" });
    if root {
        c.args(["postgres", "-s", "/bin/sh", "-c", cmd]);
    } else {
        c.args(["-c", cmd]);
    }
    c
}

impl Postgres {
    fn start() -> Postgres {
        let dir = PathBuf::from("/tmp").join(format!("archc-infra-pg-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").args(["postgres"]).arg(&dir).status();
        let port = 56_000 + (std::process::id() % 1000) as u16;
        let d = dir.display();
        run(
            &mut as_postgres(&format!(
                "initdb -D {d}/data -U postgres --auth=trust >/dev/null"
            )),
            "initdb",
        );
        run(
            &mut as_postgres(&format!(
                "pg_ctl -D {d}/data -l {d}/log -w -o \"-p {port} -k {d} -c listen_addresses=127.0.0.1\" start >/dev/null"
            )),
            "pg_ctl start",
        );
        Postgres { dir, port }
    }

    fn psql(&self, db: &str) -> Command {
        let mut c = Command::new("psql");
        c.args([
            "-q",
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .arg("-p")
        .arg(self.port.to_string())
        .arg("-d")
        .arg(db);
        c
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&format!(
            "pg_ctl -D {}/data -m immediate stop",
            self.dir.display()
        ))
        .stdout(Stdio::null())
        .status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn sql_applies_to_postgresql_twice() {
    if !have("initdb") || !have("pg_ctl") || !have("psql") {
        return;
    }
    let pg = Postgres::start();
    for (name, file) in EXAMPLES {
        let infra = generate(name, file, "sql");
        let sql = infra.join("sql");
        let Ok(entries) = fs::read_dir(&sql) else {
            continue;
        };
        let mut dbs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dbs.sort();
        for dir in dbs {
            let db = dir.file_name().unwrap().to_string_lossy().to_string();
            let mut shards: Vec<Option<PathBuf>> = vec![None];
            if let Ok(s) = fs::read_dir(dir.join("shards")) {
                let mut files: Vec<PathBuf> = s.flatten().map(|e| e.path()).collect();
                files.sort();
                // The first and the last shard: the range bounds differ at both ends.
                shards = [files.first(), files.last()]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .map(Some)
                    .collect();
            }
            for (i, shard) in shards.iter().enumerate() {
                let target = format!("{}_{}_{i}", name.replace('-', "_"), db);
                run(
                    pg.psql("postgres")
                        .arg("-c")
                        .arg(format!("CREATE DATABASE {target}")),
                    "createdb",
                );
                let mut migrations: Vec<PathBuf> = fs::read_dir(&dir)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "sql"))
                    .collect();
                migrations.sort();
                migrations.extend(shard.iter().cloned());
                for pass in 1..=2 {
                    for m in &migrations {
                        run(
                            pg.psql(&target).arg("-f").arg(m),
                            &format!("{name}: {} (pass {pass})", m.display()),
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn redis_server_starts_with_every_generated_conf() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let mut port = 46_000 + (std::process::id() % 1000) as u16;
    for (name, file) in EXAMPLES {
        let infra = generate(name, file, "redis");
        let Ok(entries) = fs::read_dir(infra.join("redis")) else {
            continue;
        };
        let mut confs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        confs.sort();
        for conf in confs {
            port += 1;
            let text = fs::read_to_string(&conf).unwrap();
            let expected = text
                .lines()
                .find_map(|l| l.strip_prefix("maxmemory "))
                .expect("maxmemory is set")
                .trim()
                .to_string();
            let work = infra.join(format!("redis-run-{port}"));
            fs::create_dir_all(&work).unwrap();
            let mut child = Command::new("redis-server")
                .arg(&conf)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .current_dir(&work)
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            let started = Instant::now();
            let mut answer = String::new();
            while started.elapsed() < Duration::from_secs(10) {
                let out = Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "CONFIG", "GET", "maxmemory"])
                    .output();
                if let Ok(o) = out {
                    answer = String::from_utf8_lossy(&o.stdout).to_string();
                    if answer.contains("maxmemory") {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                answer.lines().nth(1).map(str::trim) == Some(expected.as_str()),
                "{name} {}: CONFIG GET maxmemory answered {answer:?}, the file says {expected}",
                conf.display()
            );
        }
    }
}
