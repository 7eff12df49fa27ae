//! The plan's formulas held to published worked examples (to 0.5% unless the source gives
//! more digits), each run through `plan()` on a small program so that the engine's wiring
//! is tested, not just the formula modules. Expected values were recomputed with python3
//! from the textbook definitions; the source of each is cited above its test.

use std::path::Path;

use archc::load::{load, MemoryReader};
use archc::model::Program;
use archc::plan::catalogue::Catalogue;
use archc::plan::estimate::{plan, PlanOptions};
use archc::plan::report::{Plan, Trace};

fn program(text: &str) -> Program {
    let loaded = load(
        Path::new("t.arch"),
        text.to_string(),
        &MemoryReader::default(),
    );
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(
        errors.is_empty(),
        "the test program lowers cleanly: {errors:?}"
    );
    loaded.program
}

fn run_with(text: &str, catalogue: &Catalogue) -> Plan {
    match plan(&program(text), catalogue, &PlanOptions::default()) {
        Ok(p) => p,
        Err(e) => panic!("the test program plans: {e:?}"),
    }
}

fn run(text: &str) -> Plan {
    run_with(text, &Catalogue::builtin())
}

fn catalogue(extra: &str) -> Catalogue {
    Catalogue::builtin()
        .merged(extra)
        .unwrap_or_else(|e| panic!("test catalogue: {e}"))
}

fn within(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want.abs()
}

/// The leading number of a trace result such as `8184 ms` or `0.2387`.
fn traced(traces: &[Trace], figure: &str) -> f64 {
    let t = traces
        .iter()
        .find(|t| t.figure == figure)
        .unwrap_or_else(|| panic!("a `{figure}` trace"));
    let number: String = t
        .result
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    number.parse().unwrap_or(f64::NAN)
}

/// A trace input's leading number.
fn traced_input(traces: &[Trace], figure: &str, input: &str) -> f64 {
    let t = traces.iter().find(|t| t.figure == figure).expect("trace");
    let (_, v) = t.inputs.iter().find(|(k, _)| k == input).expect("input");
    let number: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().unwrap_or(f64::NAN)
}

// Erlang C, the call-centre worked example ("The Erlang-C formula", Mitan Ltd,
// www.mitan.co.uk/erlang/elgcmath.htm, reproduced in many call-centre staffing guides):
// 360 calls per 30 minutes, average handling time 240 s, 55 agents → traffic 48 Erlangs,
// probability of waiting 23.87% ("about 24%"), average speed of answer 8.18 s, 84.6%
// answered within 15 s. Here the agents are the 55 vCPUs of one instance (c = 55), a call
// is a request with work = 4 min: λ = 0.2/s, μ = 1/240 s.
const CALL_CENTRE: &str = r#"
    service agents {
      instance = agents55
      replicas = 1
      endpoint call { route = "POST /call"  rps = 720/h  work = 4m }
    }
"#;

fn call_centre_catalogue() -> Catalogue {
    catalogue("[instances.agents55]\nvcpu = 55\nmemory = \"64GB\"\nhourly = 1.0\n")
}

#[test]
fn erlang_c_probability_of_waiting_and_mean_wait_match_the_call_centre_example() {
    let p = run_with(CALL_CENTRE, &call_centre_catalogue());
    let s = &p.services[0];
    assert_eq!((s.instances, s.vcpu), (1, 55));
    // ρ = a / c = 48 / 55.
    assert!(
        within(s.utilization, 48.0 / 55.0, 1e-9),
        "{}",
        s.utilization
    );
    // C(55, 48) = 0.238700936 (python3, factorial definition); the source rounds to 24%.
    let c = traced_input(&s.traces, "mean_wait", "C(c, a)");
    assert!(within(c, 0.238_700_936, 0.005), "C = {c}");
    assert!(within(c, 0.24, 0.01), "C = {c}");
    // Wq = C / (cμ − λ) = 8.184032 s; the source prints 8.18 s.
    let wq_ms = traced(&s.traces, "mean_wait");
    assert!(within(wq_ms, 8_184.032, 0.005), "Wq = {wq_ms} ms");
}

// Waiting-time distribution of M/M/c: P(Wq > t) = C·e^{−(cμ−λ)t} (Kleinrock, Queueing
// Systems vol. 1, §3.5; the "service level" of the same Mitan example: 84.59% of calls wait
// at most 15 s). The response time T = Wq + S has the tail of plan-model §2; its quantiles
// for this example, solved with python3 by bisection on that tail: p50 175.604 s,
// p95 728.339 s, p99 1114.604 s.
#[test]
fn waiting_time_percentiles_follow_the_m_m_c_distribution() {
    use archc::plan::queueing::wait_exceed_probability;
    let service_level = 1.0 - wait_exceed_probability(55, 0.2, 1.0 / 240.0, 15.0);
    assert!(within(service_level, 0.845_883, 0.005), "{service_level}");
    let p = run_with(CALL_CENTRE, &call_centre_catalogue());
    let l = p.services[0].latency_ms;
    assert!(within(l.p50, 175_604.4, 0.005), "p50 {}", l.p50);
    assert!(within(l.p95, 728_338.7, 0.005), "p95 {}", l.p95);
    assert!(within(l.p99, 1_114_603.8, 0.005), "p99 {}", l.p99);
}

// M/M/1: the response time is exponential with rate μ − λ, so its p-quantile is
// −ln(1 − p)/(μ − λ) (Kleinrock vol. 1, §3.2). λ = 70/s, S = 10 ms: μ − λ = 30/s,
// p50 = ln 2 / 30 s = 23.105 ms, p99 = ln 100 / 30 s = 153.506 ms. The endpoint's `wait`
// (5 ms) is added on top.
#[test]
fn single_core_service_has_exponential_response_time() {
    let cat = catalogue("[instances.one]\nvcpu = 1\nmemory = \"1GB\"\nhourly = 0.01\n");
    let p = run_with(
        r#"service s { instance = one  replicas = 1
             endpoint e { route = "GET /"  rps = 70/s  work = 10ms  wait = 5ms } }"#,
        &cat,
    );
    let l = p.services[0].latency_ms;
    assert!(
        within(l.p50, 1000.0 * 2f64.ln() / 30.0 + 5.0, 0.005),
        "{l:?}"
    );
    assert!(
        within(l.p99, 1000.0 * 100f64.ln() / 30.0 + 5.0, 0.005),
        "{l:?}"
    );
    assert!(within(p.services[0].utilization, 0.7, 1e-9));
    // The route of a program without gateway is the entry endpoint: the same figures.
    assert_eq!(p.routes.len(), 1);
    assert!(within(p.routes[0].latency_ms.p99, l.p99, 1e-12));
}

// Instances at the target utilisation (plan-model §2): n = max(min, ⌈λ·S / (c·u)⌉). The
// call-centre load (48 busy cores) on 4-vCPU instances at 70% needs ⌈48 / 2.8⌉ = 18, and
// losing one of 3 zones needs ⌈18·3/2⌉ = 27. The autoscale maximum of 24 is reached at
// k = 24·4·0.7 / 48 = 1.4 × today's load.
#[test]
fn autoscaled_service_is_sized_at_its_target() {
    let p = run(r#"region r { zones = 3 }
           service s { instance = medium  replicas = 2..24  autoscale { cpu = 70% }
             endpoint e { route = "GET /"  rps = 720/h  work = 4m } }"#);
    let s = &p.services[0];
    assert_eq!(s.instances, 18);
    assert_eq!(s.instances_zone_down, 27);
    assert!(within(s.saturates_at.unwrap_or(0.0), 1.4, 1e-9));
    assert!(s.utilization < 0.7);
    // 18 × 0.1785 USD/h × 730 h (the AWS pricing calculator's month).
    assert!(within(s.monthly_cost, 18.0 * 0.1785 * 730.0, 1e-9));
    assert_eq!(
        p.bottlenecks.first().map(|b| b.component.as_str()),
        Some("s")
    );
}

// AWS Well-Architected Framework, Reliability Pillar, "Availability": hard dependencies
// multiply, 99.99% × 99.99% × 99.99% ≈ 99.97%. Here: a service, the database it reads and
// the region, each 99.99%, one instance each.
#[test]
fn hard_dependencies_multiply_as_in_aws_well_architected() {
    let p = run(r#"region r { availability = 99.99% }
           service s { replicas = 1  availability = 99.99%
             endpoint e { route = "GET /"  rps = 10/s  work = 1ms  reads = [db] } }
           database db { replicas = 0  availability = 99.99% }"#);
    assert!((p.routes[0].availability - 0.9997).abs() < 5e-6);
    assert!((p.availability.system - 0.9997).abs() < 5e-6);
}

// AWS Well-Architected, same section, redundant components: a 99.5% component with two
// spares (three in all) is available 1 − 0.005³ = 99.9999875%.
#[test]
fn redundant_replicas_as_in_aws_well_architected() {
    let p = run(r#"region r { availability = 99.99% }
           service s { replicas = 3  availability = 99.5%
             endpoint e { route = "GET /"  rps = 10/s  work = 1ms } }"#);
    let service = p.routes[0].availability / 0.9999;
    assert!((service - 0.999_999_875).abs() < 1e-12, "{service}");
}

// Azure Architecture Center / Microsoft Learn, "Composite SLAs": an App Service web app
// (99.95%) that uses Azure SQL Database (99.99%) has a composite SLA of 99.94%.
#[test]
fn composite_sla_as_in_azure_guidance() {
    let p = run(r#"region r { availability = 99.99% }
           service web { replicas = 1  availability = 99.95%
             endpoint e { route = "GET /"  rps = 10/s  work = 1ms  writes = [sql] } }
           database sql { replicas = 0  availability = 99.99% }"#);
    let composite = p.routes[0].availability / 0.9999;
    assert!((composite - 0.9994).abs() < 5e-6, "{composite}");
}

// Azure Architecture Center, SLA table (30-day month): 99.9% allows 43.2 minutes of
// downtime a month. AWS Well-Architected: two independent 99% stacks give 99.99% — the hot
// standby region of plan-model §6.
#[test]
fn downtime_and_hot_standby_match_the_published_tables() {
    let p = run("system s { regions = [r] }\nregion r { availability = 99.9% }");
    assert!(within(
        p.availability.downtime_per_month_s,
        43.2 * 60.0,
        1e-9
    ));
    let hot = run(
        r#"system s { regions = [a, b]  dr { strategy = hot  region = b  rpo = 1m  rto = 5m } }
           region a { availability = 99% }
           region b { availability = 99% }"#,
    );
    assert!((hot.availability.system - 0.9999).abs() < 1e-12);
}

// The ideal-cache hit ratio under Zipf(s) popularity, H(k, s) / H(N, s) (Breslau, Cao,
// Fan, Phillips, Shenker, "Web Caching and Zipf-like Distributions: Evidence and
// Implications", IEEE INFOCOM 1999, §3). python3 sums: N = 1000, k = 100, s = 1:
// 0.692992814; N = 10M, k = 100k, s = 0.9: 0.545427298. The capacity comes from the redis
// layer's memory: memory / (value + 80 B overhead).
#[test]
fn zipf_hit_ratio_of_an_ideal_cache() {
    let p = run(
        r#"cache small { keys = 1000  value = 920B  popularity = zipf(1)
             layer redis { memory = 100KB  ttl = 1h } }
           cache large { keys = 10M  value = 920B  popularity = zipf(0.9)
             layer memory { entries = 1000  ttl = 1s }
             layer redis { memory = 100MB  ttl = 1h } }"#,
    );
    assert!(within(p.caches[0].hit_ratio, 0.692_992_814, 0.005));
    assert!(within(p.caches[0].hit_ratio, 0.692_992_814, 1e-9));
    assert!(within(p.caches[1].hit_ratio, 0.545_427_298, 0.005));
    // Memory = entries × (value + overhead): 100 000 × 1000 B.
    assert!(within(p.caches[1].memory_bytes, 1e8, 1e-12));
}

// Kafka partition count (Confluent, Jun Rao, "How to choose the number of topics/partitions
// in a Kafka cluster?", 2015): partitions = max(t/p, t/c) for a target throughput t, a
// producer throughput p per partition and a consumer throughput c. Its example: to read
// 1 GB/s with consumers that each process 50 MB/s you need at least 20 partitions.
// Here 1000 messages/s of 1 MB; p = 100 MB/s (so t/p = 10); a consumer takes 10 ms per
// message at a 50% target, 50 MB/s each (t/c = 20).
#[test]
fn kafka_partitions_follow_confluents_rule() {
    let cat = catalogue("[defaults]\npartition_throughput = \"100MB\"\n");
    let p = run_with(
        r#"queue events { engine = kafka  partitions = 1  rate = 1000/s  size = 1MB }
           service readers { replicas = 1..100  autoscale { cpu = 50% }
             consumes c { from = events  concurrency = 40  work = 10ms } }"#,
        &cat,
    );
    let q = &p.queues[0];
    assert_eq!(q.consumers_needed, 20);
    assert_eq!(q.partitions_needed, 20);
    // The brief's example: 100 MB/s at 10 MB/s per partition (the catalogue default) → 10.
    let p = run("queue events { engine = kafka  partitions = 1  rate = 100/s  size = 1MB }");
    assert_eq!(p.queues[0].partitions_needed, 10);
    // Storage = bytes/s × retention × replication: 100 MB/s × 7 d × 3.
    assert!(within(
        p.queues[0].storage_bytes,
        1e8 * 7.0 * 86_400.0 * 3.0,
        1e-12
    ));
}

// Databases (plan-model §4), by hand: 5000 writes/s on db_medium (1500/s per node at 70%)
// need ⌈5000 / 1050⌉ = 5 shards; 60 000 reads/s over 5 shards is 12 000 per shard, and a
// node serves 8000 × 70% = 5600, so ⌈12 000 / 5600⌉ − 1 = 2 replicas. Storage 1 TB growing
// 100 GB a 30-day month is 2.2 TB after 12 months.
#[test]
fn database_shards_replicas_and_storage_by_hand() {
    let p = run(r#"system s { traffic { peak = 1k/s  horizon = 12mo } }
           database db { instance = db_medium  shards = 2  replicas = 1
             reads = 60k/s  writes = 5k/s  storage = 1TB  growth = 100GB/mo }"#);
    let d = &p.databases[0];
    assert_eq!((d.shards_needed, d.replicas_needed), (5, 2));
    assert!(within(d.storage_bytes_at_horizon, 2.2e12, 1e-12));
    // 5 shards × 3 nodes × 0.225 USD/h × 730 h, plus 1 TB stored 3 times at 0.08 USD/GB-month.
    let want = 15.0 * 0.225 * 730.0 + 3000.0 * 0.08;
    assert!(within(d.monthly_cost, want, 1e-9), "{}", d.monthly_cost);
    // The declared 2 shards reach their write ceiling at 2·1500·0.7 / 5000 = 0.42×, and
    // with 1 replica their read ceiling at 2·(1 + 1)·8000·0.7 / 60 000 = 0.3733×: the smaller.
    let b = p.bottlenecks.first().expect("a bottleneck");
    assert_eq!(b.component, "db");
    assert!(within(b.saturates_at, 22_400.0 / 60_000.0, 1e-12), "{b:?}");
}

// plan-model §2: with fixed `replicas`, n is that figure and ρ ≥ 1 shows in the report. The
// queue is unstable (Kleinrock vol. 1, §3.5: M/M/c needs λ < cμ), so latency is unbounded:
// f64::INFINITY in the plan, `null` in the JSON (serde_json writes no infinity).
#[test]
fn fixed_replicas_past_capacity_report_full_utilisation_and_null_latency() {
    let p = run(r#"service s { instance = small  replicas = 2
             endpoint e { route = "GET /"  rps = 1000/s  work = 5ms } }"#);
    let s = &p.services[0];
    // 5 busy cores on 2 × 2 vCPU: ρ = 1.25.
    assert!(within(s.utilization, 1.25, 1e-12));
    assert!(s.latency_ms.p99.is_infinite());
    assert!(s.saturates_at.is_some_and(|k| k < 1.0));
    assert!(p.routes[0].latency_ms.p99.is_infinite());
    let json = serde_json::to_value(p.clone().without_traces()).expect("serialises");
    assert!(json["services"][0]["latency_ms"]["p99"].is_null());
    assert!(p.assumptions.iter().any(|a| a.starts_with("saturated")));
}

// Compound growth (the compound-interest formula P·(1 + g)^m): 8% a month for 18 months is
// 1.08^18 = 3.99602 × today's peak. Each month of the horizon is the whole estimate re-run
// at that month's peak, so without storage growth its cost is the plan at that multiple.
#[test]
fn the_horizon_compounds_growth_and_re_sizes_every_month() {
    use archc::plan::estimate::plan_scaled;
    let text = r#"system s { traffic { peak = 10k/s  growth = 8%/mo  horizon = 18mo } }
        gateway g { replicas = 2..50  route "/*" { to = api } }
        service api { instance = medium  replicas = 2..100  autoscale { cpu = 60% }
          endpoint e { route = "GET /x"  share = 100%  work = 2ms } }"#;
    let p = run(text);
    assert_eq!(p.horizon.len(), 19);
    let last = &p.horizon[18];
    assert!(
        within(last.peak_rps, 10_000.0 * 3.996_019_6, 1e-6),
        "{}",
        last.peak_rps
    );
    for m in [0usize, 7, 18] {
        let k = 1.08f64.powi(m as i32);
        let at_k = plan_scaled(
            &program(text),
            &Catalogue::builtin(),
            &PlanOptions::default(),
            k,
        )
        .expect("plans");
        assert!(within(
            p.horizon[m].monthly_cost,
            at_k.cost.monthly_total,
            1e-9
        ));
    }
    // 20 busy cores at 4 vCPU × 60%: ⌈8.33⌉ = 9 today; ⌈33.3⌉ = 34 in month 18.
    assert_eq!(p.services[0].instances, 9);
    assert!(p.horizon[18].monthly_cost > p.horizon[0].monthly_cost * 3.0);
}

// A CDN's delivery is priced per GB at the catalogue's `cdn_gb` (Amazon CloudFront,
// 0.085 USD per GB for the first 10 TB): 40 TB a month is 40 000 GB × 0.085 = 3400 USD.
#[test]
fn cdn_egress_is_priced_per_gb() {
    let p = run(r#"gateway g { route "/*" { to = web } }
           service web { endpoint e { route = "GET /x"  rps = 1/s  work = 1ms } }
           cdn c { origin = g  egress = 40TB/mo }"#);
    let line = p
        .cost
        .by_component
        .iter()
        .find(|l| l.name == "c")
        .expect("a cdn line");
    assert_eq!(line.kind, "cdn");
    assert!(within(line.monthly, 3400.0, 1e-9));
}
