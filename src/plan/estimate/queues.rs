//! Queues (plan-model.md §5): rate, consumers, partitions, storage, brokers, backlog.
//!
//! - Rate r from `load` (publishing endpoints, or the declared `rate`); bytes/s = r × `size`
//!   (0 when `size` is not declared; noted).
//! - Consumers needed = ⌈r·work / u⌉ per consumer group (each `consumes` block reading the
//!   queue; u is its service's target), the largest group reported.
//! - Partitions (kafka) = max(⌈bytes/s / partition_throughput⌉, consumers needed, declared);
//!   other engines report their declared `partitions`.
//! - Storage = bytes/s × retention × replication for log-based engines (kafka, nats,
//!   redis streams); rabbitmq and sqs delete messages on acknowledgement: 0.
//! - Brokers: the IR has no cluster of its own, so the queues of one engine share one
//!   cluster: the largest `brokers` declared among them, of the cheapest catalogue class
//!   whose throughput carries their total bytes/s spread over those brokers (the largest
//!   class, and more brokers, when none does). Its cost is split equally over its queues.
//!   sqs is a managed service with per-request prices not in the catalogue: no broker
//!   cost. Storage at the SSD GB-month price.
//! - Backlog after an outage of `availability.detect` + `dr.rto` (1h without `dr.rto`):
//!   r·D messages, drained in r·D / (capacity − r), capacity = concurrency / work of the
//!   slowest group (in the traces).
//! - Ceilings: the declared partitions (kafka: throughput and consumers) and each group's
//!   declared `concurrency`; the multiple is the smallest of ceiling / (load per unit).

use crate::model::{Queue, QueueEngine};
use crate::plan::catalogue::BrokerClass;
use crate::plan::report::QueuePlan;
use std::collections::HashMap;

use super::trace::{bytes, ceil_count, money, ms, num, pct, rps, trace, Notes};
use super::Ctx;

/// A sized queue and its saturation multiple.
pub struct QueueSizing {
    pub plan: QueuePlan,
    pub saturates_at: Option<f64>,
}

/// One consumer group of a queue.
struct Group {
    label: String,
    work_s: f64,
    concurrency: u32,
    target: f64,
}

/// Outage length assumed when `dr.rto` is not declared (plan-model.md §5), milliseconds.
const DEFAULT_OUTAGE_MS: f64 = 3_600_000.0;

/// Sizes every queue at the context's load. Consumer groups and broker clusters are
/// gathered once for all queues, so this stays linear in the program's size.
pub fn size_queues(ctx: &Ctx, notes: &mut Notes) -> Vec<QueueSizing> {
    let mut groups_by_queue: HashMap<&str, Vec<Group>> = HashMap::new();
    let default_u = ctx.catalogue.defaults.target_utilization / 100.0;
    for s in &ctx.program.services {
        let u = s
            .autoscale
            .as_ref()
            .and_then(|a| a.cpu.as_ref())
            .map_or(default_u, |c| c.value / 100.0);
        for c in &s.consumers {
            if let Some(from) = &c.from {
                groups_by_queue
                    .entry(from.name.as_str())
                    .or_default()
                    .push(Group {
                        // Only the traces read it.
                        label: if ctx.traces {
                            format!("{}.{}", s.name.value, c.name.value)
                        } else {
                            String::new()
                        },
                        work_s: c.work.as_ref().map_or(0.0, |w| w.value.0 / 1000.0),
                        concurrency: c.concurrency.value,
                        target: u,
                    });
            }
        }
    }
    let mut clusters: HashMap<QueueEngine, Cluster> = HashMap::new();
    ctx.program
        .queues
        .iter()
        .map(|q| {
            let groups = groups_by_queue
                .remove(q.name.value.as_str())
                .unwrap_or_default();
            size_queue(ctx, q, groups, &mut clusters, notes)
        })
        .collect()
}

/// Sizes one queue at the context's load.
fn size_queue<'c>(
    ctx: &Ctx<'c>,
    q: &Queue,
    groups: Vec<Group>,
    clusters: &mut HashMap<QueueEngine, Cluster<'c>>,
    notes: &mut Notes,
) -> QueueSizing {
    let name = &q.name.value;
    let r = ctx.loads.queues.get(name).copied().unwrap_or(0.0);
    let size = q.size.as_ref().map(|s| s.value.0);
    if size.is_none() && r > 0.0 {
        notes.add(
            "no message `size`: bytes, storage and partition throughput not estimated",
            name,
        );
    }
    let bytes_s = r * size.unwrap_or(0.0);
    let need = |g: &Group| ceil_count(r * g.work_s / g.target);
    let consumers_needed = groups.iter().map(need).max().unwrap_or(0);
    let kafka = q.engine.value == QueueEngine::Kafka;
    let pt = ctx.catalogue.defaults.partition_throughput_bytes_per_s;
    let by_throughput = ceil_count(bytes_s / pt);
    let declared_partitions = q.partitions.value;
    let partitions_needed = if kafka {
        by_throughput.max(consumers_needed).max(declared_partitions)
    } else {
        declared_partitions
    };
    let log_based = matches!(
        q.engine.value,
        QueueEngine::Kafka | QueueEngine::Nats | QueueEngine::Redis
    );
    let retention_s = q.retention.value.0 / 1000.0;
    let replication = f64::from(q.replication.value);
    let storage_bytes = if log_based {
        bytes_s * retention_s * replication
    } else {
        0.0
    };
    let cluster = if q.engine.value == QueueEngine::Sqs {
        notes.add(
            "sqs is priced per request, which the catalogue does not list: no broker cost",
            name,
        );
        Cluster::default()
    } else {
        if ctx.detail {
            notes.add(
            format!(
                "the {} queues share one broker cluster (the largest `brokers` declared), its cost split equally",
                q.engine.value
            ),
            name,
        );
        }
        *clusters
            .entry(q.engine.value)
            .or_insert_with(|| cluster(ctx, q.engine.value))
    };
    let hourly = cluster.class.map_or(0.0, |(_, c)| c.hourly);
    let hours = ctx.catalogue.hours_per_month;
    let cluster_cost = f64::from(cluster.brokers) * hourly * hours;
    let share = cluster_cost / cluster.queues.max(1) as f64;
    let monthly_cost = share + storage_bytes / 1e9 * ctx.catalogue.storage.ssd_gb_month;
    let cur = &ctx.catalogue.currency;
    let mut traces = Vec::new();
    if ctx.traces {
        traces.extend([
            trace(
                "rate",
                "Σ λ of the publishing endpoints, or the declared `rate`",
                vec![(
                    "declared",
                    if q.rate.is_some() {
                        "yes"
                    } else {
                        "no (derived)"
                    }
                    .to_string(),
                )],
                format!("{} messages/s", num(r)),
            ),
            trace(
                "consumers_needed",
                "concurrency units per group: ⌈r·work / u⌉ (the largest group)",
                groups
                    .iter()
                    .map(|g| {
                        (
                            "group",
                            format!(
                                "{}: work {}, u {} → {}",
                                g.label,
                                ms(g.work_s * 1000.0),
                                pct(g.target),
                                need(g)
                            ),
                        )
                    })
                    .chain([("r", rps(r))])
                    .collect(),
                num(f64::from(consumers_needed)),
            ),
            trace(
                "partitions_needed",
                if kafka {
                    "kafka: max(⌈bytes/s / partition_throughput⌉, consumers needed, declared)"
                } else {
                    "not kafka: the declared `partitions`"
                },
                vec![
                    ("bytes/s", format!("{}/s", bytes(bytes_s))),
                    ("partition_throughput", format!("{}/s", bytes(pt))),
                    ("consumers needed", num(f64::from(consumers_needed))),
                    ("declared", num(f64::from(declared_partitions))),
                ],
                num(f64::from(partitions_needed)),
            ),
            trace(
                "storage_bytes",
                if log_based {
                    "bytes/s × retention × replication"
                } else {
                    "deleted on acknowledgement: 0"
                },
                vec![
                    ("bytes/s", format!("{}/s", bytes(bytes_s))),
                    ("retention", format!("{} s", num(retention_s))),
                    ("replication", num(replication)),
                ],
                bytes(storage_bytes),
            ),
            trace(
                "monthly_cost",
                "brokers × hourly × hours / queues on the cluster + storage × SSD GB-month",
                vec![
                    ("brokers", num(f64::from(cluster.brokers))),
                    (
                        "broker class",
                        cluster.class.map_or("none".into(), |(n, c)| {
                            format!("{n} ({}/s)", bytes(c.throughput_bytes_per_s))
                        }),
                    ),
                    ("cluster bytes/s", format!("{}/s", bytes(cluster.bytes_s))),
                    ("hourly", money(hourly, cur)),
                    ("hours", num(hours)),
                    ("queues on the cluster", num(cluster.queues as f64)),
                    ("storage", bytes(storage_bytes)),
                    (
                        "SSD GB-month",
                        money(ctx.catalogue.storage.ssd_gb_month, cur),
                    ),
                ],
                money(monthly_cost, cur),
            ),
        ]);
        traces.extend(backlog_trace(ctx, r, &groups));
    }
    let mut ceilings: Vec<f64> = Vec::new();
    if r > 0.0 {
        for g in &groups {
            let per_unit = r * g.work_s / g.target;
            if per_unit > 0.0 {
                ceilings.push(f64::from(g.concurrency) / per_unit);
                if kafka {
                    ceilings.push(f64::from(declared_partitions) / per_unit);
                }
            }
        }
        if kafka && bytes_s > 0.0 {
            ceilings.push(f64::from(declared_partitions) * pt / bytes_s);
        }
    }
    QueueSizing {
        plan: QueuePlan {
            name: name.clone(),
            rate: r,
            consumers_needed,
            partitions_needed,
            storage_bytes,
            monthly_cost,
            traces,
        },
        saturates_at: ceilings.into_iter().reduce(f64::min),
    }
}

/// The broker cluster shared by the queues of one engine.
#[derive(Default, Clone, Copy)]
struct Cluster<'c> {
    brokers: u32,
    class: Option<(&'c str, &'c BrokerClass)>,
    queues: usize,
    bytes_s: f64,
}

fn cluster<'c>(ctx: &Ctx<'c>, engine: QueueEngine) -> Cluster<'c> {
    let members: Vec<&Queue> = ctx
        .program
        .queues
        .iter()
        .filter(|q| q.engine.value == engine)
        .collect();
    let declared = members
        .iter()
        .map(|q| q.brokers.value)
        .max()
        .unwrap_or(1)
        .max(1);
    let bytes_s: f64 = members
        .iter()
        .map(|q| {
            let r = ctx.loads.queues.get(&q.name.value).copied().unwrap_or(0.0);
            r * q.size.as_ref().map_or(0.0, |s| s.value.0)
        })
        .sum();
    let (brokers, class) = broker_class(ctx, bytes_s, declared);
    Cluster {
        brokers,
        class,
        queues: members.len(),
        bytes_s,
    }
}

/// The cheapest broker class carrying `bytes_s` over `declared` brokers, and the brokers
/// run: max(declared, ⌈bytes/s / class throughput⌉).
fn broker_class<'c>(
    ctx: &Ctx<'c>,
    bytes_s: f64,
    declared: u32,
) -> (u32, Option<(&'c str, &'c BrokerClass)>) {
    let classes = &ctx.catalogue.brokers;
    let per_broker = bytes_s / f64::from(declared);
    let fits = classes
        .iter()
        .filter(|(_, c)| c.throughput_bytes_per_s >= per_broker)
        .min_by(|(an, a), (bn, b)| {
            a.hourly
                .total_cmp(&b.hourly)
                .then(
                    a.throughput_bytes_per_s
                        .total_cmp(&b.throughput_bytes_per_s),
                )
                .then(an.cmp(bn))
        });
    let chosen = fits.or_else(|| {
        classes.iter().max_by(|(an, a), (bn, b)| {
            a.throughput_bytes_per_s
                .total_cmp(&b.throughput_bytes_per_s)
                .then(bn.cmp(an))
        })
    });
    match chosen {
        Some((n, c)) => {
            let by_throughput = ceil_count(bytes_s / c.throughput_bytes_per_s);
            (declared.max(by_throughput), Some((n.as_str(), c)))
        }
        None => (declared, None),
    }
}

fn backlog_trace(ctx: &Ctx, r: f64, groups: &[Group]) -> Option<crate::plan::report::Trace> {
    let slowest = groups
        .iter()
        .filter(|g| g.work_s > 0.0)
        .map(|g| f64::from(g.concurrency) / g.work_s)
        .reduce(f64::min)?;
    let system = ctx.program.system.as_ref();
    let detect_ms = system.map_or(0.0, |s| s.availability.detect.value.0);
    let rto_ms = system
        .and_then(|s| s.dr.as_ref())
        .and_then(|d| d.rto.as_ref())
        .map_or(DEFAULT_OUTAGE_MS, |r| r.value.0);
    let outage_s = (detect_ms + rto_ms) / 1000.0;
    let backlog = r * outage_s;
    let spare = slowest - r;
    let drain_s = if spare > 0.0 {
        backlog / spare
    } else {
        f64::INFINITY
    };
    Some(trace(
        "backlog",
        "after an outage of D = detect + rto (1h without rto): backlog r·D, drained in r·D / (capacity − r)",
        vec![
            ("r", rps(r)),
            ("D", format!("{} s", num(outage_s))),
            ("capacity (slowest group)", format!("{} messages/s", num(slowest))),
            ("backlog", format!("{} messages", num(backlog))),
        ],
        format!("drained in {} s", num(drain_s)),
    ))
}
