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
    loop {
        let settled = tokio::select! {
            () = shutdown.wait() => break,
            r = consumer.process_one(&handler) => r,
        };
        match settled {
            Ok(_) => {}
            Err(why) => {
                log::error(
                    &ctx.spec().name,
                    "consumer stopped",
                    &[
                        ("consumer", name.clone().into()),
                        ("error", why.to_string().into()),
                    ],
                );
                break;
            }
        }
    }
}

/// The gauges [`sample_queues`] sets: (queue, gauge) for each consumed queue's lag and each
/// of their dead-letter queues' depth, each queue once.
fn queue_gauges(ctx: &Context) -> Vec<(String, Arc<crate::http::metrics::Gauge>)> {
    let spec = ctx.spec();
    let metrics = &ctx.shared.metrics;
    let mut gauges: Vec<(String, Arc<crate::http::metrics::Gauge>)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in &spec.consumers {
        if seen.insert(c.from.clone()) {
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
        if let Some(dead) = dead.filter(|d| seen.insert(format!("dead:{d}"))) {
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
