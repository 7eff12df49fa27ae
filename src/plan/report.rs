//! The plan as data: what `archc plan` reports, shaped after the JSON contract of
//! plan-model.md §9. Ratios are fractions, times milliseconds, sizes bytes, money in the
//! catalogue's currency. Every figure can carry a [`Trace`]: the formula and the inputs used,
//! so a reader can redo it by hand (`--explain`, the markdown and HTML reports).

use serde::Serialize;

/// How one figure was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// What the figure is (`instances`, `p99`, `monthly_cost`...).
    pub figure: String,
    /// The formula by name and in symbols, e.g. `n = max(min, ⌈λ·S / (c·u)⌉)`.
    pub formula: String,
    /// The inputs as (name, value with unit), e.g. ("λ", "840 rps").
    pub inputs: Vec<(String, String)>,
    /// The result as printed.
    pub result: String,
}

/// p50/p95/p99 in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// A service sized as M/M/c per instance (§2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServicePlan {
    pub name: String,
    pub load_rps: f64,
    pub instances: u32,
    pub vcpu: u32,
    pub utilization: f64,
    pub latency_ms: Latency,
    pub instances_zone_down: u32,
    /// Multiple of today's peak at which the service reaches its ceiling (None: no ceiling).
    pub saturates_at: Option<f64>,
    pub monthly_cost: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
}

/// A cache (§3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CachePlan {
    pub name: String,
    pub hit_ratio: f64,
    pub memory_bytes: f64,
    pub nodes: u32,
    pub monthly_cost: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
}

/// A database (§4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabasePlan {
    pub name: String,
    pub reads_rps: f64,
    pub writes_rps: f64,
    pub shards_needed: u32,
    pub replicas_needed: u32,
    pub storage_bytes_at_horizon: f64,
    pub monthly_cost: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
}

/// A queue (§5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuePlan {
    pub name: String,
    pub rate: f64,
    pub consumers_needed: u32,
    pub partitions_needed: u32,
    pub storage_bytes: f64,
    pub monthly_cost: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
}

/// A gateway route (§2 latency along its chain, §6 availability).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutePlan {
    pub gateway: String,
    pub route: String,
    pub load_rps: f64,
    pub availability: f64,
    pub latency_ms: Latency,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
}

/// System availability (§6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailabilityPlan {
    pub system: f64,
    /// `system.slo` as a fraction, if declared.
    pub target: Option<f64>,
    pub downtime_per_month_s: f64,
    /// The weakest component on the heaviest route.
    pub weakest: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
}

/// One line of the cost breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    pub name: String,
    /// `service`, `gateway`, `cache`, `database`, `queue`, `cdn`, `storage`, `network`.
    pub kind: String,
    pub monthly: f64,
}

/// Monthly cost (§7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostPlan {
    pub currency: String,
    pub monthly_total: f64,
    /// Largest first.
    pub by_component: Vec<CostLine>,
}

/// One month of the horizon table (§7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HorizonMonth {
    pub month: u32,
    pub peak_rps: f64,
    pub monthly_cost: f64,
}

/// One row of the saturation table, smallest multiple first (§7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bottleneck {
    pub component: String,
    pub saturates_at: f64,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub services: Vec<ServicePlan>,
    pub caches: Vec<CachePlan>,
    pub databases: Vec<DatabasePlan>,
    pub queues: Vec<QueuePlan>,
    pub routes: Vec<RoutePlan>,
    pub availability: AvailabilityPlan,
    pub cost: CostPlan,
    pub horizon: Vec<HorizonMonth>,
    pub bottlenecks: Vec<Bottleneck>,
    /// Defaults and assumptions the figures rest on, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
}

impl Plan {
    /// Drops every trace (the JSON and table outputs without `--explain`).
    pub fn without_traces(mut self) -> Plan {
        self.services.iter_mut().for_each(|s| s.traces.clear());
        self.caches.iter_mut().for_each(|s| s.traces.clear());
        self.databases.iter_mut().for_each(|s| s.traces.clear());
        self.queues.iter_mut().for_each(|s| s.traces.clear());
        self.routes.iter_mut().for_each(|s| s.traces.clear());
        self.availability.traces.clear();
        self
    }

    /// Whether any figure carries a trace (none when planned `without_traces`).
    pub fn has_traces(&self) -> bool {
        self.services.iter().any(|s| !s.traces.is_empty())
            || self.caches.iter().any(|s| !s.traces.is_empty())
            || self.databases.iter().any(|s| !s.traces.is_empty())
            || self.queues.iter().any(|s| !s.traces.is_empty())
            || self.routes.iter().any(|s| !s.traces.is_empty())
            || !self.availability.traces.is_empty()
    }

    /// The first bottleneck, if any component has a ceiling.
    pub fn bottleneck(&self) -> Option<&Bottleneck> {
        self.bottlenecks.first()
    }
}
