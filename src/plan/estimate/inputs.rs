//! What the estimate needs from the program and the catalogue, checked before anything is
//! computed: every instance and database class priced in the catalogue (A004, with a "did
//! you mean"), `work` on every endpoint and consumer that carries load (A007), a usable
//! autoscale target (A103); and the planning horizon, the monthly traffic growth and the
//! primary region's zones.

use crate::diagnostic::Diagnostic;
use crate::model::{LayerKind, Program, QueueEngine, RateUnit, Region};
use crate::plan::catalogue::Catalogue;
use crate::plan::load::{endpoint_key, Loads};

use super::PlanOptions;

/// Milliseconds in the 30-day month of the language (`1mo`).
pub const MONTH_MS: f64 = 30.0 * 86_400_000.0;

/// Seconds in the 30-day month of the language.
pub const MONTH_S: f64 = 30.0 * 86_400.0;

/// Seconds in the 365-day year of the language (`1y`), counted as 12 months for growth.
const YEAR_S: f64 = 365.0 * 86_400.0;

/// Months in the horizon when neither the options nor the program say.
const DEFAULT_HORIZON_MONTHS: u32 = 12;

/// Longest horizon table produced (50 years), so a typo such as `horizon = 2000y` cannot
/// make the table huge.
pub const MAX_HORIZON_MONTHS: u32 = 600;

/// Every input the model needs that the program or the catalogue lacks, as errors.
pub fn validate(program: &Program, catalogue: &Catalogue, loads: &Loads) -> Vec<Diagnostic> {
    let mut out = unknown_classes(program, catalogue);
    for s in &program.services {
        if let Some(cpu) = s.autoscale.as_ref().and_then(|a| a.cpu.as_ref()) {
            if !(cpu.value > 0.0 && cpu.value < 100.0) {
                out.push(
                    Diagnostic::error(
                        "A103",
                        cpu.span,
                        format!(
                            "service `{}` cannot be planned at an autoscale target of {}%",
                            s.name.value, cpu.value
                        ),
                    )
                    .with_primary_label("target outside (0%, 100%)")
                    .with_help("write a target such as `cpu = 70%`"),
                );
            }
        }
        for e in &s.endpoints {
            let load = loads
                .endpoints
                .get(&endpoint_key(s, e))
                .copied()
                .unwrap_or(0.0);
            if load > 0.0 && e.work.is_none() {
                out.push(
                    Diagnostic::error(
                        "A007",
                        e.name.span,
                        format!(
                            "endpoint `{}.{}` carries load but has no `work`",
                            s.name.value, e.name.value
                        ),
                    )
                    .with_primary_label("`work` missing")
                    .with_help(
                        "add `work = 2ms`: the CPU time one request takes, which sizes the service",
                    ),
                );
            }
        }
        for c in &s.consumers {
            let rate = c
                .from
                .as_ref()
                .and_then(|q| loads.queues.get(&q.name))
                .copied()
                .unwrap_or(0.0);
            if rate > 0.0 && c.work.is_none() {
                out.push(
                    Diagnostic::error(
                        "A007",
                        c.name.span,
                        format!(
                            "consumer `{}.{}` reads messages but has no `work`",
                            s.name.value, c.name.value
                        ),
                    )
                    .with_primary_label("`work` missing")
                    .with_help("add `work = 5ms`: the CPU time one message takes"),
                );
            }
        }
    }
    if catalogue.caches.is_empty() {
        for c in &program.caches {
            if let Some(l) = c.layers.iter().find(|l| l.kind.value == LayerKind::Redis) {
                out.push(
                    Diagnostic::error(
                        "A004",
                        l.kind.span,
                        format!(
                            "cache `{}` has a redis layer but the price catalogue has no cache class",
                            c.name.value
                        ),
                    )
                    .with_help("add a `[caches.NAME]` class with --pricing"),
                );
            }
        }
    }
    if catalogue.brokers.is_empty() {
        for q in program
            .queues
            .iter()
            .filter(|q| q.engine.value != QueueEngine::Sqs)
        {
            out.push(
                Diagnostic::error(
                    "A004",
                    q.name.span,
                    format!(
                        "queue `{}` runs on brokers but the price catalogue has no broker class",
                        q.name.value
                    ),
                )
                .with_help("add a `[brokers.NAME]` class with --pricing"),
            );
        }
    }
    out.sort_by_key(|d| (d.span.file, d.span.start, d.code));
    out
}

/// Every service, gateway and database whose class the catalogue does not price (A004, with
/// the closest known class). `archc check` reports the same through rule A004.
pub fn unknown_classes(program: &Program, catalogue: &Catalogue) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in &program.services {
        if catalogue.instance(&s.instance.value).is_none() {
            out.push(unknown_instance(catalogue, "service", &s.instance));
        }
    }
    for g in &program.gateways {
        if catalogue.instance(&g.instance.value).is_none() {
            out.push(unknown_instance(catalogue, "gateway", &g.instance));
        }
    }
    for d in &program.databases {
        if catalogue.database(&d.instance.value).is_none() {
            let name = &d.instance.value;
            let help = match catalogue.closest_database(name) {
                Some(near) => format!("did you mean `{near}`?"),
                None if catalogue.instance(name).is_some() => format!(
                    "`{name}` is an instance class for services; a database takes a database class: {}",
                    catalogue.database_names().join(", ")
                ),
                None => format!(
                    "the catalogue's database classes are {}; add `[databases.{name}]` with --pricing",
                    catalogue.database_names().join(", ")
                ),
            };
            out.push(
                Diagnostic::error(
                    "A004",
                    d.instance.span,
                    format!("database class `{name}` is not in the price catalogue"),
                )
                .with_primary_label("unknown database class")
                .with_help(help),
            );
        }
    }
    out
}

fn unknown_instance(
    catalogue: &Catalogue,
    kind: &str,
    class: &crate::model::Spanned<String>,
) -> Diagnostic {
    let name = &class.value;
    let help = match catalogue.closest_instance(name) {
        Some(near) => format!("did you mean `{near}`?"),
        None if catalogue.database(name).is_some() => format!(
            "`{name}` is a database class; a {kind} takes an instance class: {}",
            catalogue.instance_names().join(", ")
        ),
        None => format!(
            "the catalogue's instance classes are {}; add `[instances.\"{name}\"]` with --pricing",
            catalogue.instance_names().join(", ")
        ),
    };
    Diagnostic::error(
        "A004",
        class.span,
        format!("instance class `{name}` is not in the price catalogue"),
    )
    .with_primary_label("unknown instance class")
    .with_help(help)
}

/// Months in the horizon table: the option, else `system.traffic.horizon` in 30-day months
/// (rounded: `2y` is 24), else 12; at most [`MAX_HORIZON_MONTHS`].
pub fn horizon_months(program: &Program, options: &PlanOptions) -> u32 {
    let from_program = program
        .system
        .as_ref()
        .and_then(|s| s.traffic.as_ref())
        .map(|t| t.horizon.value.0 / MONTH_MS)
        .filter(|m| m.is_finite() && *m >= 0.0)
        .map(|m| m.round().min(f64::from(MAX_HORIZON_MONTHS)) as u32);
    options
        .horizon_months
        .or(from_program)
        .unwrap_or(DEFAULT_HORIZON_MONTHS)
        .min(MAX_HORIZON_MONTHS)
}

/// Monthly traffic growth g as a fraction, from `system.traffic.growth`: a rate of p% per
/// window compounds to (1 + p/100)^(1/w) − 1 per month, where w is the window in 30-day
/// months and a year counts as exactly 12 (`60%/y` → 3.99%/mo); 0 when not declared.
pub fn monthly_growth(program: &Program) -> f64 {
    let Some(growth) = program
        .system
        .as_ref()
        .and_then(|s| s.traffic.as_ref())
        .and_then(|t| t.growth.as_ref())
    else {
        return 0.0;
    };
    let rate = growth.value;
    if rate.unit != RateUnit::Percent || rate.window_s.is_nan() || rate.window_s <= 0.0 {
        return 0.0;
    }
    let months = if (rate.window_s - YEAR_S).abs() < 1.0 {
        12.0
    } else {
        rate.window_s / MONTH_S
    };
    let factor = (1.0 + rate.amount / 100.0).max(0.0);
    let g = factor.powf(1.0 / months) - 1.0;
    if g.is_finite() {
        g
    } else {
        0.0
    }
}

/// The primary region: the first of `system.regions`, else the first region declared.
pub fn primary_region(program: &Program) -> Option<&Region> {
    program
        .system
        .as_ref()
        .and_then(|s| s.regions.first())
        .and_then(|r| program.region(&r.name))
        .or_else(|| program.regions.first())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::estimate::plan;

    fn program(text: &str) -> Program {
        crate::load::load_text(text).program
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        match plan(
            &program(text),
            &Catalogue::builtin(),
            &PlanOptions::default(),
        ) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    #[test]
    fn an_endpoint_with_load_needs_work() {
        let e = errors(r#"service s { endpoint e { route = "GET /"  rps = 10/s } }"#);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].code, "A007");
        assert!(e[0].message.contains("`work`"), "{}", e[0].message);
        // Without load the missing work does not matter to the plan.
        assert!(errors(r#"service s { endpoint e { route = "GET /" } }"#).is_empty());
    }

    #[test]
    fn unknown_classes_are_a004_with_a_suggestion() {
        let e = errors(
            r#"service s { instance = m7i.larg  endpoint e { route = "GET /"  rps = 1/s  work = 1ms } }
               database d { instance = db_medum }
               gateway g { instance = m7i.large  route "/*" { to = s } }"#,
        );
        let found: Vec<(&str, Option<&str>)> =
            e.iter().map(|d| (d.code, d.help.as_deref())).collect();
        assert_eq!(
            found,
            vec![
                ("A004", Some("did you mean `m7i.large`?")),
                ("A004", Some("did you mean `db_medium`?"))
            ]
        );
        let e = errors("database d { instance = r6g.xlarge }");
        assert!(e[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("is an instance class")));
    }

    #[test]
    fn horizon_and_growth_come_from_the_traffic_block() {
        let p = program("system s { traffic { peak = 1k/s  growth = 60%/y  horizon = 2y } }");
        assert_eq!(horizon_months(&p, &PlanOptions::default()), 24);
        let forced = PlanOptions {
            horizon_months: Some(6),
            ..PlanOptions::default()
        };
        assert_eq!(horizon_months(&p, &forced), 6);
        assert!((monthly_growth(&p) - (1.6f64.powf(1.0 / 12.0) - 1.0)).abs() < 1e-12);
        let p = program("system s { traffic { peak = 1k/s  growth = 8%/mo  horizon = 18mo } }");
        assert_eq!(horizon_months(&p, &PlanOptions::default()), 18);
        assert!((monthly_growth(&p) - 0.08).abs() < 1e-12);
        let p = program("system s { }");
        assert_eq!(horizon_months(&p, &PlanOptions::default()), 12);
        assert_eq!(monthly_growth(&p), 0.0);
    }
}
