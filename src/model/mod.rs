//! The typed IR and the lowering that builds it: AST → [`Program`] with every default filled
//! in and every reference resolved (name → component of the right kind).
//!
//! Invariants: pure (no I/O); the IR is the single source for `graph`, `check`, `plan` and
//! `generate`. Each kind's struct and its lowering live together in `kinds/`.

#[macro_use]
pub mod value;
pub mod kinds;
mod lower;
pub mod reader;
mod resolve;

pub use kinds::*;
pub use lower::{feature_coverage, lower_program};
pub use value::*;

use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashMap;

keyword_enum! {
    /// The top-level kinds of component.
    Kind {
        System = "system",
        Region = "region",
        Gateway = "gateway",
        Service = "service",
        Database = "database",
        Cache = "cache",
        Queue = "queue",
        Cdn = "cdn",
        Limit = "limit",
        Job = "job",
    }
}

/// A whole program: every file of it lowered together.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Program {
    pub system: Option<System>,
    pub regions: Vec<Region>,
    pub limits: Vec<Limit>,
    pub gateways: Vec<Gateway>,
    pub services: Vec<Service>,
    pub databases: Vec<Database>,
    pub caches: Vec<Cache>,
    pub queues: Vec<Queue>,
    pub cdns: Vec<Cdn>,
    pub jobs: Vec<Job>,
    /// Name → (kind, position in its list); the first declaration wins.
    #[serde(skip)]
    #[schemars(skip)]
    index: HashMap<String, (Kind, usize)>,
}

/// A name as declared, with the span of the block head.
pub type Name = Spanned<String>;

impl Program {
    /// Rebuilds the name index; lowering calls it once every component is known.
    pub fn reindex(&mut self) {
        let mut index = HashMap::new();
        let positions: Vec<(Kind, String, usize)> = {
            let mut counters: HashMap<Kind, usize> = HashMap::new();
            self.components()
                .into_iter()
                .map(|(k, n)| {
                    let c = counters.entry(k).or_insert(0);
                    let pos = *c;
                    *c += 1;
                    (k, n.value.clone(), pos)
                })
                .collect()
        };
        for (k, n, pos) in positions {
            index.entry(n).or_insert((k, pos));
        }
        self.index = index;
    }

    fn lookup(&self, name: &str, kind: Kind) -> Option<usize> {
        match self.index.get(name) {
            Some((k, i)) if *k == kind => Some(*i),
            _ => None,
        }
    }

    /// The kind of the component with this (normalised) name.
    pub fn kind_of(&self, name: &str) -> Option<Kind> {
        self.index.get(name).map(|(k, _)| *k)
    }

    /// Every top-level component as (kind, name).
    pub fn components(&self) -> Vec<(Kind, &Name)> {
        let mut out = Vec::new();
        if let Some(s) = &self.system {
            out.push((Kind::System, &s.name));
        }
        out.extend(self.regions.iter().map(|c| (Kind::Region, &c.name)));
        out.extend(self.limits.iter().map(|c| (Kind::Limit, &c.name)));
        out.extend(self.gateways.iter().map(|c| (Kind::Gateway, &c.name)));
        out.extend(self.services.iter().map(|c| (Kind::Service, &c.name)));
        out.extend(self.databases.iter().map(|c| (Kind::Database, &c.name)));
        out.extend(self.caches.iter().map(|c| (Kind::Cache, &c.name)));
        out.extend(self.queues.iter().map(|c| (Kind::Queue, &c.name)));
        out.extend(self.cdns.iter().map(|c| (Kind::Cdn, &c.name)));
        out.extend(self.jobs.iter().map(|c| (Kind::Job, &c.name)));
        out
    }

    /// The service with this name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.lookup(name, Kind::Service)
            .and_then(|i| self.services.get(i))
    }
    /// The gateway with this name.
    pub fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.lookup(name, Kind::Gateway)
            .and_then(|i| self.gateways.get(i))
    }
    /// The database with this name.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.lookup(name, Kind::Database)
            .and_then(|i| self.databases.get(i))
    }
    /// The cache with this name.
    pub fn cache(&self, name: &str) -> Option<&Cache> {
        self.lookup(name, Kind::Cache)
            .and_then(|i| self.caches.get(i))
    }
    /// The queue with this name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.lookup(name, Kind::Queue)
            .and_then(|i| self.queues.get(i))
    }
    /// The limit with this name.
    pub fn limit(&self, name: &str) -> Option<&Limit> {
        self.lookup(name, Kind::Limit)
            .and_then(|i| self.limits.get(i))
    }
    /// The region with this name.
    pub fn region(&self, name: &str) -> Option<&Region> {
        self.lookup(name, Kind::Region)
            .and_then(|i| self.regions.get(i))
    }
    /// The CDN with this name.
    pub fn cdn(&self, name: &str) -> Option<&Cdn> {
        self.lookup(name, Kind::Cdn).and_then(|i| self.cdns.get(i))
    }
    /// `service.endpoint`.
    pub fn endpoint(&self, path: &PathRef) -> Option<(&Service, &Endpoint)> {
        let svc = self.service(path.root())?;
        let ep = svc
            .endpoints
            .iter()
            .find(|e| Some(e.name.value.as_str()) == path.member())?;
        Some((svc, ep))
    }
    /// `database.table`.
    pub fn table(&self, path: &PathRef) -> Option<(&Database, &Table)> {
        let db = self.database(path.root())?;
        let t = db
            .tables
            .iter()
            .find(|t| Some(t.name.value.as_str()) == path.member())?;
        Some((db, t))
    }
    /// Whether the program's Redis is a Redis Cluster: some cache's Redis layer says
    /// `cluster = true`. There is one Redis per program (caches, limits and streams share
    /// `REDIS_URL`), so this holds for every service and gateway.
    pub fn redis_cluster(&self) -> bool {
        self.caches
            .iter()
            .flat_map(|c| &c.layers)
            .any(|l| l.kind.value == LayerKind::Redis && l.cluster.value)
    }
    /// The system's peak load in requests per second, if declared.
    pub fn peak_rps(&self) -> Option<f64> {
        self.system
            .as_ref()?
            .traffic
            .as_ref()?
            .peak
            .as_ref()
            .map(|p| p.per_second())
    }
    /// The system SLO, if declared.
    pub fn slo(&self) -> Option<&Spanned<Percent>> {
        self.system.as_ref()?.slo.as_ref()
    }
}
