//! Prometheus metrics without a global registry: a [`Metrics`] value owned by the app,
//! handing out cheap atomic handles that request paths keep, rendered in the text
//! exposition format for `/metrics`.
//!
//! The metric names are a contract with the generated Prometheus alerts
//! (`infra/prometheus/alerts.yml`): `http_requests_total`, `http_request_duration_seconds`,
//! `rate_limit_rejections_total`, `breaker_open`, `queue_lag_messages`,
//! `dead_letter_depth`, `cache_hits_total`, `cache_misses_total`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Histogram bucket upper bounds in seconds (Prometheus' default buckets).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A latency histogram over [`BUCKETS`].
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
enum Metric {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
    Histogram(Arc<Histogram>),
}

/// Label pairs, rendered `{a="x",b="y"}`.
pub type Labels<'a> = &'a [(&'a str, &'a str)];

/// The metrics of one process. Cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    families: Arc<RwLock<BTreeMap<String, Family>>>,
}

#[derive(Debug, Default)]
struct Family {
    help: String,
    series: BTreeMap<String, Metric>,
}

fn render_labels(labels: Labels<'_>) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut out = String::from("{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let escaped = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{k}=\"{escaped}\"");
    }
    out.push('}');
    out
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn series(
        &self,
        name: &str,
        help: &str,
        labels: Labels<'_>,
        make: impl FnOnce() -> Metric,
    ) -> Metric {
        let key = render_labels(labels);
        if let Ok(families) = self.families.read() {
            if let Some(m) = families.get(name).and_then(|f| f.series.get(&key)) {
                return m.clone();
            }
        }
        let mut families = match self.families.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let family = families.entry(name.to_string()).or_default();
        if family.help.is_empty() {
            family.help = help.to_string();
        }
        family.series.entry(key).or_insert_with(make).clone()
    }

    /// The counter `name{labels}`, created at zero on first use.
    pub fn counter(&self, name: &str, help: &str, labels: Labels<'_>) -> Arc<Counter> {
        match self.series(name, help, labels, || Metric::Counter(Arc::default())) {
            Metric::Counter(c) => c,
            // A name registered with another type: hand out a detached metric rather than panic.
            _ => Arc::default(),
        }
    }

    /// The gauge `name{labels}`.
    pub fn gauge(&self, name: &str, help: &str, labels: Labels<'_>) -> Arc<Gauge> {
        match self.series(name, help, labels, || Metric::Gauge(Arc::default())) {
            Metric::Gauge(g) => g,
            _ => Arc::default(),
        }
    }

    /// The histogram `name{labels}`.
    pub fn histogram(&self, name: &str, help: &str, labels: Labels<'_>) -> Arc<Histogram> {
        match self.series(name, help, labels, || Metric::Histogram(Arc::default())) {
            Metric::Histogram(h) => h,
            _ => Arc::default(),
        }
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let families = match self.families.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = String::new();
        for (name, family) in families.iter() {
            let kind = match family.series.values().next() {
                Some(Metric::Counter(_)) => "counter",
                Some(Metric::Gauge(_)) => "gauge",
                Some(Metric::Histogram(_)) => "histogram",
                None => continue,
            };
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, metric) in &family.series {
                match metric {
                    Metric::Counter(c) => {
                        let _ = writeln!(out, "{name}{labels} {}", c.get());
                    }
                    Metric::Gauge(g) => {
                        let _ = writeln!(out, "{name}{labels} {}", g.get());
                    }
                    Metric::Histogram(h) => render_histogram(&mut out, name, labels, h),
                }
            }
        }
        out
    }
}

fn render_histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let inner = labels.trim_start_matches('{').trim_end_matches('}');
    let with_le = |le: &str| {
        if inner.is_empty() {
            format!("{{le=\"{le}\"}}")
        } else {
            format!("{{{inner},le=\"{le}\"}}")
        }
    };
    let mut cumulative = 0;
    for (bound, bucket) in BUCKETS.iter().zip(&h.buckets) {
        cumulative += bucket.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{} {cumulative}",
            with_le(&bound.to_string())
        );
    }
    let count = h.count.load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_bucket{} {count}", with_le("+Inf"));
    let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "{name}_sum{labels} {sum}");
    let _ = writeln!(out, "{name}_count{labels} {count}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_histograms() {
        let m = Metrics::new();
        let c = m.counter("http_requests_total", "Requests.", &[("status", "200")]);
        c.inc();
        c.add(2);
        m.gauge("breaker_open", "Open breakers.", &[("upstream", "a\"b")])
            .set(1);
        let h = m.histogram("http_request_duration_seconds", "Latency.", &[]);
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(30));
        let text = m.render();
        assert!(
            text.contains("# TYPE http_requests_total counter"),
            "{text}"
        );
        assert!(
            text.contains("http_requests_total{status=\"200\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("breaker_open{upstream=\"a\\\"b\"} 1"),
            "{text}"
        );
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("http_request_duration_seconds_count 2"));
    }

    #[test]
    fn the_same_series_is_shared() {
        let m = Metrics::new();
        m.counter("x_total", "X.", &[("a", "1")]).inc();
        m.counter("x_total", "X.", &[("a", "1")]).inc();
        assert_eq!(m.counter("x_total", "X.", &[("a", "1")]).get(), 2);
        assert_eq!(
            m.gauge("x_total", "X.", &[("a", "1")]).get(),
            0,
            "type clash is detached"
        );
    }
}
