//! `infra/compose.yaml` and the `infra/Dockerfile` it builds every crate with: each service
//! and gateway, Redis (or a Redis Cluster), one PostgreSQL per database shard and the
//! declared brokers, with ports, env vars, health checks and replicas.

use super::{broker, duration, redis, Deployable, InfraFile, Model, PG_USER};
use crate::generate::templates::Templates;
use serde::Serialize;

#[derive(Serialize)]
struct Postgres {
    host: String,
    database: String,
    /// The shard number of a sharded database (selects `shards/shard_N.sql`).
    shard: Option<u32>,
    /// `postgres -c key=value` settings (WAL archiving from `system.backup`).
    settings: Vec<String>,
}

#[derive(Serialize)]
struct ComposeCtx<'a> {
    user: &'static str,
    apps: Vec<App<'a>>,
    postgres: Vec<Postgres>,
    redis: Option<redis::RedisStack>,
    brokers: broker::Brokers,
}

#[derive(Serialize)]
struct App<'a> {
    d: &'a Deployable,
    /// Host port published (gateways only).
    publish: Option<u16>,
    replicas: u32,
    interval: String,
    timeout: String,
}

pub fn files(model: &Model, templates: &Templates, out: &mut Vec<InfraFile>) -> Result<(), String> {
    let backup = model
        .program
        .system
        .as_ref()
        .and_then(|s| s.backup.as_ref());
    let mut settings = Vec::new();
    if let Some(b) = backup {
        settings.push("wal_level=replica".to_string());
        if b.pitr.value || b.incremental.is_some() {
            settings.push("archive_mode=on".into());
            settings.push("archive_command=test ! -f /var/lib/postgresql/wal/%f && cp %p /var/lib/postgresql/wal/%f".into());
        }
        if let Some(inc) = &b.incremental {
            // A WAL segment is closed (and archived) at least this often: the incremental backup.
            let s = super::conv::ms(inc.value) / 1000;
            settings.push(format!("archive_timeout={}", s.clamp(1, 1_073_741_823)));
        }
    }
    let postgres = model
        .pg
        .iter()
        .map(|p| Postgres {
            host: p.host.clone(),
            database: p.database.clone(),
            shard: model
                .program
                .database(&p.database)
                .is_some_and(|d| d.shards.value > 1)
                .then_some(p.shard),
            settings: settings.clone(),
        })
        .collect();
    let apps = model
        .deployables
        .iter()
        .map(|d| App {
            d,
            // The gateway publishes its declared port on the host; one instance can bind it.
            publish: (d.kind == "gateway").then_some(d.port),
            replicas: if d.kind == "gateway" {
                1
            } else {
                d.min_replicas
            },
            interval: duration(d.health_interval_ms),
            timeout: duration(d.health_timeout_ms),
        })
        .collect();
    let ctx = ComposeCtx {
        user: PG_USER,
        apps,
        postgres,
        redis: redis::stack(model),
        brokers: broker::brokers(model.program),
    };
    model.render(
        templates,
        "infra/compose.yaml.j2",
        &ctx,
        "infra/compose.yaml".into(),
        out,
    )?;
    model.render(
        templates,
        "infra/Dockerfile.j2",
        &ctx,
        "infra/Dockerfile".into(),
        out,
    )
}
