//! `infra/redis/redis.conf` (the Redis the compose stack runs, shared by caches, limits and
//! streams) and `infra/redis/CACHE.conf` per cache with a Redis layer (its own maxmemory per
//! node, eviction policy and cluster mode, for a dedicated deployment).

use super::{InfraFile, Model};
use crate::generate::templates::Templates;
use crate::model::*;
use serde::Serialize;

/// Nodes of the local Redis Cluster: the fewest masters Redis Cluster accepts.
const LOCAL_CLUSTER_NODES: u32 = 3;

/// The Redis of the compose stack.
#[derive(Debug, Clone, Serialize)]
pub struct RedisStack {
    pub cluster: bool,
    pub hosts: Vec<String>,
    /// The one-shot command that joins the cluster nodes.
    pub create: String,
}

/// The host `REDIS_URL` points at.
pub fn host(program: &Program) -> String {
    if program.redis_cluster() {
        "redis-0".into()
    } else {
        "redis".into()
    }
}

/// `REDIS_URL` in the generated stack.
pub fn url(program: &Program) -> String {
    format!("redis://{}:6379", host(program))
}

/// The compose Redis, when some service or gateway reads `REDIS_URL`.
pub fn stack(model: &Model) -> Option<RedisStack> {
    let used = model
        .deployables
        .iter()
        .any(|d| d.env.iter().any(|e| e.name == "REDIS_URL"));
    if !used {
        return None;
    }
    let cluster = model.program.redis_cluster();
    let hosts = if cluster {
        (0..LOCAL_CLUSTER_NODES)
            .map(|n| format!("redis-{n}"))
            .collect()
    } else {
        vec!["redis".into()]
    };
    let nodes: Vec<String> = hosts.iter().map(|h| format!("{h}:6379")).collect();
    let create = format!(
        "redis-cli --cluster create {} --cluster-replicas 0 --cluster-yes",
        nodes.join(" ")
    );
    Some(RedisStack {
        cluster,
        hosts,
        create,
    })
}

/// Redis's spelling of an eviction policy.
fn policy(e: Eviction) -> &'static str {
    match e {
        Eviction::AllkeysLru => "allkeys-lru",
        Eviction::AllkeysLfu => "allkeys-lfu",
        Eviction::VolatileLru => "volatile-lru",
        Eviction::Noeviction => "noeviction",
    }
}

#[derive(Serialize)]
struct ConfCtx {
    title: String,
    maxmemory: u64,
    policy: &'static str,
    cluster: bool,
    notes: Vec<String>,
}

/// Memory one node holds: a cluster splits `memory` over its nodes; otherwise every node
/// (primary and replicas) holds all of it.
fn per_node(l: &CacheLayer) -> u64 {
    let memory = l
        .memory
        .as_ref()
        .map(|m| super::conv::bytes(m.value))
        .unwrap_or(0);
    if l.cluster.value {
        memory.div_ceil(u64::from(l.nodes.value.max(1)))
    } else {
        memory
    }
}

pub fn files(model: &Model, templates: &Templates, out: &mut Vec<InfraFile>) -> Result<(), String> {
    let program = model.program;
    let mut shared_memory = 0u64;
    let mut policies = Vec::new();
    let mut notes = Vec::new();
    for c in &program.caches {
        for l in c.layers.iter().filter(|l| l.kind.value == LayerKind::Redis) {
            let maxmemory = per_node(l);
            shared_memory = shared_memory.saturating_add(maxmemory);
            policies.push(l.eviction.value);
            notes.push(format!(
                "cache {}: {} node(s), maxmemory {} per node, {}",
                c.name.value,
                l.nodes.value,
                maxmemory,
                policy(l.eviction.value)
            ));
            let ctx = ConfCtx {
                title: format!("cache `{}`", c.name.value),
                maxmemory,
                policy: policy(l.eviction.value),
                cluster: l.cluster.value,
                notes: vec![format!(
                    "{} node(s){}",
                    l.nodes.value,
                    if l.cluster.value {
                        ", Redis Cluster: memory split over the nodes"
                    } else {
                        ": a primary and replicas, each holding all the memory"
                    }
                )],
            };
            model.render(
                templates,
                "infra/redis.conf.j2",
                &ctx,
                format!("infra/redis/{}.conf", c.name.value),
                out,
            )?;
        }
    }
    let Some(stack) = stack(model) else {
        return Ok(());
    };
    let streams = program
        .queues
        .iter()
        .any(|q| q.engine.value == QueueEngine::Redis);
    let limits = model
        .deployables
        .iter()
        .any(|d| d.env.iter().any(|e| e.name == "REDIS_URL"))
        && !program.limits.is_empty();
    let shared_policy = shared_policy(&policies, streams || limits);
    if streams {
        notes.push("Redis Streams queues live here: their keys have no ttl, so only volatile policies keep them".into());
    }
    let ctx = ConfCtx {
        title: "the stack's shared Redis (caches, distributed limits, streams)".into(),
        maxmemory: shared_memory,
        policy: shared_policy,
        cluster: stack.cluster,
        notes,
    };
    model.render(
        templates,
        "infra/redis.conf.j2",
        &ctx,
        "infra/redis/redis.conf".into(),
        out,
    )
}

/// One policy for a Redis several caches (and maybe streams and limit counters) share.
/// A single cache alone keeps its own; otherwise `noeviction` wins if any asks for it, and
/// the rest becomes a `volatile-*` policy so keys without a ttl (streams) are never evicted.
fn shared_policy(policies: &[Eviction], other_data: bool) -> &'static str {
    if policies.contains(&Eviction::Noeviction) {
        return "noeviction";
    }
    match policies {
        [] => "noeviction",
        [one] if !other_data => policy(*one),
        all if all.iter().all(|p| *p == Eviction::AllkeysLfu) => "volatile-lfu",
        _ => "volatile-lru",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_redis_never_evicts_keys_without_a_ttl() {
        assert_eq!(shared_policy(&[Eviction::AllkeysLfu], false), "allkeys-lfu");
        assert_eq!(shared_policy(&[Eviction::AllkeysLfu], true), "volatile-lfu");
        assert_eq!(
            shared_policy(&[Eviction::AllkeysLru, Eviction::AllkeysLfu], false),
            "volatile-lru"
        );
        assert_eq!(
            shared_policy(&[Eviction::VolatileLru, Eviction::Noeviction], false),
            "noeviction"
        );
    }
}
