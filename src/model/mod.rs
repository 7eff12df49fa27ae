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
pub use lower::lower_program;
pub use value::*;

use schemars::JsonSchema;
use serde::Serialize;

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
}

/// A name as declared, with the span of the block head.
pub type Name = Spanned<String>;

impl Program {
    /// The kind of the component with this (normalised) name.
    pub fn kind_of(&self, name: &str) -> Option<Kind> {
        let is = |n: &Name| n.value == name;
        if self.system.as_ref().is_some_and(|s| is(&s.name)) {
            return Some(Kind::System);
        }
        if self.regions.iter().any(|c| is(&c.name)) {
            return Some(Kind::Region);
        }
        if self.limits.iter().any(|c| is(&c.name)) {
            return Some(Kind::Limit);
        }
        if self.gateways.iter().any(|c| is(&c.name)) {
            return Some(Kind::Gateway);
        }
        if self.services.iter().any(|c| is(&c.name)) {
            return Some(Kind::Service);
        }
        if self.databases.iter().any(|c| is(&c.name)) {
            return Some(Kind::Database);
        }
        if self.caches.iter().any(|c| is(&c.name)) {
            return Some(Kind::Cache);
        }
        if self.queues.iter().any(|c| is(&c.name)) {
            return Some(Kind::Queue);
        }
        if self.cdns.iter().any(|c| is(&c.name)) {
            return Some(Kind::Cdn);
        }
        if self.jobs.iter().any(|c| is(&c.name)) {
            return Some(Kind::Job);
        }
        None
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
        self.services.iter().find(|c| c.name.value == name)
    }
    /// The gateway with this name.
    pub fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.gateways.iter().find(|c| c.name.value == name)
    }
    /// The database with this name.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|c| c.name.value == name)
    }
    /// The cache with this name.
    pub fn cache(&self, name: &str) -> Option<&Cache> {
        self.caches.iter().find(|c| c.name.value == name)
    }
    /// The queue with this name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|c| c.name.value == name)
    }
    /// The limit with this name.
    pub fn limit(&self, name: &str) -> Option<&Limit> {
        self.limits.iter().find(|c| c.name.value == name)
    }
    /// The region with this name.
    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|c| c.name.value == name)
    }
    /// The CDN with this name.
    pub fn cdn(&self, name: &str) -> Option<&Cdn> {
        self.cdns.iter().find(|c| c.name.value == name)
    }
    /// `service.endpoint`.
    pub fn endpoint(&self, path: &PathRef) -> Option<(&Service, &Endpoint)> {
        let svc = self.service(path.root())?;
        let ep = svc.endpoints.iter().find(|e| Some(e.name.value.as_str()) == path.member())?;
        Some((svc, ep))
    }
    /// `database.table`.
    pub fn table(&self, path: &PathRef) -> Option<(&Database, &Table)> {
        let db = self.database(path.root())?;
        let t = db.tables.iter().find(|t| Some(t.name.value.as_str()) == path.member())?;
        Some((db, t))
    }
    /// The system's peak load in requests per second, if declared.
    pub fn peak_rps(&self) -> Option<f64> {
        self.system.as_ref()?.traffic.as_ref()?.peak.as_ref().map(|p| p.per_second())
    }
    /// The system SLO, if declared.
    pub fn slo(&self) -> Option<&Spanned<Percent>> {
        self.system.as_ref()?.slo.as_ref()
    }
}
