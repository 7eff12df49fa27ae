//! Properties of the estimate engine over the example programs: more load never means
//! fewer instances or a lower cost; more replicas never lower availability; autoscaled
//! services stay below full utilisation at their planned size; each saturation multiple is
//! where the re-run estimate crosses its ceiling; and perturbed numbers never panic.

use std::path::PathBuf;
use std::sync::OnceLock;

use archc::model::{Program, Spanned};
use archc::plan::catalogue::Catalogue;
use archc::plan::estimate::{plan, plan_scaled, PlanOptions};
use archc::plan::report::Plan;
use proptest::prelude::*;

const EXAMPLES: [&str; 4] = [
    "examples/minimal.arch",
    "examples/shop/main.arch",
    "examples/api-gateway.arch",
    "examples/timeline.arch",
];

fn examples() -> &'static [Program] {
    static PROGRAMS: OnceLock<Vec<Program>> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|e| {
                let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(e);
                let loaded = archc::cli::check_paths(&[path]).expect("the example loads");
                loaded.into_iter().next().expect("one program").program
            })
            .collect()
    })
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::builtin)
}

/// A short horizon keeps the properties fast; the horizon is tested by the golden plans.
fn options() -> PlanOptions {
    PlanOptions {
        horizon_months: Some(2),
        ..PlanOptions::default()
    }
}

fn at(program: &Program, k: f64) -> Plan {
    plan_scaled(program, catalogue(), &options(), k).expect("the example plans")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn more_load_never_means_fewer_instances_or_lower_cost(
        which in 0..EXAMPLES.len(),
        k in 0.0f64..20.0,
        more in 0.0f64..5.0,
    ) {
        let program = &examples()[which];
        let (low, high) = (at(program, k), at(program, k * (1.0 + more) + 1e-3));
        for (a, b) in low.services.iter().zip(&high.services) {
            prop_assert!(a.instances <= b.instances, "{}: {} > {}", a.name, a.instances, b.instances);
            prop_assert!(a.monthly_cost <= b.monthly_cost + 1e-9, "{}", a.name);
        }
        for (a, b) in low.databases.iter().zip(&high.databases) {
            prop_assert!(a.shards_needed <= b.shards_needed && a.replicas_needed <= b.replicas_needed);
            prop_assert!(a.monthly_cost <= b.monthly_cost + 1e-9, "{}", a.name);
        }
        for (a, b) in low.queues.iter().zip(&high.queues) {
            prop_assert!(a.partitions_needed <= b.partitions_needed && a.consumers_needed <= b.consumers_needed);
        }
        prop_assert!(low.cost.monthly_total <= high.cost.monthly_total + 1e-6);
        for w in high.horizon.windows(2) {
            prop_assert!(w[0].monthly_cost <= w[1].monthly_cost + 1e-6);
        }
    }

    #[test]
    fn more_replicas_never_lower_availability(
        which in 0..EXAMPLES.len(),
        extra in prop::collection::vec(0u32..4, 16),
    ) {
        let program = &examples()[which];
        let mut more = program.clone();
        let mut next = extra.iter().cycle();
        let mut bump = |r: &mut archc::model::Replicas| {
            let d = *next.next().unwrap_or(&0);
            r.min += d;
            r.max += d;
        };
        more.services.iter_mut().for_each(|s| bump(&mut s.replicas.value));
        more.gateways.iter_mut().for_each(|g| bump(&mut g.replicas.value));
        for d in &mut more.databases {
            let mut r = archc::model::Replicas::fixed(d.replicas.value);
            bump(&mut r);
            d.replicas.value = r.min;
        }
        let (before, after) = (at(program, 1.0), at(&more, 1.0));
        prop_assert!(after.availability.system >= before.availability.system - 1e-15);
        for (a, b) in before.routes.iter().zip(&after.routes) {
            prop_assert!(b.availability >= a.availability - 1e-15, "{}", a.route);
        }
    }

    #[test]
    fn autoscaled_services_stay_below_full_utilisation(
        which in 0..EXAMPLES.len(),
        k in 0.0f64..200.0,
    ) {
        let program = &examples()[which];
        let p = at(program, k);
        for (s, plan) in program.services.iter().zip(&p.services) {
            if s.replicas.value.is_autoscaled() || s.replicas.defaulted {
                prop_assert!(plan.utilization < 1.0, "{} at {k}: {}", s.name.value, plan.utilization);
                prop_assert!(plan.latency_ms.p99.is_finite());
            }
        }
    }

    #[test]
    fn plan_never_panics_on_perturbed_numbers(
        which in 0..EXAMPLES.len(),
        factors in prop::collection::vec(
            prop_oneof![Just(0.0), Just(1.0), 0.0f64..3.0, Just(1e6), Just(1e-6)],
            64,
        ),
        k in prop_oneof![Just(0.0), 0.0f64..100.0, Just(1e9)],
    ) {
        let mut program = examples()[which].clone();
        perturb(&mut program, &factors);
        for p in [
            plan(&program, catalogue(), &options()),
            plan_scaled(&program, catalogue(), &options(), k),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(serde_json::to_string(&p).is_ok());
            prop_assert!(p.cost.monthly_total >= 0.0);
            prop_assert!(p.bottlenecks.windows(2).all(|w| w[0].saturates_at <= w[1].saturates_at));
        }
    }
}

/// The saturation multiple of every autoscaled service and every database is where the
/// estimate, re-run at that multiple of the peak, crosses its ceiling.
#[test]
fn saturation_multiples_are_where_the_rerun_estimate_crosses_its_ceiling() {
    for program in examples() {
        let today = at(program, 1.0);
        for (s, plan) in program.services.iter().zip(&today.services) {
            let r = s.replicas.value;
            let Some(k) = plan.saturates_at.filter(|_| r.is_autoscaled()) else {
                continue;
            };
            let below = at(program, k * (1.0 - 1e-6));
            let above = at(program, k * (1.0 + 1e-6));
            let find = |p: &Plan| {
                p.services
                    .iter()
                    .find(|x| x.name == plan.name)
                    .map_or(0, |x| x.instances)
            };
            assert!(find(&below) <= r.max, "{} below {k}", s.name.value);
            assert!(find(&above) > r.max, "{} above {k}", s.name.value);
        }
        for (d, plan) in program.databases.iter().zip(&today.databases) {
            let Some(b) = today.bottlenecks.iter().find(|b| b.component == plan.name) else {
                continue;
            };
            let k = b.saturates_at;
            let class = catalogue()
                .database(&d.instance.value)
                .expect("a priced class");
            let u = catalogue().defaults.target_utilization / 100.0;
            let shards = f64::from(d.shards.value);
            // The declared layout carries the load: writes fit its shards, and the reads
            // of one shard fit its 1 + replicas nodes.
            let within = |p: &Plan| {
                p.databases
                    .iter()
                    .find(|x| x.name == plan.name)
                    .is_some_and(|x| {
                        x.writes_rps <= shards * class.writes_per_s * u
                            && x.reads_rps / shards
                                <= (1.0 + f64::from(d.replicas.value)) * class.reads_per_s * u
                    })
            };
            assert!(
                within(&at(program, k * (1.0 - 1e-6))),
                "{} below {k}",
                plan.name
            );
            assert!(
                !within(&at(program, k * (1.0 + 1e-6))),
                "{} above {k}",
                plan.name
            );
        }
    }
}

/// Multiplies every number the estimate reads by the next factor (cycling).
fn perturb(p: &mut Program, factors: &[f64]) {
    let mut next = factors.iter().copied().cycle();
    let mut f = move || next.next().unwrap_or(1.0);
    let count = |x: u32, f: f64| (f64::from(x) * f).min(1e6) as u32;
    if let Some(peak) = p
        .system
        .as_mut()
        .and_then(|s| s.traffic.as_mut())
        .and_then(|t| t.peak.as_mut())
    {
        peak.value.amount *= f();
    }
    for s in &mut p.services {
        s.replicas.value.min = count(s.replicas.value.min, f());
        s.replicas.value.max = count(s.replicas.value.max, f());
        for e in &mut s.endpoints {
            scale_opt(&mut e.rps, f(), |r, x| r.amount *= x);
            scale_opt(&mut e.share, f(), |s, x| s.0 *= x);
            scale_opt(&mut e.work, f(), |w, x| w.0 *= x);
            e.wait.value.0 *= f();
        }
        for c in &mut s.consumers {
            scale_opt(&mut c.work, f(), |w, x| w.0 *= x);
            c.concurrency.value = count(c.concurrency.value, f());
        }
    }
    for d in &mut p.databases {
        scale_opt(&mut d.storage, f(), |b, x| b.0 *= x);
        scale_opt(&mut d.growth, f(), |r, x| r.amount *= x);
        scale_opt(&mut d.reads, f(), |r, x| r.amount *= x);
        scale_opt(&mut d.writes, f(), |r, x| r.amount *= x);
        d.shards.value = count(d.shards.value, f());
        d.replicas.value = count(d.replicas.value, f());
    }
    for c in &mut p.caches {
        scale_opt(&mut c.keys, f(), |k, x| *k = count(*k, x));
        scale_opt(&mut c.value, f(), |b, x| b.0 *= x);
        scale_opt(&mut c.hit_ratio, f(), |h, x| h.0 *= x);
        scale_opt(&mut c.popularity, f(), |s, x| *s *= x);
        for l in &mut c.layers {
            l.nodes.value = count(l.nodes.value, f());
            scale_opt(&mut l.memory, f(), |b, x| b.0 *= x);
        }
    }
    for q in &mut p.queues {
        scale_opt(&mut q.rate, f(), |r, x| r.amount *= x);
        scale_opt(&mut q.size, f(), |b, x| b.0 *= x);
        q.partitions.value = count(q.partitions.value, f());
        q.brokers.value = count(q.brokers.value, f());
        q.retention.value.0 *= f();
    }
    for c in &mut p.cdns {
        scale_opt(&mut c.egress, f(), |r, x| r.amount *= x);
    }
}

fn scale_opt<T>(v: &mut Option<Spanned<T>>, x: f64, apply: impl FnOnce(&mut T, f64)) {
    if let Some(s) = v {
        apply(&mut s.value, x);
    }
}

/// Every rule fixture (many of them deliberately broken programs) plans or reports what it
/// lacks, without panicking.
#[test]
fn plan_never_panics_on_the_rule_fixtures() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let programs = archc::cli::check_paths(&[dir]).expect("the fixtures load");
    assert!(programs.len() > 100);
    for loaded in &programs {
        match plan(&loaded.program, catalogue(), &options()) {
            Ok(p) => assert!(serde_json::to_string(&p).is_ok()),
            Err(errors) => assert!(errors.iter().all(|e| e.is_error())),
        }
    }
}
