//! Queue semantics shared by every backend: messages with keys, priorities and delays, the
//! [`Broker`] trait (publish, receive, ack, retry later, dead-letter), error classes and
//! their routing (`errors { transient = retry invalid = discard business = dead_letter }`),
//! and a [`Consumer`] that runs a handler with a concurrency limit and settles each
//! delivery: ack, retry with backoff and jitter, dead-letter after the declared attempts,
//! or discard. [`MemoryBroker`] is the in-process backend; its timers are tokio's, so tests
//! run on paused time.

#[doc(hidden)]
pub mod conformance;
mod consumer;
mod memory;

pub use consumer::{Consumer, ConsumerConfig, Settled};
pub use memory::MemoryBroker;

use crate::retry::Backoff;
use crate::BoxFuture;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A broker-assigned message id, unique per broker.
pub type MessageId = u64;

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The body.
    pub payload: Vec<u8>,
    /// Ordering/partition key (`key = ...`), if any.
    pub key: Option<String>,
    /// Priority; higher is delivered first (as in RabbitMQ). Default 0.
    pub priority: u8,
    /// Delivered no sooner than this after publishing (`delay = ...`).
    pub delay: Duration,
    /// Free-form headers.
    pub headers: BTreeMap<String, String>,
}

impl Message {
    /// A message with `payload` and default settings.
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        Self {
            payload: payload.into(),
            ..Self::default()
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the delay.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

/// A message handed to a consumer; settle it through the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message id (kept across retries).
    pub id: MessageId,
    /// The queue it came from.
    pub queue: String,
    /// The body.
    pub payload: Vec<u8>,
    /// The key, if any.
    pub key: Option<String>,
    /// The priority.
    pub priority: u8,
    /// Which delivery this is: 1 the first time, 2 after one retry, and so on.
    pub attempt: u32,
    /// Headers; retries add `x-last-error`, dead-lettering adds `x-dead-letter-reason`,
    /// `x-original-queue` and `x-attempts`.
    pub headers: BTreeMap<String, String>,
}

/// The header that carries a message's id where the broker has no id of its own.
#[cfg(feature = "server")]
pub(crate) const ID_HEADER: &str = "x-message-id";
/// The header that carries the attempt where the broker does not count deliveries.
#[cfg(feature = "server")]
pub(crate) const ATTEMPT_HEADER: &str = "x-attempt";

/// Takes the id and the attempt out of a received message's headers; a message without an
/// id (published by another client) gets the next one of `next_id`.
#[cfg(feature = "server")]
pub(crate) fn take_id_and_attempt(
    headers: &mut BTreeMap<String, String>,
    next_id: &std::sync::atomic::AtomicU64,
) -> (MessageId, u32) {
    let id = headers
        .remove(ID_HEADER)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let attempt = headers
        .remove(ATTEMPT_HEADER)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    (id, attempt)
}

/// Adds what a dead letter says of itself: why, the queue it left and after how many
/// attempts.
pub(crate) fn mark_dead_letter(
    headers: &mut BTreeMap<String, String>,
    from: &str,
    attempts: u32,
    reason: &str,
) {
    headers.insert("x-dead-letter-reason".into(), reason.to_string());
    headers.insert("x-original-queue".into(), from.to_string());
    headers.insert("x-attempts".into(), attempts.to_string());
}

/// A broker failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// The delivery is not in flight (already settled, or from another broker).
    UnknownDelivery(MessageId),
    /// The backend failed (connection lost, …).
    Backend(String),
    /// The queue holds its declared `max_length` of ready messages: the publish is refused.
    Full(String),
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownDelivery(id) => write!(f, "message {id} is not in flight"),
            Self::Backend(why) => write!(f, "broker: {why}"),
            Self::Full(queue) => write!(f, "queue `{queue}` is full (its max_length)"),
        }
    }
}

impl std::error::Error for BrokerError {}

/// A message broker: the operations the consumer needs, which map onto Redis Streams
/// (XADD / XREADGROUP / XACK), RabbitMQ (publish / consume / ack / DLX) and Kafka.
pub trait Broker: Send + Sync + fmt::Debug {
    /// Publishes `message` to `queue`.
    fn publish<'a>(
        &'a self,
        queue: &'a str,
        message: Message,
    ) -> BoxFuture<'a, Result<MessageId, BrokerError>>;

    /// Waits for the next ready message of `queue` (highest priority, then oldest) and
    /// marks it in flight. Dropping the future before it completes loses nothing.
    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>>;

    /// Settles a delivery as done (also used to discard it).
    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Puts a delivery back to be delivered again after `delay`, with its attempt count
    /// raised and `error` recorded.
    fn retry<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Moves a delivery to the queue `dead_letter` with `reason` recorded.
    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        dead_letter: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// How many messages of `queue` wait to be delivered, ready or delayed, not counting
    /// those in flight (the `queue_lag_messages` gauge; for a dead-letter queue, its depth).
    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>>;

    /// Answers when the backend can be reached (the service's `/ready`); in-process ones
    /// always can.
    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// The class of a handler failure (`errors { ... }` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// May succeed later (timeouts, a dependency down). Default action: retry.
    Transient,
    /// The message can never be processed (malformed). Default action: discard.
    Invalid,
    /// Processing was refused by a business rule. Default action: dead letter.
    Business,
}

/// What to do with a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorAction {
    /// Deliver again after a backoff, up to the retry attempts, then dead-letter.
    Retry,
    /// Drop it.
    Discard,
    /// Move it to the dead-letter queue.
    DeadLetter,
}

/// Error class → action, defaults as in the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRouting {
    /// Action for [`ErrorClass::Transient`] (default retry).
    pub transient: ErrorAction,
    /// Action for [`ErrorClass::Invalid`] (default discard).
    pub invalid: ErrorAction,
    /// Action for [`ErrorClass::Business`] (default dead letter).
    pub business: ErrorAction,
}

impl Default for ErrorRouting {
    fn default() -> Self {
        Self {
            transient: ErrorAction::Retry,
            invalid: ErrorAction::Discard,
            business: ErrorAction::DeadLetter,
        }
    }
}

impl ErrorRouting {
    /// The action for `class`.
    pub fn action(&self, class: ErrorClass) -> ErrorAction {
        match class {
            ErrorClass::Transient => self.transient,
            ErrorClass::Invalid => self.invalid,
            ErrorClass::Business => self.business,
        }
    }
}

/// A handler's failure: its class and a message recorded on the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// The class, which decides the action.
    pub class: ErrorClass,
    /// What went wrong.
    pub message: String,
}

impl HandlerError {
    /// A transient failure.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Transient,
            message: message.into(),
        }
    }

    /// An invalid message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Invalid,
            message: message.into(),
        }
    }

    /// A business refusal.
    pub fn business(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Business,
            message: message.into(),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.class, self.message)
    }
}

impl std::error::Error for HandlerError {}

/// A queue's `retry { attempts backoff jitter }`: defaults 3 retries,
/// `exponential(1s, max = 5m)`, 20% jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrySettings {
    /// Retries after the first delivery.
    pub attempts: u32,
    /// Wait before each retry.
    pub backoff: Backoff,
    /// Jitter fraction in `[0, 1]`.
    pub jitter: f64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Backoff::default(),
            jitter: 0.2,
        }
    }
}

#[cfg(test)]
mod tests;
