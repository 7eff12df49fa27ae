//! [`KafkaBroker`]: a [`Broker`] on Kafka (cargo feature `kafka`, client `rdkafka`, which
//! builds librdkafka from source: a C compiler and `make` are needed, no system library).
//! `KAFKA_BROKERS` lists the bootstrap brokers, `host:port,host:port`.
//!
//! Each queue is the topic of the same name, read through the consumer group
//! `archc.QUEUE`: the group shares the topic's partitions between the instances, so each
//! record goes to one of them, and the offsets it commits survive restarts. A key picks the
//! partition (librdkafka's partitioner), and a partition's records go to its handlers one
//! at a time ([`partitions`]), so records with the same key are handled in order whatever
//! the consumer's concurrency. The group commits an offset only when every record before it
//! is settled: acknowledged, dead-lettered, or its retry produced. A crash or a rebalance
//! therefore redelivers (at least once), never skips.
//!
//! Kafka has no delayed delivery. Retries and delayed publishes wait in the process and are
//! produced when due, the attempt in the `x-attempt` header; a retry's offset stays
//! uncommitted until then, a delayed publish is lost if the process dies first. Dead
//! letters are produced to the dead-letter queue's topic with `x-dead-letter-reason`,
//! `x-original-queue` and `x-attempts`. Priorities do not exist in Kafka (A510 refuses
//! them). The tests run it against Tansu, a Kafka-protocol broker
//! (`runtime/tests/kafka_backend.rs`); Apache Kafka itself is not installable here.

pub mod partitions;

use crate::queue::{Broker, BrokerError, Delivery, Message, MessageId};
use crate::BoxFuture;
use partitions::{Fetched, Partitions};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a metadata, watermark or committed-offset request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between tries to produce a due retry while the brokers refuse it.
const REPRODUCE_PAUSE: Duration = Duration::from_secs(1);
/// How long a receive waits on the client before polling it again.
const REPOLL: Duration = Duration::from_millis(250);

fn backend(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Backend(format!("kafka: {e}"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a delivery's record is, to settle its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    partition: i32,
    offset: i64,
}

/// Keeps [`Partitions`] in step with the group's assignments.
struct Rebalances {
    partitions: Arc<Mutex<Partitions>>,
}

impl ClientContext for Rebalances {}

impl ConsumerContext for Rebalances {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            lock(&self.partitions).revoked(&ids(list));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            lock(&self.partitions).assigned(&ids(list));
        }
    }
}

fn ids(list: &TopicPartitionList) -> Vec<i32> {
    list.elements().iter().map(|e| e.partition()).collect()
}

/// One queue's consumer in the group `archc.QUEUE`.
struct Topic {
    name: String,
    consumer: StreamConsumer<Rebalances>,
    partitions: Arc<Mutex<Partitions>>,
    subscribed: AtomicBool,
    /// Woken when a handler is done with a record, which may free its partition.
    freed: tokio::sync::Notify,
}

impl Topic {
    fn new(brokers: &str, name: &str) -> Result<Self, BrokerError> {
        let partitions = Arc::new(Mutex::new(Partitions::default()));
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", format!("archc.{name}"))
            .set("client.id", "archc")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            // Offsets are stored only once settled (see `Partitions::settled`).
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("allow.auto.create.topics", "true")
            .create_with_context(Rebalances {
                partitions: partitions.clone(),
            })
            .map_err(backend)?;
        Ok(Self {
            name: name.to_string(),
            consumer,
            partitions,
            subscribed: AtomicBool::new(false),
            freed: tokio::sync::Notify::new(),
        })
    }

    fn subscribe(&self) -> Result<(), BrokerError> {
        if !self.subscribed.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.consumer.subscribe(&[&self.name]) {
                self.subscribed.store(false, Ordering::Release);
                return Err(backend(e));
            }
        }
        Ok(())
    }

    /// The next record whose partition has none with a handler.
    async fn next(&self) -> Result<Fetched, BrokerError> {
        self.subscribe()?;
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let full = {
                let mut partitions = lock(&self.partitions);
                if let Some(record) = partitions.take() {
                    return Ok(record);
                }
                partitions.full()
            };
            if full {
                freed.await;
                continue;
            }
            tokio::select! {
                received = tokio::time::timeout(REPOLL, self.consumer.recv()) => match received {
                    Ok(Ok(m)) => lock(&self.partitions).push(fetched(&m)),
                    // The topic may be created after the consumer subscribed.
                    Ok(Err(e)) if unknown_topic(&e) => tokio::time::sleep(REPOLL).await,
                    Ok(Err(e)) => return Err(backend(e)),
                    // librdkafka wakes a waiting stream only when its queue turns from empty
                    // to not empty, and an event the poll consumed itself (a log line, a
                    // rebalance) can leave a record behind unannounced
                    // (rust-rdkafka#665): poll again.
                    Err(_) => {}
                },
                () = &mut freed => {}
            }
        }
    }

    /// A handler is done with the record at `at`; the record's offset is settled for good
    /// when `durable` (else [`Topic::settled`] follows once its retry is produced).
    fn free(&self, at: Position, durable: bool) {
        lock(&self.partitions).free(at.partition);
        self.freed.notify_waiters();
        if durable {
            self.settled(at);
        }
    }

    /// Stores the offset the group may commit now that `at` is settled. A partition that
    /// was revoked meanwhile refuses the store: its new owner reads from the last commit.
    fn settled(&self, at: Position) {
        let Some(offset) = lock(&self.partitions).settled(at.partition, at.offset) else {
            return;
        };
        let mut list = TopicPartitionList::new();
        if list
            .add_partition_offset(&self.name, at.partition, Offset::Offset(offset))
            .is_ok()
        {
            let _ = self.consumer.store_offsets(&list);
        }
    }

    /// Records in the topic after the group's position: this consumer's read position on
    /// the partitions it holds (plus what it fetched and has not handed out), the group's
    /// committed offset on the others, the earliest kept record where nothing is
    /// committed. Blocking: run off the async threads.
    fn lag(&self) -> Result<u64, BrokerError> {
        let metadata = match self
            .consumer
            .fetch_metadata(Some(&self.name), REQUEST_TIMEOUT)
        {
            Ok(m) => m,
            Err(e) if unknown_topic(&e) => return Ok(0),
            Err(e) => return Err(backend(e)),
        };
        let Some(topic) = metadata.topics().iter().find(|t| t.name() == self.name) else {
            return Ok(0);
        };
        if topic.error().is_some() {
            return Ok(0);
        }
        let ids: Vec<i32> = topic.partitions().iter().map(|p| p.id()).collect();
        let mut all = TopicPartitionList::new();
        for id in &ids {
            all.add_partition(&self.name, *id);
        }
        let committed = offsets(
            &self
                .consumer
                .committed_offsets(all, REQUEST_TIMEOUT)
                .map_err(backend)?,
        );
        let held = if self.subscribed.load(Ordering::Acquire) {
            offsets(&self.consumer.position().map_err(backend)?)
        } else {
            HashMap::new()
        };
        let mut lag = 0u64;
        for id in ids {
            let (low, high) = self
                .consumer
                .fetch_watermarks(&self.name, id, REQUEST_TIMEOUT)
                .map_err(backend)?;
            let buffered = lock(&self.partitions).buffered_in(id) as i64;
            let from = match (held.get(&id), committed.get(&id)) {
                (Some(position), _) => position - buffered,
                (None, Some(commit)) => *commit,
                (None, None) => low,
            };
            lag += u64::try_from(high - from.max(low)).unwrap_or(0);
        }
        Ok(lag)
    }
}

/// The valid offsets of a partition list, by partition.
fn offsets(list: &TopicPartitionList) -> HashMap<i32, i64> {
    list.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}

fn unknown_topic(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic)
    )
}

fn fetched(m: &impl rdkafka::Message) -> Fetched {
    Fetched {
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        headers: m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A record to produce.
#[derive(Debug, Clone)]
struct Outgoing {
    topic: String,
    key: Option<String>,
    payload: Vec<u8>,
    headers: BTreeMap<String, String>,
}

impl Outgoing {
    fn new(topic: &str, payload: &[u8], key: Option<&str>, id: MessageId, attempt: u32) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert("x-message-id".to_string(), id.to_string());
        headers.insert("x-attempt".to_string(), attempt.to_string());
        Self {
            topic: topic.to_string(),
            key: key.map(str::to_string),
            payload: payload.to_vec(),
            headers,
        }
    }

    fn with_headers(mut self, headers: &BTreeMap<String, String>) -> Self {
        for (k, v) in headers {
            self.headers.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    async fn produce(&self, producer: &FutureProducer) -> Result<(), BrokerError> {
        let headers = self.headers.iter().fold(OwnedHeaders::new(), |hs, (k, v)| {
            hs.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            })
        });
        let mut record = FutureRecord::to(&self.topic)
            .payload(&self.payload)
            .headers(headers);
        if let Some(key) = &self.key {
            record = record.key(key);
        }
        producer
            .send(record, REQUEST_TIMEOUT)
            .await
            .map(|_| ())
            .map_err(|(e, _)| backend(e))
    }
}

/// Queues on Kafka topics.
pub struct KafkaBroker {
    brokers: String,
    producer: FutureProducer,
    topics: Mutex<HashMap<String, Arc<Topic>>>,
    in_flight: Mutex<HashMap<(String, MessageId), VecDeque<Position>>>,
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

    /// Produces `record` now, or from a timer after `delay`.
    async fn produce_after(&self, record: Outgoing, delay: Duration) -> Result<(), BrokerError> {
        if delay.is_zero() {
            return record.produce(&self.producer).await;
        }
        let producer = self.producer.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = record.produce(&producer).await;
        });
        Ok(())
    }

    /// Takes `delivery` out of flight: where its record is, and its topic's consumer.
    fn take(&self, delivery: &Delivery) -> Result<(Arc<Topic>, Position), BrokerError> {
        let key = (delivery.queue.clone(), delivery.id);
        let position = {
            let mut in_flight = lock(&self.in_flight);
            let positions = in_flight
                .get_mut(&key)
                .ok_or(BrokerError::UnknownDelivery(delivery.id))?;
            let position = positions
                .pop_front()
                .ok_or(BrokerError::UnknownDelivery(delivery.id))?;
            if positions.is_empty() {
                in_flight.remove(&key);
            }
            position
        };
        Ok((self.topic(&delivery.queue)?, position))
    }

    fn delivery(&self, queue: &str, record: Fetched) -> Delivery {
        let mut headers: BTreeMap<String, String> = record
            .headers
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let id = headers
            .remove("x-message-id")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| self.next_id.fetch_add(1, Ordering::Relaxed));
        let attempt = headers
            .remove("x-attempt")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        lock(&self.in_flight)
            .entry((queue.to_string(), id))
            .or_default()
            .push_back(Position {
                partition: record.partition,
                offset: record.offset,
            });
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
            self.produce_after(record, message.delay).await?;
            Ok(id)
        })
    }

    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
        Box::pin(async move {
            let record = self.topic(queue)?.next().await?;
            Ok(self.delivery(queue, record))
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
            if delay.is_zero() {
                record.produce(&self.producer).await?;
                topic.settled(at);
                return Ok(());
            }
            // The offset is committed once the retry is in the topic: until then a crash
            // redelivers the original instead.
            let producer = self.producer.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                while record.produce(&producer).await.is_err() {
                    tokio::time::sleep(REPRODUCE_PAUSE).await;
                }
                topic.settled(at);
            });
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
            headers.insert("x-dead-letter-reason".into(), reason.to_string());
            headers.insert("x-original-queue".into(), delivery.queue.clone());
            headers.insert("x-attempts".into(), delivery.attempt.to_string());
            let record = Outgoing::new(
                dead_letter,
                &delivery.payload,
                delivery.key.as_deref(),
                delivery.id,
                1,
            )
            .with_headers(&headers);
            // A dead letter that cannot be produced leaves the offset uncommitted: the
            // record comes back after a restart or a rebalance.
            record.produce(&self.producer).await?;
            topic.settled(at);
            Ok(())
        })
    }

    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
        Box::pin(async move {
            let topic = self.topic(queue)?;
            tokio::task::spawn_blocking(move || topic.lag())
                .await
                .map_err(backend)?
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
