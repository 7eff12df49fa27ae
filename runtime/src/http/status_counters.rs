//! `http_requests_total` per status for one route or endpoint, with the label set fixed at
//! start-up: a request costs one relaxed atomic add, not a registry lookup.

use super::metrics::{Counter, Metrics};
use std::sync::{Arc, OnceLock};

const NAME: &str = "http_requests_total";
const HELP: &str = "HTTP requests answered.";

/// One counter slot per status code (100–599), created on the first answer with it.
pub(crate) struct StatusCounters {
    labels: Vec<(String, String)>,
    slots: Box<[OnceLock<Arc<Counter>>]>,
}

impl StatusCounters {
    /// Counters labelled `labels` plus `status`.
    pub(crate) fn new(labels: &[(&str, &str)]) -> Self {
        Self {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            slots: (0..600).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Counts one answer with `status`.
    pub(crate) fn record(&self, metrics: &Metrics, status: u16) {
        let slot = usize::from(status).min(self.slots.len() - 1);
        self.slots[slot]
            .get_or_init(|| {
                let code = status.to_string();
                let mut labels: Vec<(&str, &str)> = self
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                labels.push(("status", &code));
                metrics.counter(NAME, HELP, &labels)
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_status_in_its_own_series() {
        let metrics = Metrics::new();
        let counters = StatusCounters::new(&[("service", "s"), ("endpoint", "e")]);
        counters.record(&metrics, 200);
        counters.record(&metrics, 200);
        counters.record(&metrics, 429);
        let text = metrics.render();
        assert!(
            text.contains("http_requests_total{service=\"s\",endpoint=\"e\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("http_requests_total{service=\"s\",endpoint=\"e\",status=\"429\"} 1"),
            "{text}"
        );
    }
}
