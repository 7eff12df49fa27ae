//! Databases (plan-model.md §4): shards and replicas needed, storage with growth, cost.
//!
//! - Reads and writes at the database come from `load` (cache misses, writes, or the
//!   declared `reads`/`writes`); per-node capacity from the catalogue class of `instance`;
//!   u is the catalogue's default target utilisation.
//! - Storage: `storage`, else Σ rows × row over the tables, else 0; month m holds
//!   storage + growth·m (growth in 30-day months).
//! - Shards needed = max(⌈writes / (writes_per_s·u)⌉, ⌈storage at horizon / storage_max⌉, 1).
//! - The plan runs max(declared, needed) shards. Reads per shard = reads / D with
//!   D = max(declared shards, storage shards, writes / (writes_per_s·u)): the write-driven
//!   shard figure before rounding up, so reads per shard never fall as load grows (spread
//!   over the rounded-up count, each new shard would drop replicas and cost with more
//!   load); it is at least the reads each of the shards run takes.
//! - Replicas needed = max(0, ⌈reads per shard / (reads_per_s·u)⌉ − 1); the plan runs
//!   max(declared, needed).
//! - Cost: shards × (1 + replicas) nodes at the class's hourly price, plus the month's
//!   storage stored (1 + replicas) times at the SSD GB-month price (1 GB = 10⁹ bytes).
//! - Ceiling: the declared shards and replicas; the multiple is
//!   min(shards·writes_per_s·u / writes, shards·(1 + replicas)·reads_per_s·u / reads);
//!   0 when the data at the horizon already needs more shards than declared.

use crate::model::Database;
use crate::plan::report::DatabasePlan;

use super::trace::{bytes, ceil_count, money, num, pct, rps, trace, Notes};
use super::Ctx;

/// A sized database and its saturation multiple.
pub struct DatabaseSizing {
    pub plan: DatabasePlan,
    pub saturates_at: Option<f64>,
}

/// Bytes in the GB of the price catalogue.
const GB: f64 = 1e9;

/// Sizes one database at the context's load and month.
pub fn size_database(ctx: &Ctx, d: &Database, notes: &mut Notes) -> DatabaseSizing {
    let name = &d.name.value;
    let load = ctx.loads.databases.get(name).cloned().unwrap_or_default();
    let (reads, writes) = (load.reads_rps, load.writes_rps);
    let class = ctx.catalogue.database(&d.instance.value);
    let (rps_node, wps_node, smax, hourly) = class.map_or((1.0, 1.0, f64::INFINITY, 0.0), |c| {
        (c.reads_per_s, c.writes_per_s, c.storage_max_bytes, c.hourly)
    });
    let u = ctx.catalogue.defaults.target_utilization / 100.0;
    if ctx.detail {
        notes.add(
            format!("the catalogue default target utilisation {}", pct(u)),
            name,
        );
    }
    let storage_now = base_storage(d, notes);
    let growth = d
        .growth
        .as_ref()
        .map_or(0.0, |g| g.per_second() * super::inputs::MONTH_S);
    let at_month = |m: u32| storage_now + growth * f64::from(m);
    let storage_h = at_month(ctx.horizon);
    let by_writes = ceil_count(writes / (wps_node * u));
    let by_storage = ceil_count(storage_h / smax);
    let shards_needed = by_writes.max(by_storage).max(1);
    let declared_shards = d.shards.value.max(1);
    let shards = shards_needed.max(declared_shards);
    let spread = f64::from(declared_shards.max(by_storage)).max(writes / (wps_node * u));
    let per_shard = reads / spread;
    let replicas_needed = ceil_count(per_shard / (rps_node * u)).saturating_sub(1);
    let hours = ctx.catalogue.hours_per_month;
    let replicas = replicas_needed.max(d.replicas.value);
    let copies = f64::from(replicas) + 1.0;
    let nodes = f64::from(shards) * copies;
    let stored_gb = at_month(ctx.month) * copies / GB;
    let node_cost = nodes * hourly * hours;
    let storage_cost = stored_gb * ctx.catalogue.storage.ssd_gb_month;
    let monthly_cost = node_cost + storage_cost;
    let cur = &ctx.catalogue.currency;
    let class_name = &d.instance.value;
    let traces = if !ctx.traces {
        Vec::new()
    } else {
        vec![
        trace(
            "reads_rps",
            "reads at the database: Σ readers' λ × (1 − hit ratio of the caches in front), or the declared `reads`",
            vec![("declared", yes_no(load.reads_declared))],
            rps(reads),
        ),
        trace(
            "writes_rps",
            "writes at the database: Σ writers' λ, or the declared `writes`",
            vec![("declared", yes_no(load.writes_declared))],
            rps(writes),
        ),
        trace(
            "shards_needed",
            "shards: max(⌈writes / (writes_per_s·u)⌉, ⌈storage at horizon / storage_max⌉, 1)",
            vec![
                ("writes", rps(writes)),
                ("writes_per_s", format!("{} ({class_name})", rps(wps_node))),
                ("u", pct(u)),
                ("storage at horizon", bytes(storage_h)),
                ("storage_max", bytes(smax)),
            ],
            num(f64::from(shards_needed)),
        ),
        trace(
            "replicas_needed",
            "read replicas per shard: max(0, ⌈reads per shard / (reads_per_s·u)⌉ − 1), reads per shard = reads / max(declared shards, storage shards, writes / (writes_per_s·u))",
            vec![
                ("reads", rps(reads)),
                ("reads per shard", rps(per_shard)),
                ("reads_per_s", format!("{} ({class_name})", rps(rps_node))),
                ("u", pct(u)),
            ],
            num(f64::from(replicas_needed)),
        ),
        trace(
            "storage_bytes_at_horizon",
            "storage + growth × months",
            vec![
                ("storage", bytes(storage_now)),
                ("growth", format!("{}/month", bytes(growth))),
                ("months", num(f64::from(ctx.horizon))),
            ],
            bytes(storage_h),
        ),
        trace(
            "monthly_cost",
            "shards × (1 + replicas) nodes × hourly × hours + storage × (1 + replicas) × SSD GB-month",
            vec![
                ("shards (max of declared and needed)", num(f64::from(shards))),
                ("replicas (max of declared and needed)", num(f64::from(replicas))),
                ("hourly", money(hourly, cur)),
                ("hours", num(hours)),
                ("storage this month", bytes(at_month(ctx.month))),
                (
                    "SSD GB-month",
                    money(ctx.catalogue.storage.ssd_gb_month, cur),
                ),
            ],
            money(monthly_cost, cur),
        ),
    ]
    };
    let ceilings = [
        (writes > 0.0).then(|| f64::from(declared_shards) * wps_node * u / writes),
        (reads > 0.0).then(|| {
            f64::from(declared_shards) * (1.0 + f64::from(d.replicas.value)) * rps_node * u / reads
        }),
    ];
    let by_load = ceilings.into_iter().flatten().reduce(f64::min);
    let saturates_at = if by_storage > declared_shards {
        Some(0.0)
    } else {
        by_load
    };
    DatabaseSizing {
        plan: DatabasePlan {
            name: name.clone(),
            reads_rps: reads,
            writes_rps: writes,
            shards_needed,
            replicas_needed,
            storage_bytes_at_horizon: storage_h,
            monthly_cost,
            traces,
        },
        saturates_at,
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no (derived)" }.to_string()
}

/// Data size today: `storage`, else Σ rows × row over the tables, else 0.
fn base_storage(d: &Database, notes: &mut Notes) -> f64 {
    if let Some(s) = &d.storage {
        return s.value.0;
    }
    let from_tables: f64 = d
        .tables
        .iter()
        .filter_map(|t| Some(t.rows.as_ref()?.value * t.row.as_ref()?.value.0))
        .sum();
    if from_tables > 0.0 {
        notes.add(
            "no `storage` declared: the data size is Σ rows × row of the tables",
            &d.name.value,
        );
    } else {
        notes.add(
            "no `storage` declared and no table sizes: storage taken as 0",
            &d.name.value,
        );
    }
    from_tables
}
