//! [`Consumer`]: runs a handler over a queue's deliveries with a concurrency limit and
//! settles each one according to its outcome, the error routing and the retry settings.

use super::{
    Broker, BrokerError, Delivery, ErrorAction, ErrorRouting, HandlerError, RetrySettings,
};
use crate::retry::jittered;
use crate::rng::XorShift64;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A consumer's settings (`consumes { concurrency }` plus the queue's `retry`, `errors`
/// and `dead_letter`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    /// Deliveries handled at once (at least 1).
    pub concurrency: usize,
    /// Retry attempts, backoff and jitter.
    pub retry: RetrySettings,
    /// Error class → action.
    pub errors: ErrorRouting,
    /// The dead-letter queue; without one, messages that would be dead-lettered are
    /// discarded.
    pub dead_letter: Option<String>,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            concurrency: 1,
            retry: RetrySettings::default(),
            errors: ErrorRouting::default(),
            dead_letter: None,
        }
    }
}

/// How a delivery was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Handled successfully and acknowledged.
    Acked,
    /// Put back, to be delivered again after `delay`.
    Retried {
        /// The wait before the next delivery (backoff with jitter).
        delay: Duration,
    },
    /// Moved to the dead-letter queue.
    DeadLettered,
    /// Dropped.
    Discarded,
}

/// Consumes one queue of a [`Broker`].
#[derive(Debug)]
pub struct Consumer {
    broker: Arc<dyn Broker>,
    queue: String,
    config: ConsumerConfig,
    rng: Mutex<XorShift64>,
}

impl Consumer {
    /// A consumer of `queue` with an entropy-seeded jitter RNG.
    pub fn new(broker: Arc<dyn Broker>, queue: impl Into<String>, config: ConsumerConfig) -> Self {
        Self {
            broker,
            queue: queue.into(),
            config: ConsumerConfig {
                concurrency: config.concurrency.max(1),
                ..config
            },
            rng: Mutex::new(XorShift64::from_entropy()),
        }
    }

    /// Seeds the jitter RNG (deterministic delays).
    pub fn with_seed(self, seed: u64) -> Self {
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = XorShift64::new(seed);
        self
    }

    /// The settings in force.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// Settles `delivery` given the handler's `result`.
    ///
    /// Failures take their class's action. A retried delivery whose retries are used up
    /// (`attempt > attempts`) is dead-lettered with reason `exhausted`; dead-lettering
    /// without a dead-letter queue discards.
    pub async fn settle(
        &self,
        delivery: &Delivery,
        result: Result<(), HandlerError>,
    ) -> Result<Settled, BrokerError> {
        let error = match result {
            Ok(()) => {
                self.broker.ack(delivery).await?;
                return Ok(Settled::Acked);
            }
            Err(e) => e,
        };
        let retry = &self.config.retry;
        let (action, reason) = match self.config.errors.action(error.class) {
            ErrorAction::Retry if delivery.attempt <= retry.attempts => {
                let base = retry.backoff.delay(delivery.attempt);
                let delay = {
                    let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                    jittered(base, retry.jitter, &mut rng)
                };
                self.broker
                    .retry(delivery, delay, &error.to_string())
                    .await?;
                return Ok(Settled::Retried { delay });
            }
            ErrorAction::Retry => (ErrorAction::DeadLetter, format!("exhausted: {error}")),
            other => (other, error.to_string()),
        };
        match (action, &self.config.dead_letter) {
            (ErrorAction::DeadLetter, Some(dlq)) => {
                self.broker.dead_letter(delivery, dlq, &reason).await?;
                Ok(Settled::DeadLettered)
            }
            _ => {
                self.broker.ack(delivery).await?;
                Ok(Settled::Discarded)
            }
        }
    }

    /// Receives one delivery, runs `handler` on it and settles it. A handler that panics
    /// counts as a transient failure.
    pub async fn process_one<H, Fut>(&self, handler: &H) -> Result<(Delivery, Settled), BrokerError>
    where
        H: Fn(Delivery) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let delivery = self.broker.receive(&self.queue).await?;
        let result = run_guarded(handler(delivery.clone())).await;
        let settled = self.settle(&delivery, result).await?;
        Ok((delivery, settled))
    }

    /// Consumes until `shutdown` completes, running up to `concurrency` handlers at once,
    /// then waits for the handlers in flight to finish and settle. Returns the first
    /// broker error met while receiving; settling errors of single deliveries are skipped
    /// (the broker redelivers what was not settled).
    pub async fn run<H, Fut, S>(self: Arc<Self>, handler: H, shutdown: S) -> Result<(), BrokerError>
    where
        H: Fn(Delivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
        S: Future<Output = ()>,
    {
        let handler = Arc::new(handler);
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        let outcome = loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break Ok(()),
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break Ok(()),
                },
            };
            let delivery = tokio::select! {
                _ = &mut shutdown => break Ok(()),
                received = self.broker.receive(&self.queue) => match received {
                    Ok(d) => d,
                    Err(e) => break Err(e),
                },
            };
            let (this, handler) = (self.clone(), handler.clone());
            tasks.spawn(async move {
                let result = run_guarded(handler(delivery.clone())).await;
                let _ = this.settle(&delivery, result).await;
                drop(permit);
            });
            while tasks.try_join_next().is_some() {}
        };
        while tasks.join_next().await.is_some() {}
        outcome
    }
}

/// Runs a handler future in its own task so that a panic becomes a transient error.
async fn run_guarded<Fut>(fut: Fut) -> Result<(), HandlerError>
where
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok(result) => result,
        Err(e) => Err(HandlerError::transient(format!("handler panicked: {e}"))),
    }
}
