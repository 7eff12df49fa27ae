//! [`RedisStreams`]: a [`Broker`] on Redis Streams. Each queue is the stream of the same
//! name, read through the consumer group `archc` (competing consumers across instances):
//! publish is XADD, receive is XREADGROUP, ack is XACK + XDEL, a retry re-adds the entry
//! with its attempt raised, and dead letters are XADDed to the dead-letter queue's stream
//! (`orders.dlq` for `dead_letter = orders.dlq`), where `XRANGE` shows them.
//!
//! Delays (message `delay` and retry backoff) park the entry in the sorted set
//! `QUEUE:delayed` (its fields in the hash `QUEUE:delayed:ID`); receivers move due entries
//! into the stream with one Lua script. Entries another instance read and never settled
//! (it crashed) are taken over with XAUTOCLAIM once idle for the claim time (60 s by
//! default). A queue with a `max_length` refuses a publish while it holds that many ready
//! entries ([`BrokerError::Full`], checked and added in one Lua script), as its RabbitMQ
//! counterpart does.
//!
//! A queue declared with `priority = N` has priority lanes: one stream per lane (`QUEUE` for
//! lane 0, `QUEUE:priority:L` above), up to ten lanes, priority `p` in lane
//! `min(p, N) * top / N`. A receive reads the highest non-empty lane first (one Lua script);
//! within a lane messages come in order. When a blocking read wakes on several lanes at
//! once, the lower entries are put back at the end of their lane.
//!
//! The broker runs on one server or on a Redis Cluster ([`RedisStreams::on_cluster`]). On a
//! cluster the keys of a queue besides its stream carry the queue's name as their hash tag
//! (`{QUEUE}:delayed`, `{QUEUE}:priority:L`; the stream `QUEUE` hashes the same text), so one
//! queue's streams, delayed set and hashes share a slot: its scripts, transactions and
//! blocking reads each run on the one node owning it. Queues spread over
//! the nodes by name. A dead letter crosses slots, so on a cluster it is added to the
//! dead-letter queue before the source entry is settled, not in one transaction: a crash in
//! between leaves the message in both, and it is dead-lettered again (at least once, as
//! every delivery here).

use super::redis::{ClusterConn, KeyedConn, RedisConn};
use crate::queue::{mark_dead_letter, Broker, BrokerError, Delivery, Message, MessageId};
use crate::rng::XorShift64;
use crate::spec::QueueSpec;
use crate::BoxFuture;
use redis::{Script, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The consumer group every instance reads through.
const GROUP: &str = "archc";

/// The highest lane index: priorities map onto at most ten streams.
const TOP_LANE: u8 = 9;

/// Where the queues live: one server or a cluster.
#[derive(Debug, Clone)]
enum Home {
    Server(RedisConn),
    Cluster(ClusterConn),
}

impl Home {
    /// The shared connection, for commands that answer at once.
    fn shared(&self) -> KeyedConn {
        match self {
            Self::Server(conn) => KeyedConn::Server(conn.manager.clone()),
            Self::Cluster(cluster) => KeyedConn::Cluster(cluster.conn.clone()),
        }
    }

    /// A connection of its own, for a blocking read.
    async fn dedicated(&self) -> Result<KeyedConn, String> {
        match self {
            Self::Server(conn) => conn.dedicated().await.map(KeyedConn::Direct),
            Self::Cluster(cluster) => cluster.dedicated().await.map(KeyedConn::Cluster),
        }
    }

    fn shown(&self) -> &str {
        match self {
            Self::Server(conn) => conn.shown(),
            Self::Cluster(cluster) => cluster.shown(),
        }
    }
}

/// How a queue's keys besides its stream are named: `QUEUE:…` on one server, `{QUEUE}:…`
/// on a cluster, where the hash tag keeps them in the stream's slot. (One server keeps the
/// plain names, so the keys of queues already there stay where they are.)
#[derive(Debug, Clone, Copy)]
struct Keys {
    tagged: bool,
}

impl Keys {
    fn prefix(self, queue: &str) -> String {
        if self.tagged {
            format!("{{{queue}}}")
        } else {
            queue.to_string()
        }
    }

    /// The sorted set of `queue`'s delayed message ids; each one's fields are in the hash
    /// `DELAYED:ID`.
    fn delayed(self, queue: &str) -> String {
        format!("{}:delayed", self.prefix(queue))
    }

    /// The stream of `queue`'s priority lane `lane` (the queue's own stream for lane 0).
    fn lane(self, queue: &str, lane: u8) -> String {
        match lane {
            0 => queue.to_string(),
            lane => format!("{}:priority:{lane}", self.prefix(queue)),
        }
    }
}

/// Queues on Redis Streams.
#[derive(Debug)]
pub struct RedisStreams {
    home: Home,
    consumer: String,
    claim_idle: Duration,
    block: Duration,
    promote: Script,
    publish_capped: Script,
    lag: Script,
    read_lanes: Script,
    groups: Mutex<HashSet<String>>,
    /// The stream and entry id of each delivery not yet settled.
    in_flight: Mutex<HashMap<(String, MessageId), (String, String)>>,
    idle: Mutex<Vec<KeyedConn>>,
    rng: Mutex<XorShift64>,
    /// Declared `max_length` per queue.
    max_lengths: HashMap<String, u64>,
    /// Declared highest `priority` per queue (absent or 0: one stream).
    priorities: HashMap<String, u8>,
}

fn backend(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Backend(format!("redis streams: {e}"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A stream entry id `MS-SEQ` as a message id: `MS * 1_000_000 + SEQ`.
fn message_id(entry: &str) -> MessageId {
    let (ms, seq) = entry.split_once('-').unwrap_or((entry, "0"));
    let ms: u64 = ms.parse().unwrap_or(0);
    let seq: u64 = seq.parse().unwrap_or(0);
    ms.saturating_mul(1_000_000)
        .saturating_add(seq.min(999_999))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The fields a queue entry carries.
struct Entry {
    payload: Vec<u8>,
    key: Option<String>,
    priority: u8,
    attempt: u32,
    headers: BTreeMap<String, String>,
    id: Option<MessageId>,
}

impl Entry {
    fn fields(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut out = vec![
            ("payload", self.payload.clone()),
            ("priority", self.priority.to_string().into_bytes()),
            ("attempt", self.attempt.to_string().into_bytes()),
            (
                "headers",
                serde_json::to_vec(&self.headers).unwrap_or_else(|_| b"{}".to_vec()),
            ),
        ];
        if let Some(key) = &self.key {
            out.push(("key", key.clone().into_bytes()));
        }
        if let Some(id) = self.id {
            out.push(("id", id.to_string().into_bytes()));
        }
        out
    }

    /// Parses `[id, [field, value, ...]]` into the entry id and the delivery.
    fn parse(queue: &str, value: &Value) -> Option<(String, Delivery)> {
        let Value::Array(parts) = value else {
            return None;
        };
        let entry = text(parts.first()?)?;
        let Some(Value::Array(kv)) = parts.get(1) else {
            return None;
        };
        let mut delivery = Delivery {
            id: message_id(&entry),
            queue: queue.to_string(),
            payload: Vec::new(),
            key: None,
            priority: 0,
            attempt: 1,
            headers: BTreeMap::new(),
        };
        for pair in kv.chunks(2) {
            let [name, value] = pair else { continue };
            match text(name).as_deref() {
                Some("payload") => {
                    if let Value::BulkString(b) = value {
                        delivery.payload = b.clone();
                    }
                }
                Some("key") => delivery.key = text(value),
                Some("priority") => {
                    delivery.priority = text(value).and_then(|t| t.parse().ok()).unwrap_or(0)
                }
                Some("attempt") => {
                    delivery.attempt = text(value).and_then(|t| t.parse().ok()).unwrap_or(1)
                }
                Some("id") => {
                    if let Some(id) = text(value).and_then(|t| t.parse().ok()) {
                        delivery.id = id;
                    }
                }
                Some("headers") => {
                    delivery.headers = text(value)
                        .and_then(|t| serde_json::from_str(&t).ok())
                        .unwrap_or_default()
                }
                _ => {}
            }
        }
        Some((entry, delivery))
    }

    fn of(delivery: &Delivery) -> Self {
        Self {
            payload: delivery.payload.clone(),
            key: delivery.key.clone(),
            priority: delivery.priority,
            attempt: delivery.attempt,
            headers: delivery.headers.clone(),
            id: Some(delivery.id),
        }
    }
}

impl RedisStreams {
    /// Queues on the server `conn`, this instance's consumer name made unique by pid and a
    /// random part.
    pub fn new(conn: RedisConn) -> Self {
        Self::at(Home::Server(conn))
    }

    /// Queues on the Redis Cluster `cluster`, each queue on the node owning its slot.
    pub fn on_cluster(cluster: &ClusterConn) -> Self {
        Self::at(Home::Cluster(cluster.clone()))
    }

    fn at(home: Home) -> Self {
        let mut rng = XorShift64::from_entropy();
        let consumer = format!("{}-{:08x}", std::process::id(), rng.next_u64() as u32);
        Self {
            home,
            consumer,
            claim_idle: Duration::from_secs(60),
            block: Duration::from_secs(1),
            promote: Script::new(include_str!("promote.lua")),
            publish_capped: Script::new(include_str!("publish_capped.lua")),
            lag: Script::new(include_str!("lag.lua")),
            read_lanes: Script::new(include_str!("read_lanes.lua")),
            groups: Mutex::new(HashSet::new()),
            in_flight: Mutex::new(HashMap::new()),
            idle: Mutex::new(Vec::new()),
            rng: Mutex::new(rng),
            max_lengths: HashMap::new(),
            priorities: HashMap::new(),
        }
    }

    /// Enforces the `max_length` and priorities of `specs`.
    pub fn with_specs(mut self, specs: &[QueueSpec]) -> Self {
        self.max_lengths = specs
            .iter()
            .filter_map(|q| Some((q.name.clone(), q.max_length?)))
            .collect();
        self.priorities = specs
            .iter()
            .filter(|q| q.priority > 0)
            .map(|q| (q.name.clone(), u8::try_from(q.priority).unwrap_or(u8::MAX)))
            .collect();
        self
    }

    /// A message id not taken from a stream entry: the time (ms) and a random part.
    fn fresh_id(&self) -> MessageId {
        now_ms()
            .saturating_mul(1_000_000)
            .saturating_add(Self::lock(&self.rng).below(1_000_000))
    }

    /// The declared highest priority of `queue` and its top lane (0, 0 without lanes).
    fn lanes(&self, queue: &str) -> (u8, u8) {
        let max = self.priorities.get(queue).copied().unwrap_or(0);
        (max, max.min(TOP_LANE))
    }

    /// The stream holding `queue`'s messages of `priority`.
    fn stream_for(&self, queue: &str, priority: u8) -> String {
        let (max, top) = self.lanes(queue);
        let lane = if max == 0 {
            0
        } else {
            u16::from(priority.min(max)) * u16::from(top) / u16::from(max)
        };
        self.keys().lane(queue, u8::try_from(lane).unwrap_or(top))
    }

    /// Every stream of `queue`, highest lane first.
    fn streams(&self, queue: &str) -> Vec<String> {
        let (_, top) = self.lanes(queue);
        (0..=top)
            .rev()
            .map(|lane| self.keys().lane(queue, lane))
            .collect()
    }

    /// Sets how long an entry read by another consumer stays unsettled before this one
    /// takes it over.
    pub fn with_claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle;
        self
    }

    /// The consumer name this instance reads as.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn shared(&self) -> KeyedConn {
        self.home.shared()
    }

    /// How this broker names a queue's keys: hash-tagged on a cluster.
    fn keys(&self) -> Keys {
        Keys {
            tagged: matches!(self.home, Home::Cluster(_)),
        }
    }

    /// Where the queues are, for the start-up log.
    pub fn shown(&self) -> &str {
        self.home.shown()
    }

    async fn ensure_group(&self, queue: &str) -> Result<(), BrokerError> {
        if Self::lock(&self.groups).contains(queue) {
            return Ok(());
        }
        for stream in self.streams(queue) {
            let made: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut self.shared())
                .await;
            match made {
                Ok(()) => {}
                Err(e) if e.code() == Some("BUSYGROUP") => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Self::lock(&self.groups).insert(queue.to_string());
        Ok(())
    }

    /// Moves due delayed entries into the stream; the next due time (ms), if any.
    async fn promote_due(&self, queue: &str) -> Result<Option<u64>, BrokerError> {
        let (max, top) = self.lanes(queue);
        let mut script = self.promote.prepare_invoke();
        script.key(self.keys().delayed(queue));
        for lane in 0..=top {
            script.key(self.keys().lane(queue, lane));
        }
        let next: i64 = script
            .arg(now_ms())
            .arg(max)
            .invoke_async(&mut self.shared())
            .await
            .map_err(backend)?;
        Ok(u64::try_from(next).ok())
    }

    fn track(&self, stream: String, entry: String, delivery: Delivery) -> Delivery {
        Self::lock(&self.in_flight).insert((delivery.queue.clone(), delivery.id), (stream, entry));
        delivery
    }

    fn untrack(&self, delivery: &Delivery) -> Result<(String, String), BrokerError> {
        Self::lock(&self.in_flight)
            .remove(&(delivery.queue.clone(), delivery.id))
            .ok_or(BrokerError::UnknownDelivery(delivery.id))
    }

    /// Takes over one entry left unsettled by a consumer gone quiet, if any (highest lane
    /// first).
    async fn claim(&self, queue: &str) -> Result<Option<Delivery>, BrokerError> {
        for stream in self.streams(queue) {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(&stream)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX))
                .arg("0-0")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut self.shared())
                .await
                .map_err(backend)?;
            let Value::Array(parts) = reply else {
                continue;
            };
            let Some(Value::Array(entries)) = parts.get(1) else {
                continue;
            };
            if let Some((entry, d)) = entries.iter().find_map(|e| Entry::parse(queue, e)) {
                return Ok(Some(self.track(stream, entry, d)));
            }
        }
        Ok(None)
    }

    /// The next entry of a queue with lanes, highest lane first, without blocking.
    async fn scan_lanes(&self, queue: &str) -> Result<Option<Delivery>, BrokerError> {
        let mut script = self.read_lanes.prepare_invoke();
        for stream in self.streams(queue) {
            script.key(stream);
        }
        let reply: Value = script
            .arg(GROUP)
            .arg(&self.consumer)
            .invoke_async(&mut self.shared())
            .await
            .map_err(backend)?;
        Ok(self
            .entries(queue, Value::Array(vec![reply]))
            .into_iter()
            .next()
            .map(|(stream, entry, d)| self.track(stream, entry, d)))
    }

    /// The entries of an XREADGROUP reply, with their streams, in reply order.
    fn entries(&self, queue: &str, reply: Value) -> Vec<(String, String, Delivery)> {
        // Reply: [[stream, [entry, ...]], ...] (RESP2) or {stream: [entry, ...]} (RESP3).
        let streams: Vec<(Value, Value)> = match reply {
            Value::Array(streams) => streams
                .into_iter()
                .filter_map(|s| match s {
                    Value::Array(mut pair) if pair.len() == 2 => {
                        let entries = pair.pop()?;
                        Some((pair.pop()?, entries))
                    }
                    _ => None,
                })
                .collect(),
            Value::Map(streams) => streams,
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for (stream, entries) in streams {
            let (Some(stream), Value::Array(entries)) = (text(&stream), entries) else {
                continue;
            };
            for e in &entries {
                if let Some((entry, d)) = Entry::parse(queue, e) {
                    out.push((stream.clone(), entry, d));
                }
            }
        }
        out
    }

    /// Waits up to `block` for the next entry of any of `queue`'s streams.
    async fn read(&self, queue: &str, block: Duration) -> Result<Option<Delivery>, BrokerError> {
        let streams = self.streams(queue);
        let pooled = Self::lock(&self.idle).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.home.dedicated().await.map_err(backend)?,
        };
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(1).max(1))
            .arg("STREAMS")
            .arg(&streams);
        for _ in &streams {
            cmd.arg(">");
        }
        let reply: Value = cmd.query_async(&mut conn).await.map_err(backend)?;
        // Only a connection whose command completed goes back: a dropped future leaves its
        // connection mid-command, and it is dropped with it.
        Self::lock(&self.idle).push(conn);
        let mut read = self.entries(queue, reply);
        // Woken on several lanes at once: the highest is delivered, the others go back.
        read.sort_by_key(|(stream, _, _)| streams.iter().position(|s| s == stream));
        let mut read = read.into_iter();
        let first = read.next();
        for (stream, entry, delivery) in read {
            let mut pipe = redis::pipe();
            pipe.atomic();
            let mut add = redis::cmd("XADD");
            add.arg(&stream).arg("*");
            for (name, value) in Entry::of(&delivery).fields() {
                add.arg(name).arg(value);
            }
            pipe.add_command(add).ignore();
            pipe.cmd("XACK")
                .arg(&stream)
                .arg(GROUP)
                .arg(&entry)
                .ignore();
            pipe.cmd("XDEL").arg(&stream).arg(&entry).ignore();
            pipe.query_async::<()>(&mut self.shared())
                .await
                .map_err(backend)?;
        }
        Ok(first.map(|(stream, entry, d)| self.track(stream, entry, d)))
    }

    /// Adds commands that put `entry` into `queue` now or after `delay` to `pipe`.
    fn add_entry(&self, pipe: &mut redis::Pipeline, queue: &str, entry: &Entry, delay: Duration) {
        if delay.is_zero() {
            let mut cmd = redis::cmd("XADD");
            cmd.arg(self.stream_for(queue, entry.priority)).arg("*");
            for (name, value) in entry.fields() {
                cmd.arg(name).arg(value);
            }
            pipe.add_command(cmd).ignore();
        } else {
            let nonce = Self::lock(&self.rng).next_u64();
            let id = format!("{}-{nonce:016x}", now_ms());
            let due = now_ms().saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            let mut hset = redis::cmd("HSET");
            hset.arg(format!("{}:{id}", self.keys().delayed(queue)));
            for (name, value) in entry.fields() {
                hset.arg(name).arg(value);
            }
            pipe.add_command(hset).ignore();
            pipe.cmd("ZADD")
                .arg(self.keys().delayed(queue))
                .arg(due)
                .arg(id)
                .ignore();
        }
    }

    /// One round of receiving: promote due entries, claim a stale one, or block reading.
    async fn receive_once(&self, queue: &str) -> Result<Option<Delivery>, BrokerError> {
        self.ensure_group(queue).await?;
        let next_due = self.promote_due(queue).await?;
        if let Some(d) = self.claim(queue).await? {
            return Ok(Some(d));
        }
        if self.lanes(queue).0 > 0 {
            if let Some(d) = self.scan_lanes(queue).await? {
                return Ok(Some(d));
            }
        }
        let block = match next_due {
            Some(due) => Duration::from_millis(due.saturating_sub(now_ms()).max(5)).min(self.block),
            None => self.block,
        };
        self.read(queue, block).await
    }

    async fn settle_with(
        &self,
        delivery: &Delivery,
        then: impl FnOnce(&mut redis::Pipeline),
    ) -> Result<(), BrokerError> {
        let (stream, entry) = self.untrack(delivery)?;
        self.settle_entry(delivery, stream, entry, then).await
    }

    /// Tracks `delivery` again, as read from `entry` of `stream`: it is still unsettled.
    fn retrack(&self, delivery: &Delivery, stream: String, entry: String) {
        Self::lock(&self.in_flight).insert((delivery.queue.clone(), delivery.id), (stream, entry));
    }

    /// Acks and deletes `entry` of `stream` (the untracked `delivery`) after the commands
    /// `then` adds, in one transaction.
    async fn settle_entry(
        &self,
        delivery: &Delivery,
        stream: String,
        entry: String,
        then: impl FnOnce(&mut redis::Pipeline),
    ) -> Result<(), BrokerError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        then(&mut pipe);
        pipe.cmd("XACK")
            .arg(&stream)
            .arg(GROUP)
            .arg(&entry)
            .ignore();
        pipe.cmd("XDEL").arg(&stream).arg(&entry).ignore();
        // A connection lost mid-way (the manager reconnects) gets two more tries. MULTI
        // makes a settle all or nothing; repeating one whose reply was lost at worst adds
        // a retried message twice (delivery is at least once anyway).
        let mut tries = 0;
        loop {
            match pipe.query_async::<()>(&mut self.shared()).await {
                Ok(()) => return Ok(()),
                Err(e) if tries < 2 && (e.is_io_error() || e.is_connection_dropped()) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                }
                Err(e) => {
                    // Still unsettled: keep it tracked so the caller may settle it again.
                    self.retrack(delivery, stream, entry);
                    return Err(backend(e));
                }
            }
        }
    }
}

impl Broker for RedisStreams {
    fn publish<'a>(
        &'a self,
        queue: &'a str,
        message: Message,
    ) -> BoxFuture<'a, Result<MessageId, BrokerError>> {
        Box::pin(async move {
            let mut entry = Entry {
                payload: message.payload,
                key: message.key,
                priority: message.priority,
                attempt: 1,
                headers: message.headers,
                id: None,
            };
            // Entry ids are unique within one stream only: a queue with lanes gives each
            // message an id of its own.
            let laned = self.lanes(queue).0 > 0;
            if laned {
                entry.id = Some(self.fresh_id());
            }
            if let (true, Some(max)) = (message.delay.is_zero(), self.max_lengths.get(queue)) {
                let streams = self.streams(queue);
                let target = self.stream_for(queue, entry.priority);
                let at = streams.iter().position(|s| *s == target).unwrap_or(0) + 1;
                let mut script = self.publish_capped.prepare_invoke();
                for stream in &streams {
                    script.key(stream);
                }
                script.arg(*max).arg(GROUP).arg(at);
                for (name, value) in entry.fields() {
                    script.arg(name).arg(value);
                }
                let id: Option<String> = script
                    .invoke_async(&mut self.shared())
                    .await
                    .map_err(backend)?;
                return match id {
                    Some(id) => Ok(entry.id.unwrap_or_else(|| message_id(&id))),
                    None => Err(BrokerError::Full(queue.to_string())),
                };
            }
            if message.delay.is_zero() {
                let mut cmd = redis::cmd("XADD");
                cmd.arg(self.stream_for(queue, entry.priority)).arg("*");
                for (name, value) in entry.fields() {
                    cmd.arg(name).arg(value);
                }
                let id: String = cmd.query_async(&mut self.shared()).await.map_err(backend)?;
                return Ok(entry.id.unwrap_or_else(|| message_id(&id)));
            }
            let id = entry.id.unwrap_or_else(|| self.fresh_id());
            entry.id = Some(id);
            let mut pipe = redis::pipe();
            pipe.atomic();
            self.add_entry(&mut pipe, queue, &entry, message.delay);
            pipe.query_async::<()>(&mut self.shared())
                .await
                .map_err(backend)?;
            Ok(id)
        })
    }

    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
        Box::pin(async move {
            // Waiting rides out a Redis restart: errors are retried (a lost consumer group
            // is created again) instead of ending the consumer.
            let mut pause = Duration::from_millis(100);
            loop {
                match self.receive_once(queue).await {
                    Ok(Some(d)) => return Ok(d),
                    Ok(None) => pause = Duration::from_millis(100),
                    Err(_) => {
                        Self::lock(&self.groups).remove(queue);
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                }
            }
        })
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(self.settle_with(delivery, |_| {}))
    }

    fn retry<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let mut entry = Entry::of(delivery);
        entry.attempt += 1;
        entry
            .headers
            .insert("x-last-error".into(), error.to_string());
        Box::pin(async move {
            self.settle_with(delivery, |pipe| {
                self.add_entry(pipe, &delivery.queue, &entry, delay)
            })
            .await
        })
    }

    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        dead_letter: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let mut entry = Entry::of(delivery);
        entry.attempt = 1;
        mark_dead_letter(
            &mut entry.headers,
            &delivery.queue,
            delivery.attempt,
            reason,
        );
        Box::pin(async move {
            if let Home::Cluster(_) = self.home {
                // The dead-letter queue has a slot of its own: add first, then settle. An
                // unknown delivery is refused before anything is added.
                let (stream, read) = self.untrack(delivery)?;
                let mut pipe = redis::pipe();
                self.add_entry(&mut pipe, dead_letter, &entry, Duration::ZERO);
                if let Err(e) = pipe.query_async::<()>(&mut self.shared()).await {
                    self.retrack(delivery, stream, read);
                    return Err(backend(e));
                }
                return self.settle_entry(delivery, stream, read, |_| {}).await;
            }
            self.settle_with(delivery, |pipe| {
                self.add_entry(pipe, dead_letter, &entry, Duration::ZERO)
            })
            .await
        })
    }

    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
        Box::pin(async move {
            let mut script = self.lag.prepare_invoke();
            for stream in self.streams(queue) {
                script.key(stream);
            }
            let waiting: i64 = script
                .key(self.keys().delayed(queue))
                .arg(GROUP)
                .invoke_async(&mut self.shared())
                .await
                .map_err(backend)?;
            Ok(u64::try_from(waiting).unwrap_or(0))
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.shared().ping(self.home.shown()).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_become_message_ids() {
        assert_eq!(message_id("1704067200000-3"), 1_704_067_200_000_000_003);
        assert_eq!(message_id("garbage"), 0);
    }

    #[test]
    fn entries_parse_back_from_their_fields() {
        let mut headers = BTreeMap::new();
        headers.insert("x-last-error".to_string(), "boom".to_string());
        let entry = Entry {
            payload: vec![0, 159, 146, 150],
            key: Some("k".into()),
            priority: 2,
            attempt: 3,
            headers,
            id: Some(42),
        };
        let fields = entry
            .fields()
            .into_iter()
            .flat_map(|(n, v)| [Value::BulkString(n.into()), Value::BulkString(v)])
            .collect();
        let value = Value::Array(vec![
            Value::BulkString(b"1-1".to_vec()),
            Value::Array(fields),
        ]);
        let (id, d) = Entry::parse("q", &value).expect("parses");
        assert_eq!(id, "1-1");
        assert_eq!((d.id, d.attempt, d.priority), (42, 3, 2));
        assert_eq!(d.payload, vec![0, 159, 146, 150]);
        assert_eq!(d.key.as_deref(), Some("k"));
        assert_eq!(d.headers["x-last-error"], "boom");
        assert!(Entry::parse("q", &Value::Nil).is_none());
    }
}
