//! Throwaway Redis and PostgreSQL servers on loopback for tests, stopped when dropped.
//! std only, so archc's own tests can include this file too (`#[path]`).
//!
//! A missing server binary makes [`tool`] fail the test when `CI` is set (CI must have
//! it) and skip it with a printed reason otherwise.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The path of `name` on PATH or in PostgreSQL's versioned bin directories. None (and a
/// printed reason) when missing locally; a panic when missing under CI.
pub fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    // Root's PATH may lack sbin (rabbitmq-server lives there on Debian).
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/usr/lib/rabbitmq/bin"].map(PathBuf::from));
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = versions.flatten().map(|v| v.path().join("bin")).collect();
        found.sort();
        dirs.extend(found.into_iter().rev());
    }
    if let Some(path) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("`{name}` is required under CI (scripts/install-test-tools.sh installs it)");
    }
    eprintln!("skipped: `{name}` is not installed");
    None
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `redis-server` with no persistence.
pub struct Redis {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Redis {
    /// Starts one, or None when redis-server is not installed (see [`tool`]).
    pub fn start() -> Option<Self> {
        Self::start_on(free_port())
    }

    /// Starts one on `port` (a restart of a stopped one keeps its URL).
    pub fn start_on(port: u16) -> Option<Self> {
        Self::start_with(port, &[])
    }

    /// Starts one on `port` with extra `redis-server` arguments.
    pub fn start_with(port: u16, extra: &[&str]) -> Option<Self> {
        let bin = tool("redis-server")?;
        let child = Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        wait_for_port(port, "redis-server");
        Some(Self { child, port })
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli ARGS` against it and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let bin = tool("redis-cli").expect("redis-cli comes with redis-server");
        let out = Command::new(bin)
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis Cluster of three primaries on loopback, its slots spread over all three.
pub struct RedisCluster {
    /// The nodes.
    pub nodes: Vec<Redis>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts and joins one, or None when redis-server is not installed (see [`tool`]).
    pub fn start() -> Option<Self> {
        let dir = std::env::temp_dir().join(format!(
            "archc-redis-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let config = dir.join(format!("nodes-{port}.conf"));
            let config = config.to_string_lossy();
            // The bus port defaults to port + 10000, past 65535 for high ephemeral ports.
            let bus = free_port().to_string();
            let args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &config,
                "--cluster-port",
                &bus,
            ];
            nodes.push(Redis::start_with(port, &args)?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut create = vec!["--cluster", "create"];
        create.extend(addresses.iter().map(String::as_str));
        create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        let out = nodes[0].cli(&create);
        assert!(out.contains("All 16384 slots covered"), "{out}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes
            .iter()
            .all(|n| n.cli(&["cluster", "info"]).contains("cluster_state:ok"))
        {
            assert!(Instant::now() < deadline, "the cluster did not become ok");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Self { nodes, dir })
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL cluster in a temporary directory, trusting local connections, run as the
/// `postgres` user when the tests run as root (PostgreSQL refuses to run as root).
pub struct Postgres {
    dir: PathBuf,
    pg_ctl: PathBuf,
    as_postgres: bool,
    /// Its port.
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(bin: &Path, args: &[&str], as_postgres: bool) -> std::process::Output {
    let mut cmd = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", bin.display()))
}

impl Postgres {
    /// Starts one with the databases `dbs`, or None when PostgreSQL is not installed.
    pub fn start(dbs: &[&str]) -> Option<Self> {
        let initdb = tool("initdb")?;
        let pg_ctl = tool("pg_ctl")?;
        let createdb = tool("createdb")?;
        let port = free_port();
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!("archc-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of {} to postgres", dir.display());
        }
        let data = dir.join("data");
        let data_s = data.to_string_lossy().into_owned();
        let dir_s = dir.to_string_lossy().into_owned();
        let out = run(
            &initdb,
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            as_postgres,
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let options = format!("-p {port} -k {dir_s} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = dir.join("log").to_string_lossy().into_owned();
        let out = run(
            &pg_ctl,
            &[
                "-D", &data_s, "-o", &options, "-l", &log, "-w", "-t", "30", "start",
            ],
            as_postgres,
        );
        let server = Self {
            dir,
            pg_ctl,
            as_postgres,
            port,
        };
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        for db in dbs {
            let out = run(
                &createdb,
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    "postgres",
                    db,
                ],
                as_postgres,
            );
            assert!(
                out.status.success(),
                "createdb {db}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Some(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs one SQL statement with `psql` on `db` and returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let bin = tool("psql").expect("psql comes with postgresql");
        let port = self.port.to_string();
        let out = run(
            &bin,
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                db,
                "-At",
                "-c",
                sql,
            ],
            self.as_postgres,
        );
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let _ = run(
            &self.pg_ctl,
            &["-D", &data, "-m", "immediate", "stop"],
            self.as_postgres,
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A RabbitMQ node in a temporary directory on free ports (slow: about 6 s to start).
/// `rabbitmq-server` drops to the `rabbitmq` user when started as root, so the directory
/// is given to that user.
pub struct Rabbit {
    dir: PathBuf,
    child: Child,
    node: String,
    dist: u16,
    /// Its AMQP port.
    pub port: u16,
}

fn spawn_rabbit(dir: &Path, node: &str, port: u16, dist: u16) -> Child {
    let bin = tool("rabbitmq-server").expect("checked by the caller");
    let d = |sub: &str| dir.join(sub).to_string_lossy().into_owned();
    let child = Command::new(bin)
        .current_dir(dir)
        .env("RABBITMQ_NODE_PORT", port.to_string())
        .env("RABBITMQ_DIST_PORT", dist.to_string())
        .env("RABBITMQ_NODENAME", node)
        .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
        .env("RABBITMQ_LOG_BASE", d("log"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("plugins"))
        .env("RABBITMQ_CONFIG_FILE", d("rabbitmq"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rabbitmq-server starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rabbitmq-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child
}

impl Rabbit {
    /// Starts one, or None when rabbitmq-server is not installed.
    pub fn start() -> Option<Self> {
        tool("rabbitmq-server")?;
        let port = free_port();
        let dist = free_port();
        let dir = std::env::temp_dir().join(format!("archc-rmq-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        if is_root() {
            let _ = Command::new("chown")
                .arg("rabbitmq:rabbitmq")
                .arg(&dir)
                .status();
        }
        let node = format!("archc{port}@localhost");
        let child = spawn_rabbit(&dir, &node, port, dist);
        Some(Self {
            dir,
            child,
            node,
            dist,
            port,
        })
    }

    /// `amqp://guest:guest@127.0.0.1:PORT/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Stops the node and starts it again on the same port and data (durable queues stay).
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn_rabbit(&self.dir, &self.node, self.port, self.dist);
    }

    fn stop(&mut self) {
        if let Some(ctl) = tool("rabbitmqctl") {
            let _ = Command::new(ctl)
                .args(["-n", &self.node, "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Kafka-compatible broker on loopback: Tansu (`tansu broker`, in memory), a single
/// binary speaking the Kafka protocol.
pub struct Kafka {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Kafka {
    /// Starts one, or None when `tansu` is not installed (see [`tool`]).
    pub fn start() -> Option<Self> {
        let bin = tool("tansu")?;
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin)
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        wait_for_port(port, "tansu");
        Some(Self { child, port })
    }

    /// The bootstrap list `127.0.0.1:PORT`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
