//! Load applied to a program (`plan-model.md` §1–§3): the request rate of every endpoint,
//! service, gateway route, cache, database and queue at the system peak, and the instances
//! each service needs at its target utilisation.
//!
//! - An endpoint's own (entry) load is its `rps`, else `share × system.traffic.peak`, else 0.
//! - A synchronous call (`calls` on the endpoint, or on its service: "made by every endpoint")
//!   adds the caller's whole load to the callee. The propagation walks every call path from
//!   each loaded endpoint, never revisiting an endpoint already on the current path, so a
//!   call cycle (reported by A604) adds each hop once instead of looping; paths are also
//!   bounded in depth ([`MAX_CALL_DEPTH`]) and in total steps.
//! - A service's load is the sum over its endpoints; its `work` and `wait` are the
//!   traffic-weighted means (the plain means when it carries no load).
//! - Reads through a cache reach its source at λ × (1 − hit ratio); writes reach it fully. The
//!   hit ratio is the declared `hit_ratio`, else the ideal-cache estimate of §3 from
//!   `popularity`, `keys` and the layers' capacity, else 0.
//! - A database's declared `reads`/`writes` replace the derived figure; so does a queue's
//!   declared `rate`.
//! - Instances needed (§2): max(min replicas, ⌈λ·S / (vCPU · u)⌉) with the instance class's
//!   vCPU from the catalogue and u = `autoscale.cpu`, else the catalogue's default target.
//!
//! Pure and deterministic (every map is a `BTreeMap`); unresolved references are skipped.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Cache, CacheLayer, Endpoint, Gateway, LayerKind, Program, Service};
use crate::plan::cache_model::zipf_hit_ratio;
use crate::plan::catalogue::Catalogue;
use crate::plan::queueing::instances_needed;

/// Longest synchronous call path followed when propagating load.
pub const MAX_CALL_DEPTH: usize = 32;

/// Upper bound on call-path steps walked in total (guards against pathological graphs).
const MAX_STEPS: usize = 200_000;

/// The load of every part of a program at the system peak, requests per second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loads {
    /// Total load per endpoint (`service.endpoint`): its own plus what callers add.
    pub endpoints: BTreeMap<String, f64>,
    /// Own (entry) load per endpoint: `rps`, or `share × peak`, or 0.
    pub entry: BTreeMap<String, f64>,
    /// Per service.
    pub services: BTreeMap<String, ServiceLoad>,
    /// Per gateway route, in declaration order (gateways, then routes).
    pub routes: Vec<RouteLoad>,
    /// Per cache.
    pub caches: BTreeMap<String, CacheLoad>,
    /// Per database.
    pub databases: BTreeMap<String, DatabaseLoad>,
    /// Publish rate per queue, messages per second (the declared `rate` when given).
    pub queues: BTreeMap<String, f64>,
}

/// A service's load and the instances it needs (§2).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLoad {
    /// λₛ: Σ of its endpoints' total loads, requests per second.
    pub load_rps: f64,
    /// S: traffic-weighted mean `work`, milliseconds.
    pub work_ms: f64,
    /// Traffic-weighted mean `wait`, milliseconds.
    pub wait_ms: f64,
    /// CPU cores kept busy at peak: λₛ · S.
    pub busy_cores: f64,
    /// The instance class named by `instance`.
    pub instance: String,
    /// Its vCPU count; None when the class is not in the catalogue.
    pub vcpu: Option<u32>,
    /// Target utilisation u as a fraction (0.7).
    pub target_utilization: f64,
    /// True when u is the catalogue's default (the service has no `autoscale` block).
    pub target_is_default: bool,
    /// n = max(min replicas, ⌈λ·S / (c·u)⌉); None when vCPU is unknown or u ≤ 0.
    pub instances_needed: Option<u32>,
}

/// The load arriving through one gateway route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteLoad {
    pub gateway: String,
    /// The route's pattern as written (`GET /api/users/:id`).
    pub route: String,
    /// Index of the route in its gateway.
    pub index: usize,
    /// The service it forwards to (None for a CDN or an unresolved target).
    pub service: Option<String>,
    /// Endpoints (`service.endpoint`) whose requests this route is the first to match.
    pub endpoints: Vec<String>,
    /// Σ of those endpoints' entry loads (split evenly when several gateways route one).
    pub load_rps: f64,
}

/// Reads arriving at a cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheLoad {
    /// Reads per second that look the cache up.
    pub reads_rps: f64,
    /// Writes per second through it.
    pub writes_rps: f64,
    /// Hit ratio used (fraction); 0 when neither declared nor estimable.
    pub hit_ratio: f64,
    /// Reads per second that miss and reach the source: reads × (1 − hit ratio).
    pub misses_rps: f64,
}

/// Reads and writes arriving at a database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatabaseLoad {
    pub reads_rps: f64,
    pub writes_rps: f64,
    /// True when `reads` is declared on the database (it replaces the derived figure).
    pub reads_declared: bool,
    /// True when `writes` is declared on the database.
    pub writes_declared: bool,
}

/// Computes the load of every component of `program` at its peak.
pub fn compute(program: &Program, catalogue: &Catalogue) -> Loads {
    let entry = entry_loads(program);
    let edges = call_edges(program);
    let endpoints = propagate(&entry, &edges);
    let mut loads = Loads {
        services: program
            .services
            .iter()
            .map(|s| (s.name.value.clone(), service_load(s, &endpoints, catalogue)))
            .collect(),
        routes: route_loads(program, &entry),
        ..Loads::default()
    };
    data_loads(program, catalogue, &endpoints, &mut loads);
    loads.entry = entry;
    loads.endpoints = endpoints;
    loads
}

/// `service.endpoint`, the key of an endpoint in [`Loads`].
pub fn endpoint_key(service: &Service, endpoint: &Endpoint) -> String {
    format!("{}.{}", service.name.value, endpoint.name.value)
}

/// An endpoint's own load: `rps`, else `share × peak`, else 0.
pub fn entry_load(endpoint: &Endpoint, peak_rps: Option<f64>) -> f64 {
    let own = match (&endpoint.rps, &endpoint.share, peak_rps) {
        (Some(rps), _, _) => rps.per_second(),
        (None, Some(share), Some(peak)) => share.fraction() * peak,
        _ => 0.0,
    };
    if own.is_finite() && own > 0.0 {
        own
    } else {
        0.0
    }
}

fn entry_loads(program: &Program) -> BTreeMap<String, f64> {
    let peak = program.peak_rps();
    program
        .services
        .iter()
        .flat_map(|s| {
            s.endpoints
                .iter()
                .map(move |e| (endpoint_key(s, e), entry_load(e, peak)))
        })
        .collect()
}

/// The synchronous call graph: each endpoint (`service.endpoint`) to the endpoints it calls
/// (its own `calls` and its service's), deduplicated, unresolved targets dropped.
pub fn call_edges(program: &Program) -> BTreeMap<String, Vec<String>> {
    let mut edges = BTreeMap::new();
    for s in &program.services {
        for e in &s.endpoints {
            let mut callees: Vec<String> = Vec::new();
            for path in e.calls.iter().chain(&s.calls) {
                if let Some((cs, ce)) = program.endpoint(path) {
                    let key = endpoint_key(cs, ce);
                    if !callees.contains(&key) {
                        callees.push(key);
                    }
                }
            }
            edges.insert(endpoint_key(s, e), callees);
        }
    }
    edges
}

/// Every endpoint reachable from `start` by synchronous calls, `start` included.
pub fn reachable(start: &[String], edges: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = start.to_vec();
    while let Some(n) = stack.pop() {
        if seen.insert(n.clone()) {
            if let Some(next) = edges.get(&n) {
                stack.extend(next.iter().filter(|m| !seen.contains(*m)).cloned());
            }
        }
    }
    seen
}

fn propagate(
    entry: &BTreeMap<String, f64>,
    edges: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, f64> {
    if let Some(total) = propagate_acyclic(entry, edges) {
        return total;
    }
    let mut total = entry.clone();
    let mut budget = MAX_STEPS;
    for (source, &own) in entry {
        if own > 0.0 {
            let mut path = vec![source.clone()];
            push_load(source, own, edges, &mut path, &mut total, &mut budget);
        }
    }
    total
}

/// Load along an acyclic call graph in one pass over a topological order: an endpoint's
/// total is its own load plus the totals of its callers — the same figure as pushing every
/// source's load along every path, in O(V + E). None when the graph has a cycle (A604).
fn propagate_acyclic(
    entry: &BTreeMap<String, f64>,
    edges: &BTreeMap<String, Vec<String>>,
) -> Option<BTreeMap<String, f64>> {
    let mut indegree: BTreeMap<&str, usize> = edges.keys().map(|k| (k.as_str(), 0)).collect();
    for callees in edges.values() {
        for c in callees {
            *indegree.entry(c.as_str()).or_insert(0) += 1;
        }
    }
    let mut ready: Vec<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut total = entry.clone();
    let mut done = 0;
    while let Some(node) = ready.pop() {
        done += 1;
        let here = total.get(node).copied().unwrap_or(0.0);
        for callee in edges.get(node).into_iter().flatten() {
            if here != 0.0 {
                *total.entry(callee.clone()).or_insert(0.0) += here;
            }
            if let Some(d) = indegree.get_mut(callee.as_str()) {
                *d -= 1;
                if *d == 0 {
                    ready.push(callee.as_str());
                }
            }
        }
    }
    (done == indegree.len()).then_some(total)
}

fn push_load(
    node: &str,
    amount: f64,
    edges: &BTreeMap<String, Vec<String>>,
    path: &mut Vec<String>,
    total: &mut BTreeMap<String, f64>,
    budget: &mut usize,
) {
    let Some(callees) = edges.get(node) else {
        return;
    };
    for callee in callees {
        if path.contains(callee) || path.len() > MAX_CALL_DEPTH || *budget == 0 {
            continue;
        }
        *budget -= 1;
        *total.entry(callee.clone()).or_insert(0.0) += amount;
        path.push(callee.clone());
        push_load(callee, amount, edges, path, total, budget);
        path.pop();
    }
}

fn service_load(
    s: &Service,
    endpoints: &BTreeMap<String, f64>,
    catalogue: &Catalogue,
) -> ServiceLoad {
    let loaded: Vec<(f64, &Endpoint)> = s
        .endpoints
        .iter()
        .map(|e| {
            (
                endpoints.get(&endpoint_key(s, e)).copied().unwrap_or(0.0),
                e,
            )
        })
        .collect();
    let load_rps: f64 = loaded.iter().map(|(l, _)| l).sum();
    let with_work: Vec<(f64, f64)> = loaded
        .iter()
        .filter_map(|(l, e)| e.work.as_ref().map(|w| (*l, w.value.0)))
        .collect();
    let waits: Vec<(f64, f64)> = loaded.iter().map(|(l, e)| (*l, e.wait.value.0)).collect();
    let work_ms = weighted(&with_work);
    let carried: f64 = with_work.iter().map(|(l, _)| l).sum();
    let (target_utilization, target_is_default) =
        match s.autoscale.as_ref().and_then(|a| a.cpu.as_ref()) {
            Some(cpu) => (cpu.value / 100.0, false),
            None => (catalogue.defaults.target_utilization / 100.0, true),
        };
    let vcpu = catalogue.instance(&s.instance.value).map(|c| c.vcpu);
    let busy_cores = carried * work_ms / 1000.0;
    let instances_needed = vcpu.filter(|_| target_utilization > 0.0).map(|c| {
        instances_needed(
            carried,
            work_ms / 1000.0,
            c,
            target_utilization,
            s.replicas.value.min,
        )
    });
    ServiceLoad {
        load_rps,
        work_ms,
        wait_ms: weighted(&waits),
        busy_cores,
        instance: s.instance.value.clone(),
        vcpu,
        target_utilization,
        target_is_default,
        instances_needed,
    }
}

/// Σ wᵢ·xᵢ / Σ wᵢ over `(weight, value)` pairs; the plain mean when no weight is positive.
fn weighted(pairs: &[(f64, f64)]) -> f64 {
    if pairs.is_empty() {
        return 0.0;
    }
    let total: f64 = pairs.iter().map(|(w, _)| w.max(0.0)).sum();
    if total > 0.0 {
        pairs.iter().map(|(w, x)| w.max(0.0) * x).sum::<f64>() / total
    } else {
        pairs.iter().map(|(_, x)| x).sum::<f64>() / pairs.len() as f64
    }
}

/// The first route of `gateway` that matches the endpoint's route pattern and forwards to
/// its service, if any (routes match in declaration order).
pub fn route_of(gateway: &Gateway, service: &Service, endpoint: &Endpoint) -> Option<usize> {
    let http = endpoint.http.as_ref()?;
    let first = gateway.routes.iter().position(|r| r.http.covers(http))?;
    let route = gateway.routes.get(first)?;
    (route.to.as_ref()?.name == service.name.value).then_some(first)
}

/// A gateway's routes by first path segment, so finding the route an endpoint takes only
/// compares the routes that could match (the same answer as [`route_of`]).
struct RouteIndex<'g> {
    by_segment: std::collections::HashMap<&'g str, Vec<usize>>,
    /// Routes whose first segment is a parameter or a wildcard: they may match anything.
    open: Vec<usize>,
}

fn first_segment(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

impl<'g> RouteIndex<'g> {
    fn new(gateway: &'g Gateway) -> Self {
        let mut index = RouteIndex {
            by_segment: Default::default(),
            open: Vec::new(),
        };
        for (i, r) in gateway.routes.iter().enumerate() {
            let first = first_segment(&r.http.path);
            if first.starts_with(':') || first == "*" || first.is_empty() {
                index.open.push(i);
            } else {
                index.by_segment.entry(first).or_default().push(i);
            }
        }
        index
    }

    fn route_of(&self, gateway: &Gateway, service: &Service, endpoint: &Endpoint) -> Option<usize> {
        let http = endpoint.http.as_ref()?;
        let literal = self
            .by_segment
            .get(first_segment(&http.path))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut candidates: Vec<usize> = literal.iter().chain(&self.open).copied().collect();
        candidates.sort_unstable();
        let first = candidates
            .into_iter()
            .find(|&i| gateway.routes.get(i).is_some_and(|r| r.http.covers(http)))?;
        let route = gateway.routes.get(first)?;
        (route.to.as_ref()?.name == service.name.value).then_some(first)
    }
}

fn route_loads(program: &Program, entry: &BTreeMap<String, f64>) -> Vec<RouteLoad> {
    let mut routes: Vec<RouteLoad> = Vec::new();
    let mut offsets = Vec::new();
    for g in &program.gateways {
        offsets.push(routes.len());
        for (index, r) in g.routes.iter().enumerate() {
            let service =
                r.to.as_ref()
                    .filter(|t| program.service(&t.name).is_some())
                    .map(|t| t.name.clone());
            routes.push(RouteLoad {
                gateway: g.name.value.clone(),
                route: r.pattern.value.clone(),
                index,
                service,
                endpoints: Vec::new(),
                load_rps: 0.0,
            });
        }
    }
    let indexes: Vec<RouteIndex> = program.gateways.iter().map(RouteIndex::new).collect();
    // Only a gateway with a route to the service can send it an endpoint's traffic.
    let mut gateways_of: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (gi, g) in program.gateways.iter().enumerate() {
        for r in &g.routes {
            if let Some(to) = &r.to {
                let list = gateways_of.entry(to.name.as_str()).or_default();
                if list.last() != Some(&gi) {
                    list.push(gi);
                }
            }
        }
    }
    for s in &program.services {
        let candidates = gateways_of
            .get(s.name.value.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for e in &s.endpoints {
            let key = endpoint_key(s, e);
            let hits: Vec<usize> = candidates
                .iter()
                .filter_map(|&gi| {
                    let (g, index, offset) = (
                        program.gateways.get(gi)?,
                        indexes.get(gi)?,
                        offsets.get(gi)?,
                    );
                    index.route_of(g, s, e).map(|i| offset + i)
                })
                .collect();
            let share = entry.get(&key).copied().unwrap_or(0.0) / hits.len().max(1) as f64;
            for i in hits {
                if let Some(r) = routes.get_mut(i) {
                    r.endpoints.push(key.clone());
                    r.load_rps += share;
                }
            }
        }
    }
    routes
}

fn data_loads(
    program: &Program,
    catalogue: &Catalogue,
    endpoints: &BTreeMap<String, f64>,
    loads: &mut Loads,
) {
    let mut db_reads: BTreeMap<String, f64> = BTreeMap::new();
    let mut db_writes: BTreeMap<String, f64> = BTreeMap::new();
    let mut cache_reads: BTreeMap<String, f64> = BTreeMap::new();
    let mut cache_writes: BTreeMap<String, f64> = BTreeMap::new();
    let mut publishes: BTreeMap<String, f64> = BTreeMap::new();
    for s in &program.services {
        for e in &s.endpoints {
            let l = endpoints.get(&endpoint_key(s, e)).copied().unwrap_or(0.0);
            for t in &e.reads {
                let bucket = if program.cache(t.component()).is_some() {
                    &mut cache_reads
                } else {
                    &mut db_reads
                };
                *bucket.entry(t.component().to_string()).or_insert(0.0) += l;
            }
            for t in &e.writes {
                let bucket = if program.cache(t.component()).is_some() {
                    &mut cache_writes
                } else {
                    &mut db_writes
                };
                *bucket.entry(t.component().to_string()).or_insert(0.0) += l;
            }
            for q in &e.publishes {
                *publishes.entry(q.name.clone()).or_insert(0.0) += l;
            }
        }
    }
    for c in &program.caches {
        let reads_rps = cache_reads.get(&c.name.value).copied().unwrap_or(0.0);
        let writes_rps = cache_writes.get(&c.name.value).copied().unwrap_or(0.0);
        let hit_ratio = cache_hit_ratio(c, catalogue).unwrap_or(0.0);
        let misses_rps = reads_rps * (1.0 - hit_ratio);
        if let Some(db) = c.source_database() {
            *db_reads.entry(db.to_string()).or_insert(0.0) += misses_rps;
            *db_writes.entry(db.to_string()).or_insert(0.0) += writes_rps;
        }
        loads.caches.insert(
            c.name.value.clone(),
            CacheLoad {
                reads_rps,
                writes_rps,
                hit_ratio,
                misses_rps,
            },
        );
    }
    for d in &program.databases {
        let derived_reads = db_reads.get(&d.name.value).copied().unwrap_or(0.0);
        let derived_writes = db_writes.get(&d.name.value).copied().unwrap_or(0.0);
        loads.databases.insert(
            d.name.value.clone(),
            DatabaseLoad {
                reads_rps: d
                    .reads
                    .as_ref()
                    .map(|r| r.per_second())
                    .unwrap_or(derived_reads),
                writes_rps: d
                    .writes
                    .as_ref()
                    .map(|w| w.per_second())
                    .unwrap_or(derived_writes),
                reads_declared: d.reads.is_some(),
                writes_declared: d.writes.is_some(),
            },
        );
    }
    for q in &program.queues {
        let derived = publishes.get(&q.name.value).copied().unwrap_or(0.0);
        loads.queues.insert(
            q.name.value.clone(),
            q.rate.as_ref().map(|r| r.per_second()).unwrap_or(derived),
        );
    }
}

/// Bytes one cached entry takes: the cache's `value` plus the catalogue's `entry_overhead`;
/// None when `value` is not declared.
pub fn entry_bytes(cache: &Cache, catalogue: &Catalogue) -> Option<f64> {
    cache
        .value
        .as_ref()
        .map(|v| v.value.0 + catalogue.defaults.entry_overhead_bytes)
}

/// Entries one layer holds (§3): its `entries`, capped for a `redis` layer by
/// `memory / (value + entry_overhead)`; without `entries`, that quotient (`memory` for
/// redis, `size` for memory layers). None when the layer states no bound (it holds every key).
pub fn layer_capacity_entries(
    cache: &Cache,
    layer: &CacheLayer,
    catalogue: &Catalogue,
) -> Option<f64> {
    let budget = match layer.kind.value {
        LayerKind::Redis => layer.memory.as_ref(),
        LayerKind::Memory => layer.size.as_ref(),
    };
    let by_bytes = match (budget, entry_bytes(cache, catalogue)) {
        (Some(b), Some(per)) if per > 0.0 => Some((b.value.0 / per).floor()),
        _ => None,
    };
    let declared = layer.entries.as_ref().map(|e| f64::from(e.value));
    match (declared, by_bytes) {
        (Some(d), Some(b)) if layer.kind.value == LayerKind::Redis => Some(d.min(b)),
        (Some(d), _) => Some(d),
        (None, b) => b,
    }
}

/// Entries the cache holds (§3, inclusive layers: the largest layer); None when some layer
/// has no bound or the cache has no layer.
pub fn cache_capacity_entries(cache: &Cache, catalogue: &Catalogue) -> Option<f64> {
    let per_layer: Option<Vec<f64>> = cache
        .layers
        .iter()
        .map(|l| layer_capacity_entries(cache, l, catalogue))
        .collect();
    per_layer?.into_iter().reduce(f64::max)
}

/// The ideal-cache hit ratio (§3) from `popularity = zipf(s)`, `keys` and the layers'
/// capacity (every key when a layer states no bound); None when one of those is missing.
pub fn estimated_hit_ratio(cache: &Cache, catalogue: &Catalogue) -> Option<f64> {
    let s = cache.popularity.as_ref()?.value;
    let keys = f64::from(cache.keys.as_ref()?.value);
    if cache.layers.is_empty() {
        return None;
    }
    let capacity = cache_capacity_entries(cache, catalogue).unwrap_or(keys);
    Some(zipf_hit_ratio(capacity, keys, s)).filter(|h| h.is_finite())
}

/// The hit ratio of a cache as a fraction: the declared `hit_ratio`, else the ideal-cache
/// estimate; None when neither is available.
pub fn cache_hit_ratio(cache: &Cache, catalogue: &Catalogue) -> Option<f64> {
    match &cache.hit_ratio {
        Some(h) => Some(h.value.fraction().clamp(0.0, 1.0)),
        None => estimated_hit_ratio(cache, catalogue),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(text: &str) -> Program {
        crate::load::load_text(text).program
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    const CHAIN: &str = r#"
        system s { traffic { peak = 1000/s } }
        service front {
          instance = small
          endpoint home { route = "GET /"      share = 60%  work = 10ms  calls = [back.get] }
          endpoint buy  { route = "POST /buy"  rps = 100/s  work = 20ms  wait = 30ms  calls = [back.get, back.put] }
        }
        service back {
          replicas = 2..10
          autoscale { cpu = 50% }
          endpoint get { route = "GET /x"  work = 4ms  reads = [items]  calls = [front.home] }
          endpoint put { route = "PUT /x"  work = 8ms  writes = [db.t]  publishes = [events] }
        }
        cache items { source = db  hit_ratio = 90%  layer memory { entries = 10  ttl = 1m } }
        database db { table t { columns { id = bigint } } }
        queue events { }
    "#;

    #[test]
    fn endpoint_loads_propagate_along_calls_once_per_path() {
        let loads = compute(&program(CHAIN), &Catalogue::builtin());
        // home: 60% of 1000 = 600 own; buy: 100 own.
        assert!(close(loads.entry["front.home"], 600.0));
        assert!(close(loads.entry["front.buy"], 100.0));
        // back.get is called by home (600) and buy (100): 700. Its call back to home is a
        // cycle: home → get → home is cut, but buy → get → home adds 100 to home.
        assert!(close(loads.endpoints["back.get"], 700.0));
        assert!(close(loads.endpoints["front.home"], 700.0));
        assert!(close(loads.endpoints["back.put"], 100.0));
        assert!(close(loads.endpoints["front.buy"], 100.0));
    }

    #[test]
    fn service_load_weights_work_by_traffic_and_sizes_instances() {
        let loads = compute(&program(CHAIN), &Catalogue::builtin());
        let front = &loads.services["front"];
        // 700 rps at 10ms and 100 rps at 20ms: S = (7000 + 2000)/800 = 11.25 ms.
        assert!(close(front.load_rps, 800.0));
        assert!(close(front.work_ms, 11.25));
        // wait: (700·0 + 100·30)/800 = 3.75 ms.
        assert!(close(front.wait_ms, 3.75));
        // 9 busy cores on small (2 vCPU) at the default 70%: ⌈9 / 1.4⌉ = 7.
        assert!(close(front.busy_cores, 9.0));
        assert_eq!(front.vcpu, Some(2));
        assert!(front.target_is_default);
        assert_eq!(front.instances_needed, Some(7));
        let back = &loads.services["back"];
        // 700 × 4ms + 100 × 8ms = 3.6 cores on medium (4 vCPU) at 50%: ⌈3.6 / 2⌉ = 2.
        assert!(close(back.busy_cores, 3.6));
        assert!(close(back.target_utilization, 0.5));
        assert_eq!(back.instances_needed, Some(2));
    }

    #[test]
    fn cache_misses_and_writes_reach_the_source() {
        let loads = compute(&program(CHAIN), &Catalogue::builtin());
        let items = &loads.caches["items"];
        assert!(close(items.reads_rps, 700.0));
        assert!(close(items.hit_ratio, 0.9));
        assert!(close(items.misses_rps, 70.0));
        let db = &loads.databases["db"];
        assert!(close(db.reads_rps, 70.0));
        assert!(close(db.writes_rps, 100.0));
        assert!(close(loads.queues["events"], 100.0));
    }

    #[test]
    fn routes_take_the_entry_load_of_the_endpoints_they_match_first() {
        let text = r#"
            system s { traffic { peak = 1000/s } }
            gateway a {
              route "GET /api/users/:id" { to = users }
              route "/api/*" { to = users }
            }
            gateway b { route "/api/*" { to = users } }
            service users {
              endpoint get  { route = "GET /api/users/:id"  share = 80%  work = 1ms }
              endpoint post { route = "POST /api/users"     share = 20%  work = 1ms }
            }
        "#;
        let loads = compute(&program(text), &Catalogue::builtin());
        // get: only gateway a's first route, and gateway b: 800 split in two.
        // post: a's second route and b's route: 200 split in two.
        let by = |g: &str, i: usize| {
            loads
                .routes
                .iter()
                .find(|r| r.gateway == g && r.index == i)
                .map(|r| r.load_rps)
        };
        assert_eq!(by("a", 0), Some(400.0));
        assert_eq!(by("a", 1), Some(100.0));
        assert_eq!(by("b", 0), Some(500.0));
    }

    #[test]
    fn zipf_estimate_uses_the_largest_layer() {
        let text = r#"
            cache c {
              keys = 1000  value = 920B  popularity = zipf(1)
              layer memory { entries = 10  ttl = 1m }
              layer redis  { memory = 100KB  ttl = 1h }
            }
        "#;
        let p = program(text);
        let cat = Catalogue::builtin();
        let c = &p.caches[0];
        // redis: 100 000 B / (920 + 80) B = 100 entries; the largest layer holds 100.
        assert_eq!(cache_capacity_entries(c, &cat), Some(100.0));
        // H(100)/H(1000) = 5.187377517639621 / 7.485470860550345.
        let h = cache_hit_ratio(c, &cat).unwrap_or(0.0);
        assert!(close(h, 0.692_992_814_250_063), "{h}");
    }

    #[test]
    fn unbounded_layer_holds_every_key_and_missing_data_gives_none() {
        let p = program("cache c { keys = 10  popularity = zipf(1)  layer redis { ttl = 1h } }\ncache d { layer memory { ttl = 1m } }");
        let cat = Catalogue::builtin();
        assert_eq!(cache_capacity_entries(&p.caches[0], &cat), None);
        assert_eq!(cache_hit_ratio(&p.caches[0], &cat), Some(1.0));
        assert_eq!(cache_hit_ratio(&p.caches[1], &cat), None);
    }

    #[test]
    fn no_peak_means_no_share_load_and_unknown_class_means_no_sizing() {
        let p = program(
            r#"service s { instance = nope  endpoint e { route = "GET /"  share = 50%  work = 1ms } }"#,
        );
        let loads = compute(&p, &Catalogue::builtin());
        assert_eq!(loads.entry["s.e"], 0.0);
        assert_eq!(loads.services["s"].instances_needed, None);
    }

    #[test]
    fn deep_cycles_terminate() {
        let text = r#"
            service a { endpoint x { route = "GET /a" rps = 10/s work = 1ms calls = [b.x, c.x] } }
            service b { endpoint x { route = "GET /b" work = 1ms calls = [c.x, a.x] } }
            service c { endpoint x { route = "GET /c" work = 1ms calls = [a.x, b.x] } }
        "#;
        let loads = compute(&program(text), &Catalogue::builtin());
        // From a.x (10): a→b (10), a→b→c (10), a→c (10), a→c→b (10).
        assert!(close(loads.endpoints["b.x"], 20.0));
        assert!(close(loads.endpoints["c.x"], 20.0));
        assert!(close(loads.endpoints["a.x"], 10.0));
    }
}
