//! [`KafkaBroker`]: a [`Broker`] on Kafka (cargo feature `kafka`, pure-Rust client
//! `rskafka`, no C library needed). `KAFKA_BROKERS` lists the bootstrap brokers,
//! `host:port,host:port`.
//!
//! Each queue is the topic of the same name, partition 0. The client has no consumer
//! groups, so read positions live in the process: a consumer starts at the earliest
//! record kept and, after a restart, reads the topic again (at least once, never lost).
//! Every instance reads every record, the others' retries included, so handlers of Kafka
//! consumers must be idempotent (docs/generate-decisions.md, "Kafka clients").
//! Retries and delayed messages are produced again after their wait from a timer in the
//! process, with the attempt in the `x-attempt` header; dead letters are produced to the
//! dead-letter queue's topic with `x-dead-letter-reason`, `x-original-queue` and
//! `x-attempts`. Priorities do not exist in Kafka and are ignored. The tests run it against
//! Tansu, a Kafka-protocol broker (`runtime/tests/kafka_backend.rs`); Apache Kafka itself is
//! not installable here.

use crate::queue::{Broker, BrokerError, Delivery, Message, MessageId};
use crate::BoxFuture;
use rskafka::chrono::DateTime;
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::{Record, RecordAndOffset};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn backend(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Backend(format!("kafka: {e}"))
}

#[derive(Default)]
struct Cursor {
    next: Option<i64>,
    buffered: VecDeque<RecordAndOffset>,
}

/// Queues on Kafka topics.
pub struct KafkaBroker {
    client: Client,
    partitions: tokio::sync::Mutex<HashMap<String, Arc<PartitionClient>>>,
    cursors: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Cursor>>>>,
    in_flight: Mutex<HashSet<(String, MessageId)>>,
    /// Per topic, the offset after the last record delivered (for [`Broker::lag`]; the
    /// cursor itself stays locked while a receiver waits for records).
    delivered_to: Mutex<HashMap<String, i64>>,
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
        let list: Vec<String> = brokers
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string)
            .collect();
        if list.is_empty() {
            return Err("no broker listed".into());
        }
        let client = tokio::time::timeout(Duration::from_secs(5), ClientBuilder::new(list).build())
            .await
            .map_err(|_| "timed out connecting".to_string())?
            .map_err(|e| format!("cannot connect: {e}"))?;
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        Ok(Self {
            client,
            partitions: tokio::sync::Mutex::new(HashMap::new()),
            cursors: tokio::sync::Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            delivered_to: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(start.saturating_mul(1_000_000)),
        })
    }

    async fn partition(&self, topic: &str) -> Result<Arc<PartitionClient>, BrokerError> {
        let mut partitions = self.partitions.lock().await;
        if let Some(p) = partitions.get(topic) {
            return Ok(p.clone());
        }
        let p = Arc::new(
            self.client
                .partition_client(topic, 0, UnknownTopicHandling::Retry)
                .await
                .map_err(backend)?,
        );
        partitions.insert(topic.to_string(), p.clone());
        Ok(p)
    }

    async fn produce(&self, topic: &str, record: Record) -> Result<(), BrokerError> {
        self.partition(topic)
            .await?
            .produce(vec![record], Compression::NoCompression)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Produces `record` now, or from a timer after `delay`.
    async fn produce_after(
        &self,
        topic: &str,
        record: Record,
        delay: Duration,
    ) -> Result<(), BrokerError> {
        if delay.is_zero() {
            return self.produce(topic, record).await;
        }
        let partition = self.partition(topic).await?;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = partition
                .produce(vec![record], Compression::NoCompression)
                .await;
        });
        Ok(())
    }

    fn settle(&self, delivery: &Delivery) -> Result<(), BrokerError> {
        let removed = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(delivery.queue.clone(), delivery.id));
        if removed {
            Ok(())
        } else {
            Err(BrokerError::UnknownDelivery(delivery.id))
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn record(
    payload: &[u8],
    key: Option<&str>,
    id: MessageId,
    attempt: u32,
    headers: &BTreeMap<String, String>,
) -> Record {
    let mut h: BTreeMap<String, Vec<u8>> = headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    h.insert("x-message-id".into(), id.to_string().into_bytes());
    h.insert("x-attempt".into(), attempt.to_string().into_bytes());
    Record {
        key: key.map(|k| k.as_bytes().to_vec()),
        value: Some(payload.to_vec()),
        headers: h,
        // chrono is built without its clock here: the time comes from std.
        timestamp: DateTime::from_timestamp_millis(now_ms()).unwrap_or_default(),
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
            let r = record(
                &message.payload,
                message.key.as_deref(),
                id,
                1,
                &message.headers,
            );
            self.produce_after(queue, r, message.delay).await?;
            Ok(id)
        })
    }

    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
        Box::pin(async move {
            let partition = self.partition(queue).await?;
            let cursor = self
                .cursors
                .lock()
                .await
                .entry(queue.to_string())
                .or_default()
                .clone();
            let mut cursor = cursor.lock().await;
            loop {
                if let Some(r) = cursor.buffered.pop_front() {
                    let mut headers: BTreeMap<String, String> = r
                        .record
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                        .collect();
                    let id = headers
                        .remove("x-message-id")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| self.next_id.fetch_add(1, Ordering::Relaxed));
                    let attempt = headers
                        .remove("x-attempt")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1);
                    let delivery = Delivery {
                        id,
                        queue: queue.to_string(),
                        payload: r.record.value.unwrap_or_default(),
                        key: r
                            .record
                            .key
                            .map(|k| String::from_utf8_lossy(&k).into_owned()),
                        priority: 0,
                        attempt,
                        headers,
                    };
                    self.in_flight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert((queue.to_string(), id));
                    self.delivered_to
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(queue.to_string(), r.offset + 1);
                    return Ok(delivery);
                }
                let next = match cursor.next {
                    Some(n) => n,
                    None => partition
                        .get_offset(OffsetAt::Earliest)
                        .await
                        .map_err(backend)?,
                };
                let (records, _high) = partition
                    .fetch_records(next, 1..1_048_576, 500)
                    .await
                    .map_err(backend)?;
                let last = records.iter().map(|r| r.offset).max();
                cursor.next = Some(last.map_or(next, |o| o + 1));
                cursor.buffered.extend(records);
            }
        })
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        let settled = self.settle(delivery);
        Box::pin(async move { settled })
    }

    fn retry<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            self.settle(delivery)?;
            let mut headers = delivery.headers.clone();
            headers.insert("x-last-error".into(), error.to_string());
            let r = record(
                &delivery.payload,
                delivery.key.as_deref(),
                delivery.id,
                delivery.attempt + 1,
                &headers,
            );
            self.produce_after(&delivery.queue, r, delay).await
        })
    }

    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        dead_letter: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            self.settle(delivery)?;
            let mut headers = delivery.headers.clone();
            headers.insert("x-dead-letter-reason".into(), reason.to_string());
            headers.insert("x-original-queue".into(), delivery.queue.clone());
            headers.insert("x-attempts".into(), delivery.attempt.to_string());
            let r = record(
                &delivery.payload,
                delivery.key.as_deref(),
                delivery.id,
                1,
                &headers,
            );
            self.produce(dead_letter, r).await
        })
    }

    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
        Box::pin(async move {
            let partition = self.partition(queue).await?;
            let latest = partition
                .get_offset(OffsetAt::Latest)
                .await
                .map_err(backend)?;
            let delivered = self
                .delivered_to
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(queue)
                .copied();
            let from = match delivered {
                Some(offset) => offset,
                None => partition
                    .get_offset(OffsetAt::Earliest)
                    .await
                    .map_err(backend)?,
            };
            Ok(u64::try_from(latest - from).unwrap_or(0))
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.client
                .list_topics()
                .await
                .map(|_| ())
                .map_err(|e| format!("kafka: {e}"))
        })
    }
}
