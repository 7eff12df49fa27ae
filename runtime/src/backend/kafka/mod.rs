//! [`KafkaBroker`]: a [`Broker`] on Kafka (cargo feature `kafka`, client `rdkafka`, which
//! builds librdkafka from source: a C compiler and `make` are needed, no system library).
//! `KAFKA_BROKERS` lists the bootstrap brokers, `host:port,host:port`.
//!
//! Each queue is the topic of the same name, read through the consumer group
//! `archc.QUEUE`: the group shares the topic's partitions between the instances, so each
//! record goes to one of them, and the offsets it commits survive restarts. A key picks the
//! partition (librdkafka's partitioner), and a partition's records go to its handlers one
//! at a time (`partitions.rs`), so records with the same key are handled in order whatever
//! the consumer's concurrency (a retry goes to the end of its partition, and after a
//! rebalance the new owner may start while the old one finishes). The group commits an
//! offset only when every record before it is settled: acknowledged, dead-lettered, or its
//! retry produced. A crash or a rebalance therefore redelivers (at least once), never
//! skips. A delivery carries where it was read from in `x-kafka-partition` and
//! `x-kafka-offset`.
//!
//! Kafka has no delayed delivery. Retries and delayed publishes wait in the process and are
//! produced when due, the attempt in the `x-attempt` header; a retry's offset stays
//! uncommitted until then, a delayed publish is lost if the process dies first. They count
//! in the queue's lag while they wait. Dead letters are produced to the dead-letter queue's
//! topic with `x-dead-letter-reason`, `x-original-queue` and `x-attempts`. Priorities do
//! not exist in Kafka (A510 refuses them). The tests run it against Tansu, a Kafka-protocol broker
//! (`runtime/tests/kafka_backend.rs`); Apache Kafka itself is not installable here.

mod partitions;
mod produce;
mod topic;

use crate::queue::{
    mark_dead_letter, take_id_and_attempt, Broker, BrokerError, Delivery, Message, MessageId,
};
use crate::BoxFuture;
use partitions::Fetched;
use produce::{Outgoing, OFFSET_HEADER, PARTITION_HEADER};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, Producer};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use topic::{Position, Topic};

/// How long a metadata, watermark or committed-offset request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

fn backend(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Backend(format!("kafka: {e}"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records waiting in the process to be produced (delayed publishes and retries), by topic.
#[derive(Debug, Default)]
struct Waiting(Mutex<HashMap<String, u64>>);

impl Waiting {
    fn add(&self, topic: &str) {
        *lock(&self.0).entry(topic.to_string()).or_default() += 1;
    }

    fn done(&self, topic: &str) {
        if let Some(n) = lock(&self.0).get_mut(topic) {
            *n = n.saturating_sub(1);
        }
    }

    fn count(&self, topic: &str) -> u64 {
        lock(&self.0).get(topic).copied().unwrap_or(0)
    }
}

/// Where a delivery was read from, and which read: one entry per delivery out.
type InFlight = HashMap<(String, i32, i64), VecDeque<u64>>;

/// Queues on Kafka topics.
pub struct KafkaBroker {
    brokers: String,
    producer: FutureProducer,
    topics: Mutex<HashMap<String, Arc<Topic>>>,
    in_flight: Mutex<InFlight>,
    waiting: Arc<Waiting>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KafkaBroker")
    }
}

impl KafkaBroker {
    /// Connects to the bootstrap brokers `brokers` (`host:port,…`).
    pub async fn connect(brokers: &str) -> Result<Self, String> {
        let list: Vec<&str> = brokers
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .collect();
        if list.is_empty() {
            return Err("no broker listed".into());
        }
        let brokers = list.join(",");
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("client.id", "archc")
            .set("message.timeout.ms", "10000")
            .create()
            .map_err(|e| format!("cannot set up the client: {e}"))?;
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        let broker = Self {
            brokers,
            producer,
            topics: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            waiting: Arc::default(),
            next_id: AtomicU64::new(start.saturating_mul(1_000_000)),
        };
        broker
            .ping()
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        Ok(broker)
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>, BrokerError> {
        let mut topics = lock(&self.topics);
        if let Some(t) = topics.get(name) {
            return Ok(t.clone());
        }
        let topic = Arc::new(Topic::new(&self.brokers, name)?);
        topics.insert(name.to_string(), topic.clone());
        Ok(topic)
    }

    /// Produces `record` after `delay` from a timer, then runs `then`. The record counts in
    /// its topic's lag meanwhile.
    fn produce_later(
        &self,
        record: Outgoing,
        delay: Duration,
        then: impl FnOnce() + Send + 'static,
    ) {
        let (producer, waiting) = (self.producer.clone(), self.waiting.clone());
        waiting.add(record.topic());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let produced = record.deliver(&producer).await;
            waiting.done(record.topic());
            if produced.is_ok() {
                then();
            }
        });
    }

    /// Takes `delivery` out of flight: where its record is, and its topic's consumer.
    fn take(&self, delivery: &Delivery) -> Result<(Arc<Topic>, Position), BrokerError> {
        let unknown = BrokerError::UnknownDelivery(delivery.id);
        let header = |name: &str| delivery.headers.get(name).map(String::as_str);
        let partition = header(PARTITION_HEADER).and_then(|v| v.parse::<i32>().ok());
        let offset = header(OFFSET_HEADER).and_then(|v| v.parse::<i64>().ok());
        let (Some(partition), Some(offset)) = (partition, offset) else {
            return Err(unknown);
        };
        let key = (delivery.queue.clone(), partition, offset);
        let generation = {
            let mut in_flight = lock(&self.in_flight);
            let reads = in_flight.get_mut(&key).ok_or(unknown.clone())?;
            let generation = reads.pop_front().ok_or(unknown)?;
            if reads.is_empty() {
                in_flight.remove(&key);
            }
            generation
        };
        let at = Position {
            partition,
            offset,
            generation,
        };
        Ok((self.topic(&delivery.queue)?, at))
    }

    fn delivery(&self, queue: &str, record: Fetched, at: Position) -> Delivery {
        let mut headers: BTreeMap<String, String> = record
            .headers
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let (id, attempt) = take_id_and_attempt(&mut headers, &self.next_id);
        headers.insert(PARTITION_HEADER.to_string(), at.partition.to_string());
        headers.insert(OFFSET_HEADER.to_string(), at.offset.to_string());
        lock(&self.in_flight)
            .entry((queue.to_string(), at.partition, at.offset))
            .or_default()
            .push_back(at.generation);
        Delivery {
            id,
            queue: queue.to_string(),
            payload: record.payload,
            key: record.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
            priority: 0,
            attempt,
            headers,
        }
    }
}

impl Broker for KafkaBroker {
    fn publish<'a>(
        &'a self,
        queue: &'a str,
        message: Message,
    ) -> BoxFuture<'a, Result<MessageId, BrokerError>> {
        Box::pin(async move {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let record = Outgoing::new(queue, &message.payload, message.key.as_deref(), id, 1)
                .with_headers(&message.headers);
            if message.delay.is_zero() {
                record.send(&self.producer).await?;
            } else {
                self.produce_later(record, message.delay, || {});
            }
            Ok(id)
        })
    }

    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
        Box::pin(async move {
            let (record, at) = self.topic(queue)?.next().await?;
            Ok(self.delivery(queue, record, at))
        })
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        let taken = self.take(delivery);
        Box::pin(async move {
            let (topic, at) = taken?;
            topic.free(at, true);
            Ok(())
        })
    }

    fn retry<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let (topic, at) = self.take(delivery)?;
            topic.free(at, false);
            let mut headers = delivery.headers.clone();
            headers.insert("x-last-error".into(), error.to_string());
            let record = Outgoing::new(
                &delivery.queue,
                &delivery.payload,
                delivery.key.as_deref(),
                delivery.id,
                delivery.attempt + 1,
            )
            .with_headers(&headers);
            // The offset is committed once the retry is in the topic: until then a crash
            // redelivers the original instead. A retry the brokers refuse for good leaves
            // it uncommitted.
            if delay.is_zero() {
                record.deliver(&self.producer).await?;
                topic.settled(at);
            } else {
                self.produce_later(record, delay, move || topic.settled(at));
            }
            Ok(())
        })
    }

    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        dead_letter: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let (topic, at) = self.take(delivery)?;
            topic.free(at, false);
            let mut headers = delivery.headers.clone();
            mark_dead_letter(&mut headers, &delivery.queue, delivery.attempt, reason);
            let record = Outgoing::new(
                dead_letter,
                &delivery.payload,
                delivery.key.as_deref(),
                delivery.id,
                1,
            )
            .with_headers(&headers);
            // A dead letter the brokers refuse for good (too large, say) leaves the offset
            // uncommitted: the record comes back after a restart or a rebalance.
            record.deliver(&self.producer).await?;
            topic.settled(at);
            Ok(())
        })
    }

    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
        Box::pin(async move {
            let topic = self.topic(queue)?;
            let in_topic = tokio::task::spawn_blocking(move || topic.lag())
                .await
                .map_err(backend)??;
            Ok(in_topic + self.waiting.count(queue))
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        let producer = self.producer.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                producer
                    .client()
                    .fetch_metadata(None, REQUEST_TIMEOUT)
                    .map(|_| ())
                    .map_err(|e| format!("kafka: {e}"))
            })
            .await
            .map_err(|e| format!("kafka: {e}"))?
        })
    }
}
