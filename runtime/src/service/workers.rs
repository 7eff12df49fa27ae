//! Background work of a service: one task per consumer slot (the queue's retry, error
//! routing and dead letter applied by [`Consumer`]), one task per job on its cron
//! schedule, one flusher per write-behind cache, and one sampler that reads from the
//! broker how far behind each consumed queue is (`queue_lag_messages`) and how deep its
//! dead-letter queue is (`dead_letter_depth`), the gauges the generated alerts and the
//! queue-depth autoscaler read. All stop on the shutdown switch; [`Workers::drain`] waits
//! for them.

use super::cron::Schedule;
use super::{Context, Handlers};
use crate::http::log;
use crate::http::shutdown::Shutdown;
use crate::queue::{Consumer, ConsumerConfig, ErrorAction, ErrorRouting, RetrySettings};
use crate::retry::Backoff;
use crate::spec::{BackoffSpec, ConsumerSpec, JobSpec, QueueSpec};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

/// How often the queue gauges are read from the broker (`QUEUE_LAG_EVERY_MS` overrides it).
const LAG_EVERY: Duration = Duration::from_secs(5);

fn action(text: &str, default: ErrorAction) -> ErrorAction {
    match text {
        "retry" => ErrorAction::Retry,
        "dead_letter" => ErrorAction::DeadLetter,
        "discard" => ErrorAction::Discard,
        _ => default,
    }
}

/// The consumer settings of `consumer` on `queue`.
pub(crate) fn config(consumer: &ConsumerSpec, queue: &QueueSpec) -> ConsumerConfig {
    let backoff = match queue.retry.backoff {
        BackoffSpec::Fixed { base_ms } => Backoff::Fixed(Duration::from_millis(base_ms)),
        BackoffSpec::Exponential { base_ms, max_ms } => Backoff::Exponential {
            base: Duration::from_millis(base_ms),
            max: Duration::from_millis(max_ms),
        },
    };
    let defaults = ErrorRouting::default();
    ConsumerConfig {
        concurrency: consumer.concurrency.max(1) as usize,
        retry: RetrySettings {
            attempts: queue.retry.attempts,
            backoff,
            jitter: queue.retry.jitter,
        },
        errors: ErrorRouting {
            transient: action(&queue.errors.transient, defaults.transient),
            invalid: action(&queue.errors.invalid, defaults.invalid),
            business: action(&queue.errors.business, defaults.business),
        },
        dead_letter: queue.dead_letter.clone(),
    }
}

/// The background tasks of one service.
pub(crate) struct Workers {
    ctx: Context,
    handlers: Arc<dyn Handlers>,
    shutdown: Shutdown,
    tasks: Mutex<JoinSet<()>>,
}

impl Workers {
    pub(crate) fn new(ctx: Context, handlers: Arc<dyn Handlers>) -> Self {
        Self {
            ctx,
            handlers,
            shutdown: Shutdown::new(),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    pub(crate) fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spawn(task);
    }

    /// Starts every consumer, job and flusher.
    pub(crate) fn start(&self) {
        let spec = self.ctx.spec().clone();
        for c in &spec.consumers {
            let Some(queue) = spec.queues.iter().find(|q| q.name == c.from) else {
                log::warn(
                    &spec.name,
                    "consumer of an unknown queue",
                    &[("consumer", c.name.clone().into())],
                );
                continue;
            };
            let consumer = Arc::new(Consumer::new(
                self.ctx.shared.broker.clone(),
                c.from.clone(),
                config(c, queue),
            ));
            for _ in 0..c.concurrency.max(1) {
                self.spawn(consume(
                    self.ctx.clone(),
                    self.handlers.clone(),
                    c.name.clone(),
                    consumer.clone(),
                    self.shutdown.clone(),
                ));
            }
        }
        for j in &spec.jobs {
            match Schedule::parse(&j.schedule) {
                Ok(schedule) => self.spawn(run_job(
                    self.ctx.clone(),
                    self.handlers.clone(),
                    j.clone(),
                    schedule,
                    self.shutdown.clone(),
                )),
                Err(why) => log::error(
                    &spec.name,
                    "job not scheduled",
                    &[
                        ("job", j.name.clone().into()),
                        ("error", why.to_string().into()),
                    ],
                ),
            }
        }
        if !spec.consumers.is_empty() {
            self.spawn(sample_queues(self.ctx.clone(), self.shutdown.clone()));
        }
        for name in self.ctx.shared.caches.keys() {
            let (ctx, name, shutdown) = (self.ctx.clone(), name.clone(), self.shutdown.clone());
            let Some(every) = ctx.shared.caches.get(&name).and_then(|c| c.flush_every()) else {
                continue;
            };
            self.spawn(async move {
                loop {
                    tokio::select! {
                        () = shutdown.wait() => break,
                        () = tokio::time::sleep(every) => {}
                    }
                    if let Some(c) = ctx.shared.caches.get(&name) {
                        c.flush(&ctx.shared.tables).await;
                    }
                }
                if let Some(c) = ctx.shared.caches.get(&name) {
                    c.flush(&ctx.shared.tables).await;
                }
            });
        }
    }

    /// Stops the workers and waits until they finished their current work.
    pub(crate) async fn drain(&self) {
        self.shutdown.trigger();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        while tasks.join_next().await.is_some() {}
    }
}

async fn consume(
    ctx: Context,
    handlers: Arc<dyn Handlers>,
    name: String,
    consumer: Arc<Consumer>,
    shutdown: Shutdown,
) {
    let handler = {
        let (ctx, handlers, name) = (ctx.clone(), handlers.clone(), name.clone());
        move |delivery: crate::queue::Delivery| {
            let (ctx, handlers, name) = (ctx.clone(), handlers.clone(), name.clone());
            async move { handlers.message(&name, &ctx, &delivery).await.into_result() }
        }
    };
    let mut failures = 0u32;
    loop {
        let settled = tokio::select! {
            () = shutdown.wait() => break,
            r = consumer.process_one(&handler) => r,
        };
        match settled {
            Ok(_) => failures = 0,
            Err(why) => {
                // A broker that fails (a lost connection, a restart) is waited for, not
                // given up on: the consumer backs off and tries again until shutdown.
                failures = failures.saturating_add(1);
                let wait = BROKER_BACKOFF.delay(failures);
                if failures == 1 {
                    log::error(
                        &ctx.spec().name,
                        "consumer waiting for the broker",
                        &[
                            ("consumer", name.clone().into()),
                            ("error", why.to_string().into()),
                        ],
                    );
                }
                tokio::select! {
                    () = shutdown.wait() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// How long a consumer waits after its nth broker error in a row: 100 ms doubling, at
/// most 5 s.
const BROKER_BACKOFF: Backoff = Backoff::Exponential {
    base: Duration::from_millis(100),
    max: Duration::from_secs(5),
};

/// The gauges [`sample_queues`] sets: (queue, gauge) for each consumed queue's lag and each
/// of their dead-letter queues' depth, each queue once.
fn queue_gauges(ctx: &Context) -> Vec<(String, Arc<crate::http::metrics::Gauge>)> {
    let spec = ctx.spec();
    let metrics = &ctx.shared.metrics;
    let mut gauges: Vec<(String, Arc<crate::http::metrics::Gauge>)> = Vec::new();
    // (metric, queue) pairs already set up: a queue consumed twice gets one gauge.
    let mut seen = std::collections::BTreeSet::new();
    for c in &spec.consumers {
        if seen.insert(("lag", c.from.clone())) {
            let lag = metrics.gauge(
                "queue_lag_messages",
                "Messages of a consumed queue waiting to be delivered (ready or delayed).",
                &[("queue", c.from.as_str())],
            );
            gauges.push((c.from.clone(), lag));
        }
        let dead = spec
            .queues
            .iter()
            .find(|q| q.name == c.from)
            .and_then(|q| q.dead_letter.clone());
        if let Some(dead) = dead.filter(|d| seen.insert(("dead", d.clone()))) {
            let depth = metrics.gauge(
                "dead_letter_depth",
                "Messages in a dead-letter queue.",
                &[("queue", dead.as_str())],
            );
            gauges.push((dead, depth));
        }
    }
    gauges
}

/// Reads the queue gauges from the broker now and every [`LAG_EVERY`]. A broker that cannot
/// answer leaves the gauge at its last value and logs once per failure streak.
async fn sample_queues(ctx: Context, shutdown: Shutdown) {
    let every = std::env::var("QUEUE_LAG_EVERY_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(LAG_EVERY, Duration::from_millis);
    let gauges = queue_gauges(&ctx);
    let mut failing = false;
    loop {
        let mut failed = None;
        for (queue, gauge) in &gauges {
            match ctx.shared.broker.lag(queue).await {
                Ok(n) => gauge.set(i64::try_from(n).unwrap_or(i64::MAX)),
                Err(why) => failed = Some((queue.clone(), why)),
            }
        }
        if let (Some((queue, why)), false) = (&failed, failing) {
            log::warn(
                &ctx.spec().name,
                "queue lag not read",
                &[
                    ("queue", queue.clone().into()),
                    ("error", why.to_string().into()),
                ],
            );
        }
        failing = failed.is_some();
        tokio::select! {
            () = shutdown.wait() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn run_job(
    ctx: Context,
    handlers: Arc<dyn Handlers>,
    job: JobSpec,
    schedule: Schedule,
    shutdown: Shutdown,
) {
    let mut running: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        let now = now_ms();
        let Some(next) = schedule.next_after(now) else {
            break;
        };
        tokio::select! {
            () = shutdown.wait() => break,
            () = tokio::time::sleep(Duration::from_millis(next.saturating_sub(now))) => {}
        }
        if !job.overlap && running.as_ref().is_some_and(|t| !t.is_finished()) {
            log::warn(
                &ctx.spec().name,
                "job still running: run skipped",
                &[("job", job.name.clone().into())],
            );
            continue;
        }
        let (ctx, handlers, job) = (ctx.clone(), handlers.clone(), job.clone());
        running = Some(tokio::spawn(async move {
            let budget = Duration::from_millis(job.timeout_ms.max(1));
            let result = tokio::time::timeout(budget, handlers.job(&job.name, &ctx)).await;
            let name = ctx.spec().name.clone();
            match result {
                Ok(Ok(())) => log::info(&name, "job done", &[("job", job.name.into())]),
                Ok(Err(why)) => log::error(
                    &name,
                    "job failed",
                    &[("job", job.name.into()), ("error", why.into())],
                ),
                Err(_) => log::error(&name, "job timed out", &[("job", job.name.into())]),
            }
        }));
    }
    if let Some(t) = running {
        let _ = t.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backends;
    use crate::queue::{Broker, BrokerError, Delivery, MemoryBroker, Message, MessageId};
    use crate::service::{App, MessageOutcome};
    use crate::spec::ServiceSpec;
    use crate::BoxFuture;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn broker_backoff_doubles_up_to_five_seconds() {
        let waits: Vec<u64> = (1..=9)
            .map(|n| BROKER_BACKOFF.delay(n).as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }

    /// A memory broker whose first `failing` receives fail, as a lost connection would.
    #[derive(Debug)]
    struct Flaky {
        inner: MemoryBroker,
        failing: AtomicU32,
    }

    impl Broker for Flaky {
        fn publish<'a>(
            &'a self,
            queue: &'a str,
            message: Message,
        ) -> BoxFuture<'a, Result<MessageId, BrokerError>> {
            self.inner.publish(queue, message)
        }
        fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
            let left = self.failing.load(Ordering::SeqCst);
            if left > 0 {
                self.failing.store(left - 1, Ordering::SeqCst);
                return Box::pin(async { Err(BrokerError::Backend("connection lost".into())) });
            }
            self.inner.receive(queue)
        }
        fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
            self.inner.ack(delivery)
        }
        fn retry<'a>(
            &'a self,
            delivery: &'a Delivery,
            delay: Duration,
            error: &'a str,
        ) -> BoxFuture<'a, Result<(), BrokerError>> {
            self.inner.retry(delivery, delay, error)
        }
        fn dead_letter<'a>(
            &'a self,
            delivery: &'a Delivery,
            dead_letter: &'a str,
            reason: &'a str,
        ) -> BoxFuture<'a, Result<(), BrokerError>> {
            self.inner.dead_letter(delivery, dead_letter, reason)
        }
        fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
            self.inner.lag(queue)
        }
        fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
            let down = self.failing.load(Ordering::SeqCst) > 0;
            Box::pin(async move {
                if down {
                    Err("connection lost".into())
                } else {
                    Ok(())
                }
            })
        }
    }

    async fn ready(app: &App) -> (u16, serde_json::Value) {
        let req = axum::http::Request::get("/ready")
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = app.handle(req).await;
        let status = response.status().as_u16();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("a body")
            .to_bytes();
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    #[derive(Debug, Default)]
    struct Counting(AtomicU32);

    #[async_trait::async_trait]
    impl Handlers for Counting {
        async fn message(&self, _: &str, _: &Context, _: &Delivery) -> MessageOutcome {
            self.0.fetch_add(1, Ordering::SeqCst);
            MessageOutcome::Default
        }
    }

    /// Also `/ready`: 503 naming the broker while it is down, 200 once it answers.
    #[tokio::test(start_paused = true)]
    async fn a_consumer_outlives_broker_errors() {
        let spec: ServiceSpec = serde_json::from_value(serde_json::json!({
            "name": "svc", "port": 0, "health_path": "/health", "endpoints": [],
            "consumers": [{"name": "audit", "from": "events", "concurrency": 1, "batch": 1}],
            "jobs": [], "limits": [], "caches": [], "tables": [], "upstreams": [],
            "shed": null, "body_limit": 0,
            "queues": [crate::queue::conformance::queue_spec("events", "memory", None)],
        }))
        .expect("a service spec");
        let broker = Arc::new(Flaky {
            inner: MemoryBroker::new(),
            failing: AtomicU32::new(3),
        });
        let backends = Backends {
            broker: broker.clone(),
            ..Backends::embedded()
        };
        let handlers = Arc::new(Counting::default());
        let app = App::build(spec, handlers.clone(), backends)
            .await
            .expect("builds");
        let (status, body) = ready(&app).await;
        assert_eq!(
            (status, body["unhealthy"].clone()),
            (503, serde_json::json!(["broker"]))
        );
        assert_eq!(body["status"], "degraded");
        app.start_workers();
        broker
            .publish("events", Message::new("x"))
            .await
            .expect("publish");
        // Three failed receives wait 100 + 200 + 400 ms; the message is handled after them.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            broker.failing.load(Ordering::SeqCst),
            0,
            "every failure was met"
        );
        assert_eq!(
            handlers.0.load(Ordering::SeqCst),
            1,
            "the message was handled"
        );
        assert_eq!(ready(&app).await.0, 200, "the broker answers again");
        app.drain().await;
    }
}
