//! Availability of every route and of the whole system from the topology
//! (`plan-model.md` §6). A701 and `archc plan` share this code path.
//!
//! A route's availability is the product of what its synchronous chain needs:
//! - the gateway: 1 − (1 − a)ⁿ over its minimum replicas;
//! - each service on the chain (the endpoints the route matches first, then every endpoint
//!   they call, transitively): 1 − (1 − a)ⁿ over its minimum replicas;
//! - each database read or written, directly or as the `source` of a cache: one shard with
//!   automatic failover, 1 − (1 − a)^{1 + replicas}; a read is a broadcast needing every
//!   shard (the product) when the database is sharded with `cross_shard = broadcast` and
//!   the table read (or any table, for a read of the whole database) lists an access
//!   pattern in `queries` that does not filter by the shard key. Writes touch one shard;
//!   writes through a `write_behind` cache do not wait for the database;
//! - a `read_through`, `write_through` or `write_behind` cache (a `cache_aside` cache is not
//!   on the path: reads fall back to the source): each `redis` layer's nodes in parallel;
//!   `memory` layers live in the service's process and add nothing;
//! - each queue published to: min(replication, brokers) brokers in parallel;
//! - the primary region (first of `system.regions`, else the first region declared).
//!
//! With `dr.strategy = hot` the whole stack is doubled: 1 − (1 − A)². The system figure is
//! the traffic-weighted mean over routes (weights from [`load`](crate::plan::load); equal
//! weights when no route carries load). A route to a CDN counts its gateway and region only.
//! A program without gateway routes uses its loaded endpoints (else the endpoints nobody
//! calls) as entry points; one with neither is as available as its region.
//!
//! Per-instance availability: the component's `availability`, else its catalogue class's,
//! else the catalogue's defaults; caches and queues have no class in the IR, so they use
//! the lowest node availability of the catalogue's cache (broker) classes. Every figure not
//! written in the program is listed in [`SystemAvailability::assumptions`].

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Cache, CrossShard, Database, DrStrategy, Endpoint, Kind, LayerKind, Pattern, Program, Service,
    Target,
};
use crate::plan::availability::{from_percent, hot_standby, parallel, series, weighted_mean};
use crate::plan::catalogue::Catalogue;
use crate::plan::load::{call_edges, endpoint_key, reachable, Loads};

/// One thing a route needs, with its availability.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// The component's name.
    pub component: String,
    pub kind: Kind,
    /// Availability as a fraction.
    pub availability: f64,
    /// How it was computed, e.g. `2 replicas at 99.5%`.
    pub detail: String,
}

/// The availability of one route (or entry endpoint when there is no gateway).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteAvailability {
    /// The gateway; None for an entry endpoint of a program without gateway routes.
    pub gateway: Option<String>,
    /// The route pattern (`GET /api/users/:id`), or `service.endpoint` for an entry endpoint.
    pub route: String,
    /// The service it reaches.
    pub service: Option<String>,
    /// Requests per second at peak (0 when unknown).
    pub load_rps: f64,
    /// Availability as a fraction, after a hot standby region if any.
    pub availability: f64,
    /// What its chain needs, in the order met (gateway first, region last).
    pub factors: Vec<Factor>,
}

/// The component that limits the heaviest route most.
#[derive(Debug, Clone, PartialEq)]
pub struct WeakPoint {
    pub component: String,
    pub kind: Kind,
    /// Its availability factor as a fraction.
    pub availability: f64,
    pub detail: String,
    /// The route it was found on (`gateway` None for an entry endpoint; `route` empty when
    /// the program has no route and the region is all there is).
    pub gateway: Option<String>,
    pub route: String,
    /// That route's load, requests per second (0: no route carries load, so the route is
    /// the least available one).
    pub load_rps: f64,
}

/// The system's availability and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemAvailability {
    /// Traffic-weighted mean of the routes' availabilities (a fraction).
    pub system: f64,
    /// Every route, gateways and routes in declaration order.
    pub routes: Vec<RouteAvailability>,
    /// The weakest component of the heaviest route (of the least available one when no
    /// route carries load).
    pub weakest: Option<WeakPoint>,
    /// True when `dr.strategy = hot` doubled every stack.
    pub hot_dr: bool,
    /// Figures not written in the program, e.g. `the default per-instance availability 99.5%
    /// for edge, orders`.
    pub assumptions: Vec<String>,
}

/// Computes route and system availability of `program` (§6).
pub fn system_availability(
    program: &Program,
    catalogue: &Catalogue,
    loads: &Loads,
) -> SystemAvailability {
    let mut ctx = Walk {
        program,
        catalogue,
        assumptions: BTreeMap::new(),
        edges: call_edges(program),
    };
    let region = ctx.region();
    let hot_dr = program
        .system
        .as_ref()
        .and_then(|s| s.dr.as_ref())
        .and_then(|d| d.strategy.as_ref())
        .is_some_and(|s| s.value == DrStrategy::Hot);
    let mut routes = Vec::new();
    for entry in entries(program, loads) {
        let mut chain = Chain::default();
        if let Some(g) = entry.gateway.as_deref().and_then(|g| program.gateway(g)) {
            let a = ctx.instance_availability(&g.name.value, None, &g.instance.value);
            let n = g.replicas.value.min;
            chain.add(Factor {
                component: g.name.value.clone(),
                kind: Kind::Gateway,
                availability: parallel(a, n),
                detail: replicas_detail(n, a),
            });
        }
        ctx.chain(&entry, &mut chain);
        chain.add(region.clone());
        let stack = series(chain.factors.iter().map(|f| f.availability));
        routes.push(RouteAvailability {
            gateway: entry.gateway,
            route: entry.route,
            service: entry.service,
            load_rps: entry.load_rps,
            availability: if hot_dr { hot_standby(stack) } else { stack },
            factors: chain.factors,
        });
    }
    let system = if routes.is_empty() {
        if hot_dr {
            hot_standby(region.availability)
        } else {
            region.availability
        }
    } else {
        weighted_mean(
            &routes
                .iter()
                .map(|r| (r.load_rps, r.availability))
                .collect::<Vec<_>>(),
        )
    };
    let weakest = weakest(&routes, &region);
    SystemAvailability {
        system,
        routes,
        weakest,
        hot_dr,
        assumptions: ctx.assumption_lines(),
    }
}

/// A fraction as a percentage with enough decimals to show the unavailability to two
/// significant digits, trailing zeros dropped: 0.99 → `99%`, 0.999975 → `99.9975%`.
pub fn format_percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    let missing = 100.0 - p;
    if !p.is_finite() {
        return "?%".into();
    }
    let decimals = if missing > 0.0 {
        ((-missing.log10().floor()) as i64 + 1).clamp(0, 10) as usize
    } else {
        0
    };
    let text = format!("{p:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}%")
}

/// A route to evaluate.
struct Entry {
    gateway: Option<String>,
    route: String,
    service: Option<String>,
    /// Endpoints the route reaches first; empty: the whole service.
    endpoints: Vec<String>,
    load_rps: f64,
}

fn entries(program: &Program, loads: &Loads) -> Vec<Entry> {
    if !loads.routes.is_empty() {
        return loads
            .routes
            .iter()
            .map(|r| Entry {
                gateway: Some(r.gateway.clone()),
                route: r.route.clone(),
                service: r.service.clone(),
                endpoints: r.endpoints.clone(),
                load_rps: r.load_rps,
            })
            .collect();
    }
    let edges = call_edges(program);
    let called: BTreeSet<&String> = edges.values().flatten().collect();
    let loaded: Vec<(&String, f64)> = loads
        .entry
        .iter()
        .filter(|(_, l)| **l > 0.0)
        .map(|(k, l)| (k, *l))
        .collect();
    let picked: Vec<(&String, f64)> = if loaded.is_empty() {
        edges
            .keys()
            .filter(|k| !called.contains(k))
            .map(|k| (k, 0.0))
            .collect()
    } else {
        loaded
    };
    picked
        .into_iter()
        .map(|(key, load_rps)| Entry {
            gateway: None,
            route: key.clone(),
            service: key.split('.').next().map(str::to_string),
            endpoints: vec![key.clone()],
            load_rps,
        })
        .collect()
}

fn weakest(routes: &[RouteAvailability], region: &Factor) -> Option<WeakPoint> {
    let heaviest = if routes.iter().any(|r| r.load_rps > 0.0) {
        routes
            .iter()
            .reduce(|best, r| if r.load_rps > best.load_rps { r } else { best })
    } else {
        routes.iter().reduce(|best, r| {
            if r.availability < best.availability {
                r
            } else {
                best
            }
        })
    };
    let Some(route) = heaviest else {
        return Some(WeakPoint {
            component: region.component.clone(),
            kind: region.kind,
            availability: region.availability,
            detail: region.detail.clone(),
            gateway: None,
            route: String::new(),
            load_rps: 0.0,
        });
    };
    let f = route.factors.iter().reduce(|best, f| {
        if f.availability < best.availability {
            f
        } else {
            best
        }
    })?;
    Some(WeakPoint {
        component: f.component.clone(),
        kind: f.kind,
        availability: f.availability,
        detail: f.detail.clone(),
        gateway: route.gateway.clone(),
        route: route.route.clone(),
        load_rps: route.load_rps,
    })
}

fn replicas_detail(n: u32, a: f64) -> String {
    format!(
        "{n} replica{} at {}",
        if n == 1 { "" } else { "s" },
        format_percent(a)
    )
}

/// The factors of one route, each component once (the worse figure kept).
#[derive(Default)]
struct Chain {
    factors: Vec<Factor>,
}

impl Chain {
    fn add(&mut self, f: Factor) {
        match self.factors.iter_mut().find(|x| x.component == f.component) {
            Some(x) if f.availability < x.availability => *x = f,
            Some(_) => {}
            None => self.factors.push(f),
        }
    }
}

struct Walk<'a> {
    program: &'a Program,
    catalogue: &'a Catalogue,
    /// Phrase (`the default per-instance availability 99.5%`) → components using it.
    assumptions: BTreeMap<String, BTreeSet<String>>,
    edges: BTreeMap<String, Vec<String>>,
}

impl Walk<'_> {
    /// Records a figure not written in the program; `component` None: not about one
    /// declared component (the region of a program that declares none).
    fn assume(&mut self, phrase: String, component: Option<&str>) {
        let who = self.assumptions.entry(phrase).or_default();
        if let Some(c) = component {
            who.insert(c.to_string());
        }
    }

    fn assumption_lines(&self) -> Vec<String> {
        self.assumptions
            .iter()
            .map(|(phrase, who)| match who.is_empty() {
                true => phrase.clone(),
                false => format!(
                    "{phrase} for {}",
                    who.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
            .collect()
    }

    fn default_instance(&mut self, component: &str) -> f64 {
        let a = self.catalogue.defaults.instance_availability;
        self.assume(
            format!(
                "the default per-instance availability {}",
                format_percent(from_percent(a))
            ),
            Some(component),
        );
        from_percent(a)
    }

    /// A service's or gateway's per-instance availability.
    fn instance_availability(
        &mut self,
        component: &str,
        declared: Option<f64>,
        class: &str,
    ) -> f64 {
        if let Some(p) = declared {
            return from_percent(p);
        }
        match self.catalogue.instance(class).map(|c| c.availability) {
            Some(p) if p != self.catalogue.defaults.instance_availability => {
                self.assume(
                    format!(
                        "the catalogue availability {} of instance class `{class}`",
                        format_percent(from_percent(p))
                    ),
                    Some(component),
                );
                from_percent(p)
            }
            _ => self.default_instance(component),
        }
    }

    fn region(&mut self) -> Factor {
        let system_first = self
            .program
            .system
            .as_ref()
            .and_then(|s| s.regions.first())
            .and_then(|r| self.program.region(&r.name));
        let region = system_first.or_else(|| self.program.regions.first());
        let name = region
            .map(|r| r.name.value.clone())
            .unwrap_or_else(|| "region".to_string());
        let availability = match region.and_then(|r| r.availability.as_ref()) {
            Some(p) => p.value.fraction(),
            None => {
                let p = from_percent(self.catalogue.defaults.region_availability);
                let who = region.map(|r| r.name.value.as_str());
                self.assume(
                    format!("the default region availability {}", format_percent(p)),
                    who,
                );
                p
            }
        };
        Factor {
            component: name,
            kind: Kind::Region,
            availability,
            detail: "the region".to_string(),
        }
    }

    fn chain(&mut self, entry: &Entry, chain: &mut Chain) {
        let mut starts = entry.endpoints.clone();
        if starts.is_empty() {
            if let Some(s) = entry
                .service
                .as_deref()
                .and_then(|s| self.program.service(s))
            {
                self.service(s, chain);
                starts = s
                    .calls
                    .iter()
                    .filter_map(|p| self.program.endpoint(p))
                    .map(|(cs, ce)| endpoint_key(cs, ce))
                    .collect();
            }
        }
        let program = self.program;
        for key in reachable(&starts, &self.edges) {
            let found = key.split_once('.').and_then(|(svc, ep)| {
                let s = program.service(svc)?;
                let e = s.endpoints.iter().find(|e| e.name.value == ep)?;
                Some((s, e))
            });
            if let Some((s, e)) = found {
                self.service(s, chain);
                self.endpoint(e, chain);
            }
        }
    }

    fn service(&mut self, s: &Service, chain: &mut Chain) {
        let a = self.instance_availability(
            &s.name.value,
            s.availability.as_ref().map(|p| p.value.0),
            &s.instance.value,
        );
        let n = s.replicas.value.min;
        chain.add(Factor {
            component: s.name.value.clone(),
            kind: Kind::Service,
            availability: parallel(a, n),
            detail: replicas_detail(n, a),
        });
    }

    fn endpoint(&mut self, e: &Endpoint, chain: &mut Chain) {
        let program = self.program;
        for t in &e.reads {
            if let Some(c) = program.cache(t.component()) {
                self.cache(c, chain);
                if let Some(src) = &c.source {
                    self.database_target(src, true, chain);
                }
            } else {
                self.database_target(t, true, chain);
            }
        }
        for t in &e.writes {
            if let Some(c) = program.cache(t.component()) {
                self.cache(c, chain);
                if let (Some(src), false) = (&c.source, c.pattern.value == Pattern::WriteBehind) {
                    self.database_target(src, false, chain);
                }
            } else {
                self.database_target(t, false, chain);
            }
        }
        for q in &e.publishes {
            if let Some(q) = program.queue(&q.name) {
                let a = self.class_min(Kind::Queue, &q.name.value);
                let n = q.replication.value.min(q.brokers.value).max(1);
                chain.add(Factor {
                    component: q.name.value.clone(),
                    kind: Kind::Queue,
                    availability: parallel(a, n),
                    detail: format!(
                        "{n} broker{} at {}",
                        if n == 1 { "" } else { "s" },
                        format_percent(a)
                    ),
                });
            }
        }
    }

    /// Lowest node availability of the catalogue's cache or broker classes.
    fn class_min(&mut self, kind: Kind, component: &str) -> f64 {
        let (word, lowest) = if kind == Kind::Cache {
            (
                "cache node",
                self.catalogue
                    .caches
                    .values()
                    .map(|c| c.availability)
                    .reduce(f64::min),
            )
        } else {
            (
                "broker",
                self.catalogue
                    .brokers
                    .values()
                    .map(|c| c.availability)
                    .reduce(f64::min),
            )
        };
        match lowest {
            Some(p) => {
                self.assume(
                    format!(
                        "the catalogue {word} availability {}",
                        format_percent(from_percent(p))
                    ),
                    Some(component),
                );
                from_percent(p)
            }
            None => self.default_instance(component),
        }
    }

    fn cache(&mut self, c: &Cache, chain: &mut Chain) {
        if c.pattern.value == Pattern::CacheAside {
            return;
        }
        let nodes: Vec<u32> = c
            .layers
            .iter()
            .filter(|l| l.kind.value == LayerKind::Redis)
            .map(|l| l.nodes.value)
            .collect();
        if nodes.is_empty() {
            return;
        }
        let a = self.class_min(Kind::Cache, &c.name.value);
        let availability = series(nodes.iter().map(|&n| parallel(a, n)));
        let detail = nodes
            .iter()
            .map(|n| {
                format!(
                    "redis {n} node{} at {}",
                    if *n == 1 { "" } else { "s" },
                    format_percent(a)
                )
            })
            .collect::<Vec<_>>()
            .join(" and ");
        chain.add(Factor {
            component: c.name.value.clone(),
            kind: Kind::Cache,
            availability,
            detail,
        });
    }

    fn database_target(&mut self, t: &Target, read: bool, chain: &mut Chain) {
        let Some(db) = self.program.database(t.component()) else {
            return;
        };
        let a = match &db.availability {
            Some(p) => p.value.fraction(),
            None => match self
                .catalogue
                .database(&db.instance.value)
                .map(|c| c.availability)
            {
                Some(p) => {
                    self.assume(
                        format!(
                            "the catalogue availability {} of database class `{}`",
                            format_percent(from_percent(p)),
                            db.instance.value
                        ),
                        Some(&db.name.value),
                    );
                    from_percent(p)
                }
                None => self.default_instance(&db.name.value),
            },
        };
        let copies = db.replicas.value.saturating_add(1);
        let shard = parallel(a, copies);
        let copies_text = format!(
            "1 + {} replica{} at {}",
            db.replicas.value,
            if db.replicas.value == 1 { "" } else { "s" },
            format_percent(a)
        );
        let (availability, detail) = if read && is_broadcast(db, t) {
            let shards = db.shards.value;
            (
                shard.powf(f64::from(shards)),
                format!("all {shards} shards (broadcast read), each {copies_text}"),
            )
        } else {
            (shard, copies_text)
        };
        chain.add(Factor {
            component: db.name.value.clone(),
            kind: Kind::Database,
            availability,
            detail,
        });
    }
}

/// True when a read of `target` must query every shard of `db` (see the module doc).
fn is_broadcast(db: &Database, target: &Target) -> bool {
    if db.shards.value <= 1 || db.cross_shard.value != CrossShard::Broadcast {
        return false;
    }
    let Some(shard_by) = &db.shard_by else {
        return false;
    };
    let key = &shard_by.value.column().value;
    let member = match target {
        Target::Member(p) => p.member(),
        Target::Component(_) => None,
    };
    db.tables
        .iter()
        .filter(|t| match member {
            Some(m) => m == t.name.value,
            None => true,
        })
        .any(|t| t.queries.iter().any(|q| !query_uses_key(&q.value, key)))
}

/// True when an access pattern (`"by user_id order created_at"`, `"range created_at"`)
/// filters by `key`.
fn query_uses_key(query: &str, key: &str) -> bool {
    let words: Vec<String> = query
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('-', "_"))
        .collect();
    match words.split_first() {
        Some((first, rest)) if first == "by" || first == "range" => rest
            .iter()
            .take_while(|w| *w != "order" && *w != "limit")
            .any(|w| w == key),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::load::compute;

    fn run(text: &str) -> SystemAvailability {
        let program = crate::load::load_text(text).program;
        let catalogue = Catalogue::builtin();
        let loads = compute(&program, &catalogue);
        system_availability(&program, &catalogue, &loads)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12
    }

    const SHOP: &str = r#"
        system shop { regions = [east]  traffic { peak = 1000/s } }
        region east { availability = 99.9% }
        gateway edge {
          replicas = 2
          route "GET /p/:id" { to = catalog }
          route "POST /orders" { to = orders }
        }
        service catalog {
          replicas = 3  availability = 99%
          endpoint get { route = "GET /p/:id"  share = 90%  work = 1ms  reads = [products] }
        }
        cache products { source = catalog_db  pattern = read_through  layer redis { nodes = 2  ttl = 1m } }
        database catalog_db { replicas = 1  availability = 99% }
        service orders {
          replicas = 2  availability = 90%
          endpoint create { route = "POST /orders"  share = 10%  work = 2ms  writes = [orders_db]  publishes = [events]  calls = [catalog.get] }
        }
        database orders_db { replicas = 0  availability = 95% }
        queue events { engine = kafka  brokers = 3 }
    "#;

    #[test]
    fn routes_multiply_their_chain() {
        let s = run(SHOP);
        let gw = 1.0 - 0.005f64.powi(2); // small: default 99.5%, 2 replicas
        let catalog = 1.0 - 0.01f64.powi(3);
        let cache = 1.0 - 0.001f64.powi(2); // catalogue cache nodes 99.9%
        let catalog_db = 1.0 - 0.01f64.powi(2);
        let region = 0.999;
        let get = gw * catalog * cache * catalog_db * region;
        assert_eq!(s.routes.len(), 2);
        assert!(close(s.routes[0].availability, get), "{:?}", s.routes[0]);
        assert!(close(s.routes[0].load_rps, 900.0));
        // orders: 90% × 2, orders_db 95% alone, kafka 3 brokers of 99.9%, and catalog's chain.
        let orders = 1.0 - 0.1f64.powi(2);
        let kafka = 1.0 - 0.001f64.powi(3);
        let post = gw * orders * 0.95 * kafka * catalog * cache * catalog_db * region;
        assert!(close(s.routes[1].availability, post), "{:?}", s.routes[1]);
        assert!(close(s.system, (900.0 * get + 100.0 * post) / 1000.0));
        // The heaviest route is GET /p/:id; its weakest factor is the region (99.9%).
        let w = s
            .weakest
            .as_ref()
            .map(|w| (w.component.as_str(), w.route.as_str()));
        assert_eq!(w, Some(("east", "GET /p/:id")));
        assert!(
            s.assumptions
                .iter()
                .any(|a| a == "the default per-instance availability 99.5% for edge"),
            "{:?}",
            s.assumptions
        );
        assert!(s
            .assumptions
            .iter()
            .any(|a| a.starts_with("the catalogue cache node availability 99.9% for products")));
    }

    #[test]
    fn hot_dr_doubles_the_stack_and_cache_aside_is_off_the_path() {
        let text = r#"
            system s { regions = [a, b]  dr { strategy = hot  region = b  rpo = 1m  rto = 5m } }
            region a { }
            region b { }
            service api {
              replicas = 1  availability = 99%
              endpoint x { route = "GET /x"  work = 1ms  reads = [c] }
            }
            cache c { source = db  layer redis { ttl = 1m } }
            database db { replicas = 1  availability = 90% }
        "#;
        let s = run(text);
        // No gateway: the endpoint nobody calls is the entry. api 99%, db 1 − 0.1² = 99%,
        // the default region 99.99%; the cache_aside cache is not on the path.
        let stack: f64 = 0.99 * 0.99 * 0.9999;
        assert!(s.hot_dr);
        assert_eq!(s.routes.len(), 1);
        assert_eq!(s.routes[0].route, "api.x");
        assert!(!s.routes[0].factors.iter().any(|f| f.component == "c"));
        assert!(close(s.system, 1.0 - (1.0 - stack).powi(2)));
        assert!(s
            .assumptions
            .iter()
            .any(|a| a == "the default region availability 99.99% for a"));
    }

    #[test]
    fn broadcast_reads_need_every_shard() {
        let text = r#"
            service api {
              availability = 99%
              endpoint by_email { route = "GET /u"  work = 1ms  reads = [db.users] }
            }
            database db {
              shards = 4  shard_by = hash(id)  replicas = 0  availability = 99%
              table users { columns { id = bigint  email = text }  queries = ["by id", "by email"] }
            }
        "#;
        let s = run(text);
        let api = 1.0 - 0.01f64.powi(2);
        let db = 0.99f64.powi(4);
        assert!(close(s.system, api * db * 0.9999), "{:?}", s.routes);
        assert!(query_uses_key("by id order created_at", "id"));
        assert!(query_uses_key("range created_at", "created_at"));
        assert!(!query_uses_key("search title", "title"));
        assert!(!query_uses_key("by email order id", "id"));
    }

    #[test]
    fn an_empty_program_is_as_available_as_its_region() {
        let s = run("system s { }");
        assert!(s.routes.is_empty());
        assert!(close(s.system, 0.9999));
        assert_eq!(s.weakest.map(|w| w.kind), Some(Kind::Region));
    }

    #[test]
    fn equal_weights_without_load() {
        let text = r#"
            gateway g { route "GET /a" { to = a }  route "GET /b" { to = b } }
            service a { availability = 90%  endpoint x { route = "GET /a"  work = 1ms } }
            service b { availability = 80%  endpoint x { route = "GET /b"  work = 1ms } }
        "#;
        let s = run(text);
        let gw = 1.0 - 0.005f64.powi(2);
        let a = gw * (1.0 - 0.1f64.powi(2)) * 0.9999;
        let b = gw * (1.0 - 0.2f64.powi(2)) * 0.9999;
        assert!(close(s.system, (a + b) / 2.0));
        // No load: the least available route, and its weakest component.
        assert_eq!(s.weakest.map(|w| w.component), Some("b".to_string()));
    }

    #[test]
    fn percentages_show_the_nines() {
        assert_eq!(format_percent(0.99), "99%");
        assert_eq!(format_percent(0.999975), "99.9975%");
        assert_eq!(format_percent(0.9993), "99.93%");
        assert_eq!(format_percent(1.0), "100%");
        assert_eq!(format_percent(0.5), "50%");
    }
}
