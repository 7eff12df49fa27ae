//! `infra/rabbitmq/definitions.json` (exchanges, queues, bindings, dead-letter exchanges,
//! ttl, max priority, max length) and `infra/kafka/topics.json` (partitions, replication,
//! retention, compaction), and which brokers the compose stack runs.

use super::{conv, InfraFile, Model};
use crate::model::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// `AMQP_URL` in the generated stack (RabbitMQ's default user on the default vhost).
pub const AMQP_URL: &str = "amqp://guest:guest@rabbitmq:5672/%2f";
/// `KAFKA_BROKERS` in the generated stack: the single broker of `compose.yaml`.
pub const KAFKA_BROKERS: &str = "kafka:9092";

/// The brokers of the compose stack.
#[derive(Debug, Clone, Serialize)]
pub struct Brokers {
    pub rabbitmq: bool,
    pub nats: bool,
    pub sqs: bool,
    /// `kafka-topics.sh --create` commands, one per topic; empty without Kafka.
    pub kafka_topics: Vec<String>,
}

pub fn brokers(program: &Program) -> Brokers {
    let has = |e: QueueEngine| program.queues.iter().any(|q| q.engine.value == e);
    let kafka_topics = kafka_queues(program)
        .map(|q| {
            let t = topic(q);
            let mut cmd = format!(
                "/opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --create --if-not-exists --topic {} --partitions {} --replication-factor 1",
                t.name, t.partitions
            );
            for (k, v) in &t.configs {
                // One broker holds the only replica: acks=all writes would be refused
                // (NOT_ENOUGH_REPLICAS) under the cluster's min.insync.replicas.
                let v = if k == "min.insync.replicas" { "1" } else { v };
                cmd.push_str(&format!(" --config {k}={v}"));
            }
            cmd
        })
        .collect();
    Brokers {
        rabbitmq: has(QueueEngine::Rabbitmq),
        nats: has(QueueEngine::Nats),
        sqs: has(QueueEngine::Sqs),
        kafka_topics,
    }
}

fn kafka_queues(program: &Program) -> impl Iterator<Item = &Queue> {
    program
        .queues
        .iter()
        .filter(|q| q.engine.value == QueueEngine::Kafka)
}

#[derive(Serialize)]
struct Topic {
    name: String,
    partitions: u32,
    replication_factor: u32,
    configs: std::collections::BTreeMap<String, String>,
}

fn topic(q: &Queue) -> Topic {
    let mut configs = std::collections::BTreeMap::new();
    configs.insert(
        "retention.ms".to_string(),
        conv::ms(q.retention.value).to_string(),
    );
    let compact = q.compaction.as_ref().is_some_and(|c| c.value);
    configs.insert(
        "cleanup.policy".into(),
        if compact { "compact" } else { "delete" }.into(),
    );
    let replication = q.replication.value.max(1);
    // With acks=all a write survives the loss of all but one in-sync replica; keep one spare.
    configs.insert(
        "min.insync.replicas".into(),
        replication.saturating_sub(1).max(1).to_string(),
    );
    if let Some(size) = &q.size {
        // Room for a batch of the declared message size, never below Kafka's default.
        let max = conv::bytes(size.value).saturating_mul(4).max(1_048_588);
        configs.insert("max.message.bytes".into(), max.to_string());
    }
    Topic {
        name: q.name.value.clone(),
        partitions: q.partitions.value.max(1),
        replication_factor: replication,
        configs,
    }
}

fn rabbit_queue(program: &Program, q: &Queue) -> Value {
    let mut args = Map::new();
    if let Some(dl) = &q.dead_letter {
        if program
            .queue(&dl.name)
            .is_some_and(|d| d.engine.value == QueueEngine::Rabbitmq)
        {
            args.insert("x-dead-letter-exchange".into(), json!(dl.name));
            args.insert("x-dead-letter-routing-key".into(), json!(dl.name));
        }
    }
    // `ttl` is the per-message limit; without it, `retention` bounds how long a message waits.
    let ttl = q
        .ttl
        .as_ref()
        .map(|t| conv::ms(t.value))
        .unwrap_or_else(|| conv::ms(q.retention.value));
    if ttl > 0 {
        args.insert("x-message-ttl".into(), json!(ttl));
    }
    if let Some(p) = &q.priority {
        args.insert("x-max-priority".into(), json!(p.value.min(255)));
    }
    if let Some(m) = &q.max_length {
        args.insert("x-max-length".into(), json!(m.value));
        // A full queue refuses new messages (publishers see a nack) rather than dropping old ones.
        args.insert("x-overflow".into(), json!("reject-publish"));
    }
    json!({
        "name": q.name.value,
        "vhost": "/",
        "durable": true,
        "auto_delete": false,
        "arguments": Value::Object(args),
    })
}

fn exchange_type(q: &Queue) -> &'static str {
    match q.exchange.as_ref().map(|e| e.value) {
        Some(Exchange::Fanout) => "fanout",
        Some(Exchange::Topic) => "topic",
        _ => "direct",
    }
}

fn json_text(v: &impl Serialize, path: &str) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(v).map_err(|e| format!("{path}: {e}"))?;
    text.push('\n');
    Ok(text)
}

pub fn files(model: &Model, out: &mut Vec<InfraFile>) -> Result<(), String> {
    let program = model.program;
    let rabbit: Vec<&Queue> = program
        .queues
        .iter()
        .filter(|q| q.engine.value == QueueEngine::Rabbitmq)
        .collect();
    if !rabbit.is_empty() {
        // One exchange per queue, named after it: publishers send to the queue's name.
        let exchanges: Vec<Value> = rabbit
            .iter()
            .map(|q| {
                json!({"name": q.name.value, "vhost": "/", "type": exchange_type(q),
                       "durable": true, "auto_delete": false, "internal": false, "arguments": {}})
            })
            .collect();
        let bindings: Vec<Value> = rabbit
            .iter()
            .map(|q| {
                let key = match exchange_type(q) {
                    "topic" => "#".to_string(),
                    "fanout" => String::new(),
                    _ => q.name.value.clone(),
                };
                json!({"source": q.name.value, "vhost": "/", "destination": q.name.value,
                       "destination_type": "queue", "routing_key": key, "arguments": {}})
            })
            .collect();
        let defs = json!({
            "rabbit_version": "3.10.0",
            "vhosts": [{"name": "/"}],
            "exchanges": exchanges,
            "queues": rabbit.iter().map(|q| rabbit_queue(program, q)).collect::<Vec<_>>(),
            "bindings": bindings,
        });
        let path = "infra/rabbitmq/definitions.json";
        out.push(InfraFile {
            path: path.into(),
            text: json_text(&defs, path)?,
        });
    }
    let topics: Vec<Topic> = kafka_queues(program).map(topic).collect();
    if !topics.is_empty() {
        let path = "infra/kafka/topics.json";
        out.push(InfraFile {
            path: path.into(),
            text: json_text(&json!({ "topics": topics }), path)?,
        });
    }
    Ok(())
}
