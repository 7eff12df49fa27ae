//! `infra/k8s/`: per service and gateway a Deployment (resources from the instance class,
//! probes from `health`, rolling update from `system.rollout`, zone spread), Service,
//! ConfigMap (the env the crate reads), PodDisruptionBudget and, when it scales, an
//! autoscaling/v2 HorizontalPodAutoscaler; per database CronJobs for `system.backup`,
//! materialized-view refreshes and partition maintenance; one `kustomization.yaml`.

use super::{secs, sql, Deployable, InfraFile, Model, PG_USER};
use crate::generate::templates::Templates;
use crate::model::*;
use serde::Serialize;

#[derive(Serialize)]
struct Probe {
    period: u64,
    timeout: u64,
    failure: u32,
    success: u32,
}

#[derive(Serialize)]
struct Metric {
    /// `Resource`, `Pods` or `External`.
    kind: &'static str,
    name: String,
    target: String,
    selector: Option<(String, String)>,
}

#[derive(Serialize)]
struct AppCtx<'a> {
    d: &'a Deployable,
    image: String,
    cpu: String,
    memory: String,
    /// `maxUnavailable` / `maxSurge` of the rollout and the PDB.
    batch: String,
    progress_deadline: u64,
    startup_failures: u64,
    readiness: Probe,
    liveness: Probe,
    zones: u32,
    zone_policy: &'static str,
    hpa: Option<Hpa>,
}

#[derive(Serialize)]
struct Hpa {
    min: u32,
    max: u32,
    metrics: Vec<Metric>,
    scale_down_window: u64,
}

#[derive(Serialize)]
struct JobCtx {
    name: String,
    schedule: String,
    script: String,
    volume: bool,
}

#[derive(Serialize)]
struct KustomizeCtx {
    resources: Vec<String>,
}

/// A batch as Kubernetes writes it: `"20%"` or a count.
fn batch(b: Batch) -> String {
    match b {
        Batch::Percent(p) => format!("{}%", p.round().clamp(1.0, 100.0) as u32),
        Batch::Count(c) => c.max(1).to_string(),
    }
}

fn hpa(model: &Model, d: &Deployable) -> Option<Hpa> {
    let service = model.program.service(&d.name);
    let autoscale = service.and_then(|s| s.autoscale.as_ref());
    if d.max_replicas <= d.min_replicas && autoscale.is_none() {
        return None;
    }
    let cpu = autoscale
        .and_then(|a| a.cpu.as_ref())
        .map(|c| c.value)
        .unwrap_or(model.catalogue.defaults.target_utilization);
    let mut metrics = vec![Metric {
        kind: "Resource",
        name: "cpu".into(),
        target: (cpu.round().clamp(1.0, 100.0) as u32).to_string(),
        selector: None,
    }];
    if let Some(rps) = autoscale.and_then(|a| a.rps.as_ref()) {
        // Served by a custom-metrics adapter from `http_requests_total` (prometheus-adapter).
        metrics.push(Metric {
            kind: "Pods",
            name: "http_requests_per_second".into(),
            target: format!("{}", rps.value.per_second().round().max(1.0) as u64),
            selector: None,
        });
    }
    if let (Some(q), Some(depth)) = (
        autoscale.and_then(|a| a.queue.as_ref()),
        autoscale.and_then(|a| a.depth.as_ref()),
    ) {
        metrics.push(Metric {
            kind: "External",
            name: "queue_lag_messages".into(),
            target: depth.value.to_string(),
            selector: Some(("queue".into(), q.name.clone())),
        });
    }
    let cooldown = autoscale
        .map(|a| super::conv::ms(a.cooldown.value) / 1000)
        .unwrap_or(300);
    Some(Hpa {
        min: d.min_replicas,
        max: d.max_replicas.max(d.min_replicas),
        metrics,
        scale_down_window: cooldown.min(3600),
    })
}

fn backup_job(model: &Model, db: &Database, b: &Backup) -> JobCtx {
    let schedule = match b.full.value {
        BackupFrequency::Hourly => "0 * * * *",
        BackupFrequency::Daily => "0 2 * * *",
        BackupFrequency::Weekly => "0 2 * * 0",
    };
    let retain = b.retain.as_ref();
    // Full dumps kept: the retention of the backup's own frequency.
    let keep = match b.full.value {
        BackupFrequency::Hourly => retain.and_then(|r| r.daily).map(|d| d * 24).unwrap_or(24),
        BackupFrequency::Daily => retain.and_then(|r| r.daily).unwrap_or(7),
        BackupFrequency::Weekly => retain.and_then(|r| r.weekly).unwrap_or(4),
    };
    let mut script = String::from("set -eu\nstamp=$(date -u +%Y%m%dT%H%M%SZ)\n");
    for p in model.pg.iter().filter(|p| p.database == db.name.value) {
        let file = format!("/backups/{}-shard{}", db.name.value, p.shard);
        script.push_str(&format!(
            "pg_dump --format=custom --host={} --username={PG_USER} --dbname={} --file={file}-$stamp.dump\n",
            p.host, db.name.value
        ));
        script.push_str(&format!(
            "ls -1t {file}-*.dump | tail -n +{} | xargs -r rm --\n",
            keep + 1
        ));
    }
    if let Some(off) = &b.offsite {
        script.push_str(&format!(
            "echo \"copy /backups to the offsite region {}\"\n",
            off.name
        ));
    }
    JobCtx {
        name: format!("{}-backup", super::dns(&db.name.value)),
        schedule: schedule.into(),
        script,
        volume: true,
    }
}

pub fn files(model: &Model, templates: &Templates, out: &mut Vec<InfraFile>) -> Result<(), String> {
    let rollout = model.program.system.as_ref().map(|s| &s.rollout);
    let batch_text = rollout
        .map(|r| batch(r.batch.value))
        .unwrap_or_else(|| "25%".into());
    let health_timeout_s = rollout
        .map(|r| super::conv::ms(r.health_timeout.value) / 1000)
        .unwrap_or(600)
        .max(10);
    let zones = model.zones();
    let mut resources = Vec::new();
    for d in &model.deployables {
        let period = secs(d.health_interval_ms);
        let ctx = AppCtx {
            d,
            image: format!("{}/{}:latest", super::dns(&model.system), d.host),
            cpu: d.vcpu.to_string(),
            memory: d.memory_bytes.to_string(),
            batch: batch_text.clone(),
            progress_deadline: health_timeout_s,
            // A new pod has the rollout's health timeout to come up.
            startup_failures: health_timeout_s.div_ceil(period).max(1),
            readiness: Probe {
                period,
                timeout: secs(d.health_timeout_ms),
                failure: d.unhealthy_after,
                success: d.healthy_after,
            },
            liveness: Probe {
                period,
                timeout: secs(d.health_timeout_ms),
                failure: d.unhealthy_after,
                success: 1,
            },
            zones,
            zone_policy: if d.min_replicas >= zones {
                "DoNotSchedule"
            } else {
                "ScheduleAnyway"
            },
            hpa: hpa(model, d),
        };
        let dir = format!("infra/k8s/{}", d.host);
        let mut kinds = vec!["deployment", "service", "configmap", "pdb"];
        if ctx.hpa.is_some() {
            kinds.push("hpa");
        }
        for kind in kinds {
            model.render(
                templates,
                &format!("infra/k8s/{kind}.yaml.j2"),
                &ctx,
                format!("{dir}/{kind}.yaml"),
                out,
            )?;
            resources.push(format!("{}/{kind}.yaml", d.host));
        }
    }
    let backup = model
        .program
        .system
        .as_ref()
        .and_then(|s| s.backup.as_ref());
    let sql_jobs = sql::jobs(model.program);
    for db in &model.program.databases {
        let mut jobs = Vec::new();
        if let Some(b) = backup {
            jobs.push(backup_job(model, db, b));
        }
        for j in sql_jobs.iter().filter(|j| j.database == db.name.value) {
            let mut script = String::from("set -eu\n");
            for p in model.pg.iter().filter(|p| p.database == db.name.value) {
                script.push_str(&format!(
                    "psql --host={} --username={PG_USER} --dbname={} -v ON_ERROR_STOP=1 -c {}\n",
                    p.host,
                    db.name.value,
                    shell_quote(&j.statement)
                ));
            }
            jobs.push(JobCtx {
                name: format!("{}-{}", super::dns(&db.name.value), super::dns(&j.name)),
                schedule: j.schedule.clone(),
                script,
                volume: false,
            });
        }
        let dir = format!("{}-jobs", super::dns(&db.name.value));
        for j in jobs {
            let file = format!("{}.yaml", j.name);
            model.render(
                templates,
                "infra/k8s/cronjob.yaml.j2",
                &j,
                format!("infra/k8s/{dir}/{file}"),
                out,
            )?;
            resources.push(format!("{dir}/{file}"));
        }
    }
    model.render(
        templates,
        "infra/k8s/kustomization.yaml.j2",
        &KustomizeCtx { resources },
        "infra/k8s/kustomization.yaml".into(),
        out,
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
