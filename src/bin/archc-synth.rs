//! `archc-synth N`: writes a deterministic, valid `.arch` program with about N top-level
//! components to stdout, for benchmarks (`benches/check.rs`, `scripts/bench.sh`).
//!
//! The program is built from repeated *units*. A unit is one slice of a business domain:
//! a public `front` service (reached by gateway routes), a `core` service that owns a
//! sharded database and publishes events, a `wrk` service that consumes the events and their
//! dead letters, a cache in front of the database (in most units), the database, the event
//! queue and its dead-letter queue, and a cron job (in some units). Every ten units share an
//! edge: a gateway with routes to the ten front services, a CDN in front of it and two rate
//! limits. One `system` block and three regions complete the program.
//!
//! The program is meant to check clean (no errors, no warnings): every queue has a producer
//! and a consumer, retrying queues have a dead letter, everything on a request path has at
//! least two replicas, unique indexes and queries use the shard key, calls only go to
//! services declared later (acyclic, at most three services deep), timeouts nest, and so on.
//!
//! Standard library only; also compiled into `benches/check.rs` as a module.

use std::fmt::Write as _;

/// Units per gateway (and per CDN and pair of limits).
const UNITS_PER_EDGE: usize = 10;

/// A deterministic program of about `n` top-level components (at least one unit).
pub fn generate(n: usize) -> String {
    let units = units_for(n);
    let mut g = Gen {
        out: String::with_capacity(units * 2_600 + 4_096),
        units,
    };
    g.system();
    for e in 0..edges(units) {
        g.edge(e);
    }
    for k in 0..units {
        g.front(k);
        g.core(k);
        if has_worker(k) {
            g.worker(k);
        }
    }
    for k in 0..units {
        if has_cache(k) {
            g.cache(k);
        }
        g.database(k);
        g.queues(k);
        g.job(k);
    }
    g.out
}

/// The number of top-level components `generate(n)` writes.
pub fn component_count(n: usize) -> usize {
    let units = units_for(n);
    4 + 4 * edges(units) + (0..units).map(unit_size).sum::<usize>()
}

/// How many units make about `n` components.
fn units_for(n: usize) -> usize {
    let mut units = 0;
    let mut count = 4; // system + 3 regions
    while units == 0 || count < n {
        if units % UNITS_PER_EDGE == 0 {
            count += 4; // gateway, cdn, 2 limits
        }
        count += unit_size(units);
        units += 1;
    }
    units
}

fn edges(units: usize) -> usize {
    units.div_ceil(UNITS_PER_EDGE)
}

/// Components in unit `k`: front, core, database, queue, dead-letter queue, and
/// optionally a worker, a cache and a job.
fn unit_size(k: usize) -> usize {
    5 + usize::from(has_worker(k)) + usize::from(has_cache(k)) + usize::from(has_job(k))
}

fn has_cache(k: usize) -> bool {
    k % 4 != 3
}

/// A worker service (and a job that runs its `reindex` endpoint) in every third unit.
fn has_worker(k: usize) -> bool {
    k % 3 == 0
}

/// A job in two units of three: it runs the worker's `reindex`, or publishes a sweep event.
fn has_job(k: usize) -> bool {
    k % 3 != 2
}

/// Endpoints of unit `k`'s front service (2 to 4).
fn front_endpoints(k: usize) -> usize {
    2 + k % 3
}

/// Whether `core_k` calls `core_{k+1}` (every third unit, so chains stay short).
fn core_calls_next(k: usize, units: usize) -> bool {
    k % 3 == 1 && k + 1 < units
}

/// Kafka in most units; the others use a broker without partitions.
fn engine(k: usize) -> &'static str {
    match k % 5 {
        3 => "rabbitmq",
        4 => "sqs",
        _ => "kafka",
    }
}

/// Whether `core_k` consumes `ev_{k-1}`: when unit k-1 has no worker (someone must), or
/// as a second consumer group member on kafka.
fn core_consumes_prev(k: usize) -> bool {
    k > 0 && (!has_worker(k - 1) || engine(k - 1) == "kafka")
}

/// Concurrency of one consumer of `ev_k` (kafka has 6 partitions for at most two consumers).
fn concurrency(k: usize) -> usize {
    if engine(k) == "kafka" {
        2
    } else {
        1
    }
}

fn shards(k: usize) -> usize {
    [2, 4, 8, 4][k % 4]
}

/// Peak requests per second on one front endpoint.
fn front_rps(k: usize, e: usize) -> usize {
    [40, 25, 6, 3][e] + k % 7
}

struct Gen {
    out: String,
    units: usize,
}

impl Gen {
    fn system(&mut self) {
        let peak: usize = (0..self.units)
            .map(|k| {
                (0..front_endpoints(k))
                    .map(|e| front_rps(k, e))
                    .sum::<usize>()
            })
            .sum();
        let o = &mut self.out;
        let _ = writeln!(
            o,
            "// Written by `archc-synth` ({} units) for benchmarks.",
            self.units
        );
        let _ = write!(
            o,
            r#"system synth {{
  description = "generated benchmark program"
  regions = [us_east, eu_west, ap_south]
  slo = 99.9%
  latency = 500ms
  traffic {{ peak = {peak}/s  average = {avg}/s  read_ratio = 85%  growth = 3%/mo }}
  availability {{ failover = automatic  consistency = quorum  replication = 3 }}
  backup {{ full = daily  incremental = 1h  offsite = eu_west  pitr = true }}
  dr {{ strategy = warm  region = eu_west  rpo = 5m  rto = 30m }}
  rollout {{ batch = 1  health_timeout = 5m }}
  shed {{ at_cpu = 85%  keep = [critical] }}
}}
region us_east {{ name = "us-east-1" }}
region eu_west {{ name = "eu-west-1" }}
region ap_south {{ name = "ap-south-1" }}
"#,
            avg = peak.div_ceil(3),
        );
    }

    /// Gateway `gw_e` with routes to the front services of units `10e..10e+9`, its CDN and limits.
    fn edge(&mut self, e: usize) {
        let first = e * UNITS_PER_EDGE;
        let last = (first + UNITS_PER_EDGE).min(self.units);
        let o = &mut self.out;
        let _ = write!(
            o,
            r#"limit ip_{e} {{ key = ip  rate = 6000/min  algorithm = sliding_window }}
limit writes_{e} {{ key = user  rate = 30/min  block = 5m }}
cdn cdn_{e} {{ origin = gw_{e}  behavior "/static/*" {{ min_ttl = 1m  ttl = 1h  max_ttl = 1d }} }}
gateway gw_{e} {{
  tls = true
  replicas = 3..12
  limit = ip_{e}
  auth jwt {{ issuer = "https://auth.example.com"  secret = env("JWT_SECRET") }}
  cors {{ origins = ["https://app.example.com"]  credentials = true }}
  canary next {{ of = front_{first}  version = "2.{e}.0"  weight = 5% }}
"#
        );
        for k in first..last {
            let _ = writeln!(
                o,
                r#"  route "GET /u{k}/items" {{ to = front_{k}  auth = none  retry {{ attempts = 1 }}  cache {{ ttl = 30s }} }}"#
            );
            let _ = writeln!(o, r#"  route "GET /u{k}/items/:id" {{ to = front_{k} }}"#);
            if front_endpoints(k) > 2 {
                let _ = writeln!(
                    o,
                    r#"  route "POST /u{k}/items" {{ to = front_{k}  limit = writes_{e} }}"#
                );
            }
            if front_endpoints(k) > 3 {
                let _ = writeln!(
                    o,
                    r#"  route "DELETE /u{k}/items/:id" {{ to = front_{k}  limit = writes_{e} }}"#
                );
            }
        }
        o.push_str("}\n");
    }

    /// The public service of unit `k`: its endpoints call `core_k`, and `list` also `core_{k+1}`.
    fn front(&mut self, k: usize) {
        let next = if k + 1 < self.units {
            format!(", core_{}.get", k + 1)
        } else {
            String::new()
        };
        let o = &mut self.out;
        let _ = write!(
            o,
            r#"service front_{k} {{
  instance = small
  replicas = 3..12
  autoscale {{ cpu = 70% }}
  endpoint list {{ route = "GET /u{k}/items"  rps = {r0}/s  work = 2ms  calls = [core_{k}.search{next}]  retry {{ attempts = 1 }} }}
  endpoint show {{ route = "GET /u{k}/items/:id"  rps = {r1}/s  work = 1ms  calls = [core_{k}.get] }}
"#,
            r0 = front_rps(k, 0),
            r1 = front_rps(k, 1),
        );
        if front_endpoints(k) > 2 {
            let r = front_rps(k, 2);
            let _ = writeln!(
                o,
                r#"  endpoint create {{ route = "POST /u{k}/items"  rps = {r}/s  work = 4ms  calls = [core_{k}.create] }}"#
            );
        }
        if front_endpoints(k) > 3 {
            let r = front_rps(k, 3);
            let _ = writeln!(
                o,
                r#"  endpoint remove {{ route = "DELETE /u{k}/items/:id"  rps = {r}/s  work = 2ms  calls = [core_{k}.remove] }}"#
            );
        }
        o.push_str("}\n");
    }

    /// The owning service of unit `k`: reads the cache or the database, writes the database
    /// and publishes to `ev_k`; consumes the events that no worker takes.
    fn core(&mut self, k: usize) {
        let read = if has_cache(k) {
            format!("cache_{k}")
        } else {
            format!("db_{k}.items")
        };
        let calls = if core_calls_next(k, self.units) {
            format!("  calls = [core_{}.get]", k + 1)
        } else {
            String::new()
        };
        let o = &mut self.out;
        let _ = writeln!(o, "service core_{k} {{\n  replicas = 3..10");
        match k % 3 {
            0 => o.push_str(
                "  balance = least_connections\n  health { interval = 5s  timeout = 1s }\n",
            ),
            1 => o.push_str("  instance = large\n  balance = least_response_time\n"),
            _ => {}
        }
        let _ = write!(
            o,
            r#"  endpoint get {{ route = "GET /items/:id"  work = 1ms  wait = 2ms  reads = [{read}]  timeout = 300ms }}
  endpoint search {{ route = "GET /items"  work = 3ms  wait = 6ms  reads = [db_{k}.items]{calls}  timeout = 2s }}
  endpoint create {{ route = "POST /items"  work = 3ms  writes = [db_{k}.items, db_{k}.audit]  publishes = [ev_{k}]  timeout = 2s }}
"#
        );
        if front_endpoints(k) > 3 {
            let _ = writeln!(
                o,
                r#"  endpoint remove {{ route = "DELETE /items/:id"  work = 2ms  writes = [db_{k}.items]  publishes = [ev_{k}]  timeout = 2s }}"#
            );
        }
        if core_consumes_prev(k) {
            let _ = writeln!(
                o,
                "  consumes prev {{ from = ev_{}  concurrency = {}  work = 2ms }}",
                k - 1,
                concurrency(k - 1)
            );
        }
        if !has_worker(k) {
            if k + 1 == self.units {
                let _ = writeln!(
                    o,
                    "  consumes own {{ from = ev_{k}  concurrency = {}  work = 2ms }}",
                    concurrency(k)
                );
            }
            let _ = writeln!(o, "  consumes parked {{ from = ev_{k}_dlq  work = 5ms }}");
        }
        o.push_str("}\n");
    }

    /// The background service of unit `k`: consumes `ev_k` and its dead letters; the job runs `reindex`.
    fn worker(&mut self, k: usize) {
        let _ = write!(
            self.out,
            r#"service wrk_{k} {{
  replicas = 2..4
  endpoint reindex {{ route = "POST /reindex"  rps = 1/s  work = 20ms  reads = [db_{k}.items]  writes = [db_{k}.audit]  timeout = 20m }}
  endpoint stats {{ route = "GET /stats"  rps = 2/s  work = 2ms  reads = [db_{k}.audit] }}
  consumes events {{ from = ev_{k}  concurrency = {c}  work = 3ms  batch = 20 }}
  consumes parked {{ from = ev_{k}_dlq  work = 5ms }}
}}
"#,
            c = concurrency(k),
        );
    }

    /// A cache in front of `db_k.items`, invalidated by the events its writers publish.
    fn cache(&mut self, k: usize) {
        let pattern = if k % 2 == 0 {
            "cache_aside"
        } else {
            "read_through"
        };
        let _ = write!(
            self.out,
            r#"cache cache_{k} {{
  source = db_{k}.items
  pattern = {pattern}
  keys = 1M  value = 1KB  popularity = zipf(0.9)
  layer memory {{ entries = 10k  size = 16MiB  ttl = 30s }}
  layer redis {{ nodes = 3  memory = 4GB  ttl = 5m }}
  invalidate {{ on = [ev_{k}] }}
}}
"#
        );
    }

    /// A sharded database: every key, unique index and query contains the shard key.
    fn database(&mut self, k: usize) {
        let engine = if k % 4 == 2 { "mysql" } else { "postgres" };
        let _ = write!(
            self.out,
            r#"database db_{k} {{
  engine = {engine}
  shards = {shards}
  shard_by = hash(tenant_id)
  replicas = 1
  pool = 5
  table items {{
    columns {{ tenant_id = bigint  item_id = bigint  sku = text  created_at = timestamptz }}
    key = [tenant_id, item_id]
    index recent {{ on = [tenant_id, created_at] }}
    index sku_once {{ on = [tenant_id, sku]  unique = true }}
    queries = ["by tenant_id order created_at"]
  }}
  table audit {{
    columns {{ tenant_id = bigint  item_id = bigint  at = timestamptz }}
    key = [tenant_id, item_id, at]
  }}
}}
"#,
            shards = shards(k),
        );
    }

    /// The event queue of unit `k` (retries, then its dead-letter queue).
    fn queues(&mut self, k: usize) {
        let _ = match engine(k) {
            "kafka" => write!(
                self.out,
                r#"queue ev_{k} {{
  engine = kafka
  partitions = 6
  key = item_id
  retry {{ attempts = 3  backoff = exponential(1s, max = 1m) }}
  dead_letter = ev_{k}_dlq
}}
queue ev_{k}_dlq {{ engine = kafka  partitions = 1  retry {{ attempts = 0 }} }}
"#
            ),
            other => write!(
                self.out,
                r#"queue ev_{k} {{ engine = {other}  retry {{ attempts = 4 }}  dead_letter = ev_{k}_dlq }}
queue ev_{k}_dlq {{ engine = {other}  retention = 14d  retry {{ attempts = 0 }} }}
"#
            ),
        };
    }

    /// The job of unit `k`: runs the worker's `reindex`, or publishes a periodic sweep event.
    fn job(&mut self, k: usize) {
        let (minute, hour) = (k * 7 % 60, k % 24);
        let _ = if has_worker(k) {
            writeln!(self.out, "job job_{k} {{ schedule = \"{minute} {hour} * * *\"  runs = wrk_{k}.reindex  timeout = 30m }}")
        } else if has_job(k) {
            writeln!(
                self.out,
                "job job_{k} {{ schedule = \"*/15 * * * *\"  publishes = ev_{k} }}"
            )
        } else {
            Ok(())
        };
    }
}

#[allow(dead_code)] // Unused where benches/check.rs includes this file as a module.
fn main() {
    let mut args = std::env::args().skip(1);
    let n = match (
        args.next().map(|a| a.replace('_', "").parse::<usize>()),
        args.next(),
    ) {
        (Some(Ok(n)), None) if n > 0 => n,
        _ => {
            eprintln!("usage: archc-synth N > program.arch   (N: about how many top-level components, > 0)");
            std::process::exit(2);
        }
    };
    let text = generate(n);
    eprintln!(
        "archc-synth: {} components, {} bytes",
        component_count(n),
        text.len()
    );
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}
