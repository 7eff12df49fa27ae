//! [`Topic`]: one queue's consumer in the group `archc.QUEUE` — polling the client (one
//! task at a time), handing records out through [`Partitions`], storing the offsets the
//! group may commit, and measuring the lag.

use super::partitions::{Fetched, Partitions};
use super::{backend, lock, REQUEST_TIMEOUT};
use crate::queue::BrokerError;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Headers;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a receive waits on the client before polling it again.
const REPOLL: Duration = Duration::from_millis(250);

/// Where a delivery's record is, to settle its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The partition.
    pub partition: i32,
    /// The offset in the partition.
    pub offset: i64,
    /// The generation of the partition's assignment the record was handed out in.
    pub generation: u64,
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
pub struct Topic {
    name: String,
    consumer: StreamConsumer<Rebalances>,
    partitions: Arc<Mutex<Partitions>>,
    subscribed: AtomicBool,
    /// Held while polling the client: rebalances run inside the poll, so one poll at a
    /// time keeps a record fetched before a rebalance from being pushed after it.
    poller: tokio::sync::Mutex<()>,
    /// Woken when a record is fetched or a handler is done with one (which may free its
    /// partition).
    changed: tokio::sync::Notify,
}

impl Topic {
    /// A consumer of topic `name`, not yet subscribed.
    pub fn new(brokers: &str, name: &str) -> Result<Self, BrokerError> {
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
            poller: tokio::sync::Mutex::new(()),
            changed: tokio::sync::Notify::new(),
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

    /// The next record whose partition has none with a handler, and where it is.
    pub async fn next(&self) -> Result<(Fetched, Position), BrokerError> {
        self.subscribe()?;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let full = {
                let mut partitions = lock(&self.partitions);
                if let Some((record, generation)) = partitions.take() {
                    let at = Position {
                        partition: record.partition,
                        offset: record.offset,
                        generation,
                    };
                    return Ok((record, at));
                }
                partitions.full()
            };
            if full {
                changed.await;
                continue;
            }
            tokio::select! {
                polled = self.poll() => polled?,
                () = &mut changed => {}
            }
        }
    }

    /// Polls the client once (at most [`REPOLL`]), keeping what it fetched.
    async fn poll(&self) -> Result<(), BrokerError> {
        let _one_poller = self.poller.lock().await;
        match tokio::time::timeout(REPOLL, self.consumer.recv()).await {
            Ok(Ok(m)) => {
                // No await between the fetch and the push: a cancelled receive cannot
                // lose the record.
                lock(&self.partitions).push(fetched(&m));
                self.changed.notify_waiters();
                Ok(())
            }
            // The topic may be created after the consumer subscribed.
            Ok(Err(e)) if unknown_topic(&e) => {
                tokio::time::sleep(REPOLL).await;
                Ok(())
            }
            Ok(Err(e)) => Err(backend(e)),
            // librdkafka wakes a waiting stream only when its queue turns from empty to
            // not empty, and an event the poll consumed itself (a log line, a rebalance)
            // can leave a record behind unannounced (rust-rdkafka#665): poll again.
            Err(_) => Ok(()),
        }
    }

    /// A handler is done with the record at `at`; the record's offset is settled for good
    /// when `durable` (else [`Topic::settled`] follows once its retry is produced).
    pub fn free(&self, at: Position, durable: bool) {
        lock(&self.partitions).free(at.partition);
        self.changed.notify_waiters();
        if durable {
            self.settled(at);
        }
    }

    /// Stores the offset the group may commit now that `at` is settled. The store happens
    /// under the lock, so two settlements cannot store their offsets out of order. A
    /// partition that was revoked meanwhile refuses the store: its new owner reads from
    /// the last commit.
    pub fn settled(&self, at: Position) {
        let mut partitions = lock(&self.partitions);
        let Some(offset) = partitions.settled(at.partition, at.generation, at.offset) else {
            return;
        };
        let mut list = TopicPartitionList::new();
        if list
            .add_partition_offset(&self.name, at.partition, Offset::Offset(offset))
            .is_ok()
        {
            let _ = self.consumer.store_offsets(&list);
        }
        drop(partitions);
    }

    /// Records in the topic after the group's position: this consumer's read position on
    /// the partitions it holds (less what it fetched and has not handed out), the group's
    /// committed offset on the others, the earliest kept record where nothing is
    /// committed. Blocking: run off the async threads.
    pub fn lag(&self) -> Result<u64, BrokerError> {
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
