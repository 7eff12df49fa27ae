//! `system` (the singleton: SLO, traffic, HA policy, backup, DR, rollout, shedding, chaos)
//! and `region`.

use super::common::*;
use crate::model::reader::{Reader, Sink};
use crate::model::value::*;
use crate::model::{Kind, Name};
use crate::syntax::ast::{Block, ValueKind};
use schemars::JsonSchema;
use serde::Serialize;

/// The system block.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct System {
    pub name: Name,
    pub description: Option<String>,
    /// First is primary. Defaults to every declared region, in declaration order.
    pub regions: Vec<Ref>,
    pub slo: Option<Spanned<Percent>>,
    pub latency: Option<Spanned<Millis>>,
    pub traffic: Option<Traffic>,
    pub availability: HaPolicy,
    pub backup: Option<Backup>,
    pub dr: Option<Dr>,
    pub rollout: Rollout,
    pub shed: Option<Shed>,
    pub chaos: Vec<Chaos>,
}

/// `traffic { peak average read_ratio growth horizon }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Traffic {
    pub peak: Option<Spanned<Rate>>,
    pub average: Option<Spanned<Rate>>,
    pub read_ratio: Option<Spanned<Percent>>,
    pub growth: Option<Spanned<Rate>>,
    pub horizon: Spanned<Millis>,
}

keyword_enum! {
    /// How failover happens.
    Failover { Automatic = "automatic", Manual = "manual" }
}
keyword_enum! {
    /// Replica agreement level.
    Consistency { One = "one", Quorum = "quorum", All = "all" }
}
keyword_enum! {
    /// Full backup frequency.
    BackupFrequency { Hourly = "hourly", Daily = "daily", Weekly = "weekly" }
}
keyword_enum! {
    /// Disaster-recovery standby.
    DrStrategy { Hot = "hot", Warm = "warm", Cold = "cold" }
}
keyword_enum! {
    /// Load-shedding classes.
    Criticality { Critical = "critical", Normal = "normal", Background = "background" }
}
keyword_enum! {
    /// Chaos experiment faults.
    Fault { NodeFailure = "node_failure", NetworkPartition = "network_partition", ZoneOutage = "zone_outage", Latency = "latency" }
}

impl BackupFrequency {
    /// The interval between full backups.
    pub fn interval(self) -> Millis {
        Millis(match self {
            BackupFrequency::Hourly => 3_600_000.0,
            BackupFrequency::Daily => 86_400_000.0,
            BackupFrequency::Weekly => 7.0 * 86_400_000.0,
        })
    }
}

/// `availability { failover detect consistency replication }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HaPolicy {
    pub failover: Spanned<Failover>,
    pub detect: Spanned<Millis>,
    pub consistency: Spanned<Consistency>,
    pub replication: Spanned<u32>,
}

/// `backup { ... }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Backup {
    pub full: Spanned<BackupFrequency>,
    pub incremental: Option<Spanned<Millis>>,
    pub retain: Option<Retain>,
    pub offsite: Option<Ref>,
    pub pitr: Spanned<bool>,
}

/// `retain { daily weekly monthly yearly }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Retain {
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub yearly: Option<u32>,
}

/// `dr { strategy region rpo rto }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Dr {
    pub strategy: Option<Spanned<DrStrategy>>,
    pub region: Option<Ref>,
    pub rpo: Option<Spanned<Millis>>,
    pub rto: Option<Spanned<Millis>>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: crate::source::Span,
}

/// How many instances a deploy replaces at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Batch {
    Percent(f64),
    Count(u32),
}

impl Batch {
    /// Instances taken down at once out of `n`.
    pub fn instances_of(self, n: u32) -> u32 {
        match self {
            Batch::Count(c) => c,
            Batch::Percent(p) => ((p / 100.0) * n as f64).ceil().max(1.0) as u32,
        }
    }
}

/// `rollout { batch health_timeout rollback }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Rollout {
    pub batch: Spanned<Batch>,
    pub health_timeout: Spanned<Millis>,
    pub rollback: Spanned<bool>,
}

/// `shed { at_cpu keep }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Shed {
    pub at_cpu: Spanned<Percent>,
    pub keep: Vec<Criticality>,
}

/// `chaos name { fault target duration every }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Chaos {
    pub name: Name,
    pub fault: Option<Spanned<Fault>>,
    pub target: Option<Ref>,
    pub duration: Spanned<Millis>,
    pub every: Option<Spanned<Millis>>,
}

const ANY: &[Kind] = &[
    Kind::Region,
    Kind::Gateway,
    Kind::Service,
    Kind::Database,
    Kind::Cache,
    Kind::Queue,
    Kind::Cdn,
];

pub(crate) fn lower_system(block: &Block, sink: &Sink) -> System {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let system = System {
        name,
        description: r.string("description").map(|s| s.value),
        regions: r
            .references("regions", &[Kind::Region])
            .map(|s| s.value)
            .unwrap_or_default(),
        slo: r.percent("slo"),
        latency: r.positive_duration("latency"),
        traffic: sub(&r, "traffic", |t| Traffic {
            peak: required(t, "peak", "12k/s", t.rate("peak", RateUnit::Count)),
            average: t.rate("average", RateUnit::Count),
            read_ratio: t.percent("read_ratio"),
            growth: t.rate("growth", RateUnit::Percent),
            horizon: t
                .positive_duration("horizon")
                .unwrap_or_else(|| dflt(t, Millis(360.0 * 86_400_000.0))),
        }),
        availability: sub(&r, "availability", ha_policy).unwrap_or_else(|| ha_policy(&r)),
        backup: sub(&r, "backup", |b| Backup {
            full: b
                .keyword("full")
                .unwrap_or_else(|| dflt(b, BackupFrequency::Daily)),
            incremental: b.positive_duration("incremental"),
            retain: sub(b, "retain", |k| Retain {
                daily: k.int("daily", 0).map(|v| v.value),
                weekly: k.int("weekly", 0).map(|v| v.value),
                monthly: k.int("monthly", 0).map(|v| v.value),
                yearly: k.int("yearly", 0).map(|v| v.value),
            }),
            offsite: b.reference("offsite", &[Kind::Region]),
            pitr: b.bool("pitr").unwrap_or_else(|| dflt(b, false)),
        }),
        dr: sub(&r, "dr", |d| Dr {
            strategy: required(d, "strategy", "warm", d.keyword("strategy")),
            region: required(
                d,
                "region",
                "eu_west",
                d.reference("region", &[Kind::Region]),
            ),
            rpo: required(d, "rpo", "5m", d.duration("rpo")),
            rto: required(d, "rto", "15m", d.duration("rto")),
            span: d.head(),
        }),
        rollout: sub(&r, "rollout", rollout).unwrap_or_else(|| Rollout {
            batch: dflt(&r, Batch::Percent(25.0)),
            health_timeout: dflt(&r, Millis(300_000.0)),
            rollback: dflt(&r, true),
        }),
        shed: sub(&r, "shed", |s| Shed {
            at_cpu: s
                .percent("at_cpu")
                .unwrap_or_else(|| dflt(s, Percent(85.0))),
            keep: s
                .keywords("keep")
                .map(|k| k.value)
                .unwrap_or_else(|| vec![Criticality::Critical]),
        }),
        chaos: subs(&r, "chaos", |c| Chaos {
            name: member_name(c),
            fault: required(c, "fault", "node_failure", c.keyword("fault")),
            target: c.reference("target", ANY),
            duration: c
                .positive_duration("duration")
                .unwrap_or_else(|| dflt(c, Millis(300_000.0))),
            every: c.positive_duration("every"),
        }),
    };
    r.finish();
    system
}

// Reads the HA policy from its block; called on the system reader when the block is
// absent only to produce defaults (it asks for no attribute the system has).
fn ha_policy(a: &Reader) -> HaPolicy {
    let is_block = a.block.kind.text == "availability";
    if !is_block {
        return HaPolicy {
            failover: dflt(a, Failover::Automatic),
            detect: dflt(a, Millis(30_000.0)),
            consistency: dflt(a, Consistency::Quorum),
            replication: dflt(a, 3),
        };
    }
    HaPolicy {
        failover: a
            .keyword("failover")
            .unwrap_or_else(|| dflt(a, Failover::Automatic)),
        detect: a
            .positive_duration("detect")
            .unwrap_or_else(|| dflt(a, Millis(30_000.0))),
        consistency: a
            .keyword("consistency")
            .unwrap_or_else(|| dflt(a, Consistency::Quorum)),
        replication: a.int("replication", 1).unwrap_or_else(|| dflt(a, 3)),
    }
}

fn rollout(r: &Reader) -> Rollout {
    let batch = match r.attr("batch") {
        Some(a) => match &a.value.kind {
            ValueKind::Quantity(q) if q.dimension == crate::syntax::literal::Dimension::Percent => {
                crate::model::reader::percent_of(r, "batch", &a.value)
                    .map(|p| Spanned::new(Batch::Percent(p.value.0), p.span))
            }
            _ => crate::model::reader::int_of(r, "batch", &a.value, 1)
                .map(|n| Spanned::new(Batch::Count(n.value), n.span)),
        },
        None => None,
    };
    Rollout {
        batch: batch.unwrap_or_else(|| dflt(r, Batch::Percent(25.0))),
        health_timeout: r
            .positive_duration("health_timeout")
            .unwrap_or_else(|| dflt(r, Millis(300_000.0))),
        rollback: r.bool("rollback").unwrap_or_else(|| dflt(r, true)),
    }
}

keyword_enum! {
    /// Cloud providers.
    Provider { Aws = "aws", Gcp = "gcp", Azure = "azure", Onprem = "onprem" }
}

/// `region name { provider name zones availability }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Region {
    pub name: Name,
    pub provider: Spanned<Provider>,
    /// The provider's region id (`us-east-1`).
    pub provider_region: Option<String>,
    pub zones: Spanned<u32>,
    pub availability: Option<Spanned<Percent>>,
}

pub(crate) fn lower_region(block: &Block, sink: &Sink) -> Region {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let region = Region {
        name,
        provider: r
            .keyword("provider")
            .unwrap_or_else(|| dflt(&r, Provider::Aws)),
        provider_region: r.string("name").map(|s| s.value),
        zones: r.int("zones", 1).unwrap_or_else(|| dflt(&r, 3)),
        availability: r.percent("availability"),
    };
    r.finish();
    region
}
