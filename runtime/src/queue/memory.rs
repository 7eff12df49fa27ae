//! [`MemoryBroker`]: the in-process [`Broker`]. Each queue keeps a priority heap of ready
//! messages, a heap of delayed ones ordered by due time (tokio time, so paused-time tests
//! are instant) and a table of deliveries in flight.

use super::{Broker, BrokerError, Delivery, Message, MessageId};
use crate::spec::QueueSpec;
use crate::BoxFuture;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// An in-process broker; queues are created on first use.
#[derive(Debug, Default)]
pub struct MemoryBroker {
    inner: Mutex<Inner>,
    /// Declared `max_length` per queue: ready messages beyond it are refused.
    max_lengths: HashMap<String, usize>,
}

#[derive(Debug, Default)]
struct Inner {
    queues: HashMap<String, QueueState>,
    next_id: MessageId,
    next_seq: u64,
}

#[derive(Debug, Default)]
struct QueueState {
    ready: BinaryHeap<Ready>,
    delayed: BinaryHeap<Reverse<(Instant, u64, Stored)>>,
    in_flight: HashMap<MessageId, Stored>,
    notify: Arc<Notify>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    id: MessageId,
    payload: Vec<u8>,
    key: Option<String>,
    priority: u8,
    attempt: u32,
    headers: BTreeMap<String, String>,
}

impl PartialOrd for Stored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Stored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}

/// A ready message: higher priority first, then first in, first out.
#[derive(Debug, PartialEq, Eq)]
struct Ready {
    seq: u64,
    message: Stored,
}

impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ready {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.message.priority, Reverse(self.seq))
            .cmp(&(other.message.priority, Reverse(other.seq)))
    }
}

impl MemoryBroker {
    /// An empty broker.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty broker enforcing the `max_length` of `specs`.
    pub fn with_specs(specs: &[QueueSpec]) -> Self {
        let max_lengths = specs
            .iter()
            .filter_map(|q| Some((q.name.clone(), usize::try_from(q.max_length?).ok()?)))
            .collect();
        Self {
            max_lengths,
            ..Self::default()
        }
    }

    /// Messages waiting in `queue` (ready or delayed), not counting those in flight.
    pub fn depth(&self, queue: &str) -> usize {
        self.lock()
            .queues
            .get(queue)
            .map_or(0, |q| q.ready.len() + q.delayed.len())
    }

    /// Deliveries of `queue` received and not yet settled.
    pub fn in_flight(&self, queue: &str) -> usize {
        self.lock()
            .queues
            .get(queue)
            .map_or(0, |q| q.in_flight.len())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish_now(&self, queue: &str, message: Message) -> Result<MessageId, BrokerError> {
        let mut inner = self.lock();
        if let Some(max) = self.max_lengths.get(queue) {
            let ready = inner.queues.get(queue).map_or(0, |q| q.ready.len());
            if ready >= *max {
                return Err(BrokerError::Full(queue.to_string()));
            }
        }
        inner.next_id += 1;
        let stored = Stored {
            id: inner.next_id,
            payload: message.payload,
            key: message.key,
            priority: message.priority,
            attempt: 1,
            headers: message.headers,
        };
        inner.enqueue(queue, stored, message.delay);
        Ok(inner.next_id)
    }

    fn take_in_flight(
        &self,
        delivery: &Delivery,
    ) -> Result<(MutexGuard<'_, Inner>, Stored), BrokerError> {
        let mut inner = self.lock();
        let stored = inner
            .queues
            .get_mut(&delivery.queue)
            .and_then(|q| q.in_flight.remove(&delivery.id))
            .ok_or(BrokerError::UnknownDelivery(delivery.id))?;
        Ok((inner, stored))
    }

    /// Pops the next ready message, or says when to look again.
    fn try_receive(&self, queue: &str) -> Result<Delivery, (Arc<Notify>, Option<Instant>)> {
        let mut inner = self.lock();
        let q = inner.queues.entry(queue.to_string()).or_default();
        let now = Instant::now();
        let mut promoted = Vec::new();
        while q
            .delayed
            .peek()
            .is_some_and(|Reverse((due, _, _))| *due <= now)
        {
            if let Some(Reverse((_, seq, message))) = q.delayed.pop() {
                promoted.push(Ready { seq, message });
            }
        }
        q.ready.extend(promoted);
        match q.ready.pop() {
            Some(Ready { message, .. }) => {
                if !q.ready.is_empty() {
                    // Wake another waiting consumer for the rest.
                    q.notify.notify_one();
                }
                let delivery = Delivery {
                    id: message.id,
                    queue: queue.to_string(),
                    payload: message.payload.clone(),
                    key: message.key.clone(),
                    priority: message.priority,
                    attempt: message.attempt,
                    headers: message.headers.clone(),
                };
                q.in_flight.insert(message.id, message);
                Ok(delivery)
            }
            None => Err((
                q.notify.clone(),
                q.delayed.peek().map(|Reverse((due, _, _))| *due),
            )),
        }
    }
}

impl Inner {
    fn enqueue(&mut self, queue: &str, message: Stored, delay: Duration) {
        self.next_seq += 1;
        let seq = self.next_seq;
        let q = self.queues.entry(queue.to_string()).or_default();
        if delay.is_zero() {
            q.ready.push(Ready { seq, message });
        } else {
            q.delayed
                .push(Reverse((Instant::now() + delay, seq, message)));
        }
        q.notify.notify_one();
    }
}

impl Broker for MemoryBroker {
    fn publish<'a>(
        &'a self,
        queue: &'a str,
        message: Message,
    ) -> BoxFuture<'a, Result<MessageId, BrokerError>> {
        let id = self.publish_now(queue, message);
        Box::pin(async move { id })
    }

    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
        Box::pin(async move {
            loop {
                let (notify, due) = match self.try_receive(queue) {
                    Ok(delivery) => return Ok(delivery),
                    Err(wait) => wait,
                };
                match due {
                    Some(due) => {
                        tokio::select! {
                            _ = notify.notified() => {}
                            _ = tokio::time::sleep_until(due) => {}
                        }
                    }
                    None => notify.notified().await,
                }
            }
        })
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        let result = self.take_in_flight(delivery).map(|_| ());
        Box::pin(async move { result })
    }

    fn retry<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let result = self
            .take_in_flight(delivery)
            .map(|(mut inner, mut stored)| {
                stored.attempt += 1;
                stored
                    .headers
                    .insert("x-last-error".into(), error.to_string());
                inner.enqueue(&delivery.queue, stored, delay);
            });
        Box::pin(async move { result })
    }

    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        dead_letter: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let result = self
            .take_in_flight(delivery)
            .map(|(mut inner, mut stored)| {
                super::mark_dead_letter(
                    &mut stored.headers,
                    &delivery.queue,
                    stored.attempt,
                    reason,
                );
                stored.attempt = 1;
                inner.enqueue(dead_letter, stored, Duration::ZERO);
            });
        Box::pin(async move { result })
    }

    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
        let waiting = u64::try_from(self.depth(queue)).unwrap_or(u64::MAX);
        Box::pin(async move { Ok(waiting) })
    }
}
