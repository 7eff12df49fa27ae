//! A hand-built plan shaped like the shop example, for the renderers' unit tests.
use crate::plan::report::*;

fn trace(figure: &str, formula: &str, inputs: &[(&str, &str)], result: &str) -> Trace {
    Trace {
        figure: figure.into(),
        formula: formula.into(),
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        result: result.into(),
    }
}

fn service(name: &str, load: f64, n: u32, sat: Option<f64>, cost: f64) -> ServicePlan {
    let lat = Latency {
        p50: 2.1,
        p95: 6.4,
        p99: 11.9,
    };
    ServicePlan {
        name: name.into(),
        load_rps: load,
        instances: n,
        vcpu: 4,
        utilization: 0.64,
        latency_ms: lat,
        instances_zone_down: n + n.div_ceil(2),
        saturates_at: sat,
        monthly_cost: cost,
        traces: vec![trace(
            "instances",
            "n = max(min, ⌈λ·S / (c·u)⌉)",
            &[
                ("λ", "10.8k rps"),
                ("S", "2 ms"),
                ("c", "4"),
                ("u", "70%"),
                ("min", "3"),
            ],
            &n.to_string(),
        )],
    }
}

/// The sample plan.
pub(crate) fn plan() -> Plan {
    let horizon = (0..=18)
        .map(|m| HorizonMonth {
            month: m,
            peak_rps: 12_000.0 * 1.08f64.powi(m as i32),
            monthly_cost: 12_345.0 * 1.06f64.powi(m as i32),
        })
        .collect();
    let route = |r: &str, a: f64| RoutePlan {
        gateway: "edge".into(),
        route: r.into(),
        load_rps: 4_200.0,
        availability: a,
        latency_ms: Latency {
            p50: 4.0,
            p95: 15.2,
            p99: 38.5,
        },
        traces: vec![trace(
            "availability",
            "A = Π Aᵢ",
            &[("gateway", "99.9999%")],
            "99.99%",
        )],
    };
    let line = |n: &str, k: &str, m: f64| CostLine {
        name: n.into(),
        kind: k.into(),
        monthly: m,
    };
    Plan {
        services: vec![
            service("catalog", 10_800.0, 6, Some(2.4), 2_102.4),
            service("orders", 840.0, 3, Some(4.0), 1_051.2),
            service("notifications", 12.5, 2, None, 140.16),
        ],
        caches: vec![CachePlan {
            name: "products".into(),
            hit_ratio: 0.923,
            memory_bytes: 1.9e12,
            nodes: 3,
            monthly_cost: 503.7,
            traces: vec![trace(
                "hit_ratio",
                "H(k,s)/H(N,s)",
                &[("s", "0.9")],
                "92.3%",
            )],
        }],
        databases: vec![DatabasePlan {
            name: "orders_db".into(),
            reads_rps: 1_250.0,
            writes_rps: 420.0,
            shards_needed: 2,
            replicas_needed: 1,
            storage_bytes_at_horizon: 3.4e12,
            monthly_cost: 4_120.0,
            traces: Vec::new(),
        }],
        queues: vec![QueuePlan {
            name: "order_events".into(),
            rate: 420.0,
            consumers_needed: 4,
            partitions_needed: 6,
            storage_bytes: 2.5e11,
            monthly_cost: 153.3,
            traces: Vec::new(),
        }],
        routes: vec![
            route("GET /api/products/:id", 0.99990),
            route(
                "POST /api/orders/:id/checkout/with/a/very/long/path/segment",
                0.99930,
            ),
        ],
        availability: AvailabilityPlan {
            system: 0.99962,
            target: Some(0.9995),
            downtime_per_month_s: 985.0,
            weakest: Some("order_events".into()),
            traces: vec![trace("system", "Σ wᵣ·Aᵣ", &[("routes", "2")], "99.962%")],
        },
        cost: CostPlan {
            currency: "USD".into(),
            monthly_total: 12_345.0,
            by_component: vec![
                line("orders_db", "database", 4_120.0),
                line("catalog", "service", 2_102.4),
                line("orders", "service", 1_051.2),
                line("products", "cache", 503.7),
            ],
        },
        horizon,
        bottlenecks: vec![
            Bottleneck {
                component: "orders_db".into(),
                saturates_at: 1.8,
            },
            Bottleneck {
                component: "catalog".into(),
                saturates_at: 2.4,
            },
            Bottleneck {
                component: "orders".into(),
                saturates_at: 4.0,
            },
        ],
        assumptions: vec!["target utilisation 70% (catalogue default)".into()],
    }
}
