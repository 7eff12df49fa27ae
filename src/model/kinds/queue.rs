//! `queue`: engine, partitions, retention, delivery, retry, dead letters, error routing.

use super::common::*;
use crate::model::reader::{Reader, Sink};
use crate::model::value::*;
use crate::model::{Kind, Name};
use crate::syntax::ast::Block;
use schemars::JsonSchema;
use serde::Serialize;

keyword_enum! {
    /// Broker engines.
    QueueEngine { Kafka = "kafka", Rabbitmq = "rabbitmq", Redis = "redis", Sqs = "sqs", Nats = "nats" }
}
keyword_enum! {
    /// Delivery guarantees.
    Delivery { AtMostOnce = "at_most_once", AtLeastOnce = "at_least_once", ExactlyOnce = "exactly_once" }
}
keyword_enum! {
    /// RabbitMQ exchange types.
    Exchange { Direct = "direct", Fanout = "fanout", Topic = "topic" }
}
keyword_enum! {
    /// What happens to a failed message of an error class.
    ErrorAction { Retry = "retry", Discard = "discard", DeadLetter = "dead_letter" }
}

/// `errors { transient invalid business }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorRouting {
    pub transient: ErrorAction,
    pub invalid: ErrorAction,
    pub business: ErrorAction,
}

/// A queue or topic.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Queue {
    pub name: Name,
    pub engine: Spanned<QueueEngine>,
    pub partitions: Spanned<u32>,
    pub replication: Spanned<u32>,
    pub brokers: Spanned<u32>,
    pub retention: Spanned<Millis>,
    pub compaction: Option<Spanned<bool>>,
    pub max_length: Option<Spanned<u32>>,
    pub key: Option<Spanned<String>>,
    pub delivery: Spanned<Delivery>,
    pub rate: Option<Spanned<Rate>>,
    pub size: Option<Spanned<Bytes>>,
    pub priority: Option<Spanned<u32>>,
    pub delay: Option<Spanned<Millis>>,
    pub ttl: Option<Spanned<Millis>>,
    pub exchange: Option<Spanned<Exchange>>,
    /// None: a failed message is not redelivered by the queue itself.
    pub retry: Option<Retry>,
    pub dead_letter: Option<Ref>,
    pub errors: Option<ErrorRouting>,
}

pub(crate) fn lower_queue(block: &Block, sink: &Sink) -> Queue {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let engine = r
        .keyword("engine")
        .unwrap_or_else(|| dflt(&r, QueueEngine::Redis));
    let kafka = engine.value == QueueEngine::Kafka;
    let queue = Queue {
        name,
        partitions: r
            .int("partitions", 1)
            .unwrap_or_else(|| dflt(&r, if kafka { 6 } else { 1 })),
        replication: r
            .int("replication", 1)
            .unwrap_or_else(|| dflt(&r, if kafka { 3 } else { 1 })),
        brokers: r.int("brokers", 1).unwrap_or_else(|| dflt(&r, 3)),
        retention: r
            .positive_duration("retention")
            .unwrap_or_else(|| dflt(&r, Millis(7.0 * 86_400_000.0))),
        compaction: r.bool("compaction"),
        max_length: r.int("max_length", 1),
        key: r
            .word("key")
            .map(|k| Spanned::new(normalize(&k.value), k.span)),
        delivery: r
            .keyword("delivery")
            .unwrap_or_else(|| dflt(&r, Delivery::AtLeastOnce)),
        rate: r.rate("rate", RateUnit::Count),
        size: r.size("size"),
        priority: r.int("priority", 1),
        delay: r.duration("delay"),
        ttl: r.positive_duration("ttl"),
        exchange: r.keyword("exchange"),
        retry: sub(&r, "retry", |x| {
            retry(
                x,
                3,
                Some(Backoff::Exponential {
                    base_ms: 1_000.0,
                    max_ms: Some(300_000.0),
                }),
            )
        }),
        dead_letter: r.reference("dead_letter", &[Kind::Queue]),
        errors: sub(&r, "errors", |e| ErrorRouting {
            transient: e
                .keyword("transient")
                .map(|k| k.value)
                .unwrap_or(ErrorAction::Retry),
            invalid: e
                .keyword("invalid")
                .map(|k| k.value)
                .unwrap_or(ErrorAction::Discard),
            business: e
                .keyword("business")
                .map(|k| k.value)
                .unwrap_or(ErrorAction::DeadLetter),
        }),
        engine,
    };
    r.finish();
    queue
}
