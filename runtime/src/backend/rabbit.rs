//! [`RabbitBroker`]: a [`Broker`] on RabbitMQ (AMQP 0-9-1, through lapin).
//!
//! Each queue is a durable RabbitMQ queue of the same name, published to through the
//! default exchange with publisher confirms and read with `basic.get` and manual acks, so
//! several instances compete for messages. Queues the broker has not got yet are declared
//! with the spec's settings (`x-max-priority`, `x-message-ttl`, `x-max-length`); queues
//! that exist (declared by `infra/rabbitmq/definitions.json`) are used as they are.
//!
//! Delays and retry backoff use the queue `NAME.delay`: messages wait there with a
//! per-message expiration and its dead-letter exchange (the default exchange, routing key
//! `NAME`) brings them back. RabbitMQ expires messages at the head of a queue only, so a
//! short delay behind a long one waits for it. Dead letters are published to the
//! dead-letter queue with the `x-dead-letter-reason`, `x-original-queue` and `x-attempts`
//! headers. The attempt count travels in the `x-attempt` header.

use crate::queue::{
    mark_dead_letter, take_id_and_attempt, Broker, BrokerError, Delivery, Message, MessageId,
    ATTEMPT_HEADER, ID_HEADER,
};
use crate::spec::QueueSpec;
use crate::BoxFuture;
use lapin::acker::Acker;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a receiver waits between polls of an empty queue.
const POLL: Duration = Duration::from_millis(50);

fn backend(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Backend(format!("rabbitmq: {e}"))
}

/// One connection with its publishing/reading channel; replaced when it is lost.
struct Session {
    generation: u64,
    connection: Connection,
    channel: Channel,
}

impl Session {
    async fn open(url: &str, generation: u64) -> Result<Self, String> {
        let connecting = Connection::connect(url, ConnectionProperties::default());
        let connection = tokio::time::timeout(Duration::from_secs(5), connecting)
            .await
            .map_err(|_| "timed out connecting".to_string())?
            .map_err(|e| format!("cannot connect: {e}"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("cannot open a channel: {e}"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| format!("cannot enable publisher confirms: {e}"))?;
        Ok(Self {
            generation,
            connection,
            channel,
        })
    }

    fn usable(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }
}

/// Queues on RabbitMQ. A lost connection is opened again on the next use; deliveries
/// received on the old one cannot be settled (RabbitMQ delivers them again).
pub struct RabbitBroker {
    url: String,
    session: tokio::sync::Mutex<Arc<Session>>,
    specs: HashMap<String, QueueSpec>,
    declared: tokio::sync::Mutex<HashSet<(u64, String)>>,
    in_flight: Mutex<HashMap<(String, MessageId), Acker>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for RabbitBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RabbitBroker({})", super::redact(&self.url))
    }
}

impl RabbitBroker {
    /// Connects to `url` (`amqp://user:pass@host:5672/vhost`) without queue settings.
    pub async fn connect(url: &str) -> Result<Self, String> {
        Self::connect_with(url, &[]).await
    }

    /// Connects to `url`; queues it declares get the settings of `specs`.
    pub async fn connect_with(url: &str, specs: &[QueueSpec]) -> Result<Self, String> {
        let session = Session::open(url, 0).await?;
        // Ids unique across instances: the start time in ms, then a counter.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        Ok(Self {
            url: url.to_string(),
            session: tokio::sync::Mutex::new(Arc::new(session)),
            specs: specs.iter().map(|s| (s.name.clone(), s.clone())).collect(),
            declared: tokio::sync::Mutex::new(HashSet::new()),
            in_flight: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(start.saturating_mul(1_000_000)),
        })
    }

    fn arguments(&self, queue: &str) -> FieldTable {
        let mut args = FieldTable::default();
        if let Some(spec) = self.specs.get(queue) {
            if spec.priority > 0 {
                let max = i32::try_from(spec.priority.min(255)).unwrap_or(255);
                args.insert("x-max-priority".into(), AMQPValue::LongInt(max));
            }
            if let Some(ttl) = spec.ttl_ms {
                args.insert(
                    "x-message-ttl".into(),
                    AMQPValue::LongLongInt(i64::try_from(ttl).unwrap_or(i64::MAX)),
                );
            }
            if let Some(max) = spec.max_length {
                args.insert(
                    "x-max-length".into(),
                    AMQPValue::LongLongInt(i64::try_from(max).unwrap_or(i64::MAX)),
                );
                // As `infra/rabbitmq/definitions.json` declares it: a full queue refuses
                // publishes (nacked) rather than dropping its oldest messages.
                args.insert(
                    "x-overflow".into(),
                    AMQPValue::LongString("reject-publish".into()),
                );
            }
        }
        args
    }

    /// The current session, opened again when its connection or channel was lost.
    async fn session(&self) -> Result<Arc<Session>, BrokerError> {
        let mut current = self.session.lock().await;
        if !current.usable() {
            let next = Session::open(&self.url, current.generation + 1)
                .await
                .map_err(backend)?;
            *current = Arc::new(next);
        }
        Ok(current.clone())
    }

    /// Makes sure `queue` exists: used as is when it does, declared with `args` otherwise.
    async fn declare(&self, queue: &str, args: FieldTable) -> Result<(), BrokerError> {
        let session = self.session().await?;
        let id = (session.generation, queue.to_string());
        let mut declared = self.declared.lock().await;
        if declared.contains(&id) {
            return Ok(());
        }
        let exists = Self::ready_counts(&session, &[queue]).await?[0].is_some();
        if !exists {
            let options = QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            };
            session
                .channel
                .queue_declare(queue, options, args)
                .await
                .map_err(backend)?;
        }
        declared.insert(id);
        Ok(())
    }

    /// The ready messages of each of `queues` (None from the first one missing on), by
    /// passive declares on a throwaway channel: a passive declare of a missing queue
    /// closes its channel.
    async fn ready_counts(
        session: &Session,
        queues: &[&str],
    ) -> Result<Vec<Option<u32>>, BrokerError> {
        let probe = session.connection.create_channel().await.map_err(backend)?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let mut counts = vec![None; queues.len()];
        for (count, name) in counts.iter_mut().zip(queues) {
            match probe
                .queue_declare(name, passive, FieldTable::default())
                .await
            {
                Ok(q) => *count = Some(q.message_count()),
                Err(_) => break,
            }
        }
        let _ = probe.close(200, "probe done").await;
        Ok(counts)
    }

    async fn declare_queue(&self, queue: &str) -> Result<(), BrokerError> {
        self.declare(queue, self.arguments(queue)).await
    }

    async fn declare_delay(&self, queue: &str) -> Result<String, BrokerError> {
        let name = format!("{queue}.delay");
        let mut args = FieldTable::default();
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(queue.into()),
        );
        self.declare(&name, args).await?;
        Ok(name)
    }

    /// Publishes a message to `queue` (or its delay queue) and waits for the confirm.
    async fn send(
        &self,
        queue: &str,
        payload: &[u8],
        props: Props<'_>,
        delay: Duration,
    ) -> Result<(), BrokerError> {
        self.declare_queue(queue).await?;
        let mut headers = FieldTable::default();
        for (k, v) in props.headers {
            headers.insert(k.as_str().into(), AMQPValue::LongString(v.as_str().into()));
        }
        headers.insert(
            ID_HEADER.into(),
            AMQPValue::LongString(props.id.to_string().into()),
        );
        headers.insert(
            ATTEMPT_HEADER.into(),
            AMQPValue::LongString(props.attempt.to_string().into()),
        );
        if let Some(key) = props.key {
            headers.insert("x-key".into(), AMQPValue::LongString(key.into()));
        }
        let mut properties = BasicProperties::default()
            .with_headers(headers)
            .with_delivery_mode(2)
            .with_priority(props.priority);
        let target = if delay.is_zero() {
            queue.to_string()
        } else {
            properties =
                properties.with_expiration(ShortString::from(delay.as_millis().max(1).to_string()));
            self.declare_delay(queue).await?
        };
        let confirmation = self
            .session()
            .await?
            .channel
            .basic_publish(
                "",
                &target,
                BasicPublishOptions::default(),
                payload,
                properties,
            )
            .await
            .map_err(backend)?
            .await
            .map_err(backend)?;
        if confirmation.is_nack() {
            return Err(BrokerError::Full(target));
        }
        Ok(())
    }

    async fn get_one(
        &self,
        queue: &str,
    ) -> Result<Option<lapin::message::BasicGetMessage>, BrokerError> {
        self.declare_queue(queue).await?;
        self.session()
            .await?
            .channel
            .basic_get(queue, BasicGetOptions { no_ack: false })
            .await
            .map_err(backend)
    }

    fn take(&self, delivery: &Delivery) -> Result<Acker, BrokerError> {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(delivery.queue.clone(), delivery.id))
            .ok_or(BrokerError::UnknownDelivery(delivery.id))
    }
}

struct Props<'a> {
    id: MessageId,
    attempt: u32,
    priority: u8,
    key: Option<&'a str>,
    headers: &'a BTreeMap<String, String>,
}

fn header_text(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        AMQPValue::LongInt(i) => Some(i.to_string()),
        AMQPValue::LongLongInt(i) => Some(i.to_string()),
        _ => None,
    }
}

async fn ack(acker: &Acker) -> Result<(), BrokerError> {
    acker.ack(BasicAckOptions::default()).await.map_err(backend)
}

impl Broker for RabbitBroker {
    fn publish<'a>(
        &'a self,
        queue: &'a str,
        message: Message,
    ) -> BoxFuture<'a, Result<MessageId, BrokerError>> {
        Box::pin(async move {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let props = Props {
                id,
                attempt: 1,
                priority: message.priority,
                key: message.key.as_deref(),
                headers: &message.headers,
            };
            self.send(queue, &message.payload, props, message.delay)
                .await?;
            Ok(id)
        })
    }

    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
        Box::pin(async move {
            // Waiting rides out a lost connection: it is opened again and the wait goes on.
            let mut pause = POLL;
            loop {
                let got = match self.get_one(queue).await {
                    Ok(got) => got,
                    Err(_) => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(2));
                        continue;
                    }
                };
                pause = POLL;
                let Some(message) = got else {
                    tokio::time::sleep(POLL).await;
                    continue;
                };
                let d = message.delivery;
                let mut headers = BTreeMap::new();
                if let Some(table) = d.properties.headers() {
                    for (k, v) in table.inner() {
                        if let Some(v) = header_text(v) {
                            headers.insert(k.as_str().to_string(), v);
                        }
                    }
                }
                let (id, attempt) = take_id_and_attempt(&mut headers, &self.next_id);
                let key = headers.remove("x-key");
                // What RabbitMQ adds when a delayed message comes back is not ours to keep.
                headers.remove("x-death");
                headers.retain(|k, _| {
                    !k.starts_with("x-first-death") && !k.starts_with("x-last-death")
                });
                let delivery = Delivery {
                    id,
                    queue: queue.to_string(),
                    payload: d.data,
                    key,
                    priority: d.properties.priority().unwrap_or(0),
                    attempt,
                    headers,
                };
                self.in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((queue.to_string(), id), d.acker);
                return Ok(delivery);
            }
        })
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move { ack(&self.take(delivery)?).await })
    }

    fn retry<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let acker = self.take(delivery)?;
            let mut headers = delivery.headers.clone();
            headers.insert("x-last-error".into(), error.to_string());
            let props = Props {
                id: delivery.id,
                attempt: delivery.attempt + 1,
                priority: delivery.priority,
                key: delivery.key.as_deref(),
                headers: &headers,
            };
            // Published (and confirmed) before the ack: a crash in between duplicates the
            // message rather than losing it.
            self.send(&delivery.queue, &delivery.payload, props, delay)
                .await?;
            ack(&acker).await
        })
    }

    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        dead_letter: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let acker = self.take(delivery)?;
            let mut headers = delivery.headers.clone();
            mark_dead_letter(&mut headers, &delivery.queue, delivery.attempt, reason);
            let props = Props {
                id: delivery.id,
                attempt: 1,
                priority: delivery.priority,
                key: delivery.key.as_deref(),
                headers: &headers,
            };
            self.send(dead_letter, &delivery.payload, props, Duration::ZERO)
                .await?;
            ack(&acker).await
        })
    }

    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
        Box::pin(async move {
            let session = self.session().await?;
            // Ready messages of the queue and of its delay queue (unacked ones are in flight).
            let delay = format!("{queue}.delay");
            let counts = Self::ready_counts(&session, &[queue, &delay]).await?;
            Ok(counts.into_iter().flatten().map(u64::from).sum())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.session().await.map(|_| ()).map_err(|e| e.to_string()) })
    }
}
