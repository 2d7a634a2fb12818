//! Prometheus metrics: HTTP requests by route and status, and source calls by runtime and outcome.
//!
//! Labels hold only bounded, non-secret values: route templates (never raw paths), runtime ids and codes.

use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use std::sync::atomic::AtomicU64;

use crate::health::HealthState;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rustc_hash::FxHashMap;

/// Labels of an HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

/// Labels of a source call's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    runtime_id: String,
    operation: String,
    outcome: String,
}

/// Labels of a source call's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceOperationLabels {
    runtime_id: String,
    operation: String,
}

/// Labels of a source's health state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HealthLabels {
    runtime_id: String,
    status: &'static str,
}

/// Labels of what belongs to one source.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuntimeLabels {
    runtime_id: String,
}

/// Labels of a configuration reload.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    outcome: &'static str,
}

/// Latency buckets from 100µs to about 6.5s.
#[derive(Clone)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.0001, 2.0, 17))
    }
}

/// Every metric the backend exports.
pub struct Metrics {
    registry: Mutex<Registry>,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Family<HttpLabels, Histogram, LatencyBuckets>,
    source_calls: Family<SourceLabels, Counter>,
    source_latency: Family<SourceOperationLabels, Histogram, LatencyBuckets>,
    config_reloads: Family<ReloadLabels, Counter>,
    source_status: Family<HealthLabels, Gauge>,
    source_probes: Family<RuntimeLabels, Counter>,
    source_probe_latency: Family<RuntimeLabels, Gauge<f64, AtomicU64>>,
    /// The HTTP series recorded so far, by route and then method and status: a request finds its own without
    /// building labels.
    http_seen: Seen<(&'static str, u16)>,
    /// The source series recorded so far, by runtime id and then operation and outcome, likewise.
    source_seen: Seen<(&'static str, &'static str)>,
}

/// Series recorded so far, by a first label and then the rest; they share their values with the families.
/// The first labels are route templates and configured runtime ids, not text a client chooses, so a fast
/// hash without a random key will do (one lookup per request and one per source call).
type Seen<K> = RwLock<FxHashMap<Box<str>, Vec<Series<K>>>>;

/// A count and a latency histogram under the labels `key`.
struct Series<K> {
    key: K,
    count: Counter,
    latency: Histogram,
}

/// Counts one event of `elapsed` in the series of `first` and `key`, made by `make` the first time.
fn observe<K: Copy + PartialEq>(
    seen: &Seen<K>,
    first: &str,
    key: K,
    elapsed: Duration,
    make: impl FnOnce() -> (Counter, Histogram),
) {
    let record = |series: &Series<K>| {
        series.count.inc();
        series.latency.observe(elapsed.as_secs_f64());
    };
    if let Some(series) = seen.read().get(first).and_then(|all| all.iter().find(|s| s.key == key)) {
        return record(series);
    }
    let mut seen = seen.write();
    let all = seen.entry(first.into()).or_default();
    if let Some(series) = all.iter().find(|s| s.key == key) {
        return record(series);
    }
    let (count, latency) = make();
    let series = Series { key, count, latency };
    record(&series);
    all.push(series);
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("yoi_backend");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_latency = Family::new_with_constructor(LatencyBuckets);
        let source_calls = Family::<SourceLabels, Counter>::default();
        let source_latency = Family::new_with_constructor(LatencyBuckets);
        registry.register("http_requests", "HTTP requests by method, route and status", http_requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", http_latency.clone());
        registry.register("source_calls", "Source calls by runtime, operation and outcome", source_calls.clone());
        registry.register("source_call_duration_seconds", "Source call latency", source_latency.clone());
        let config_reloads = Family::<ReloadLabels, Counter>::default();
        let help = "Configuration reloads (SIGHUP) by outcome: applied, or refused because the file does not load";
        registry.register("config_reloads", help, config_reloads.clone());
        let source_status = Family::<HealthLabels, Gauge>::default();
        let help = "1 for each source's current health state (unknown, ready, degraded, unavailable), 0 for the others";
        registry.register("source_status", help, source_status.clone());
        let source_probes = Family::<RuntimeLabels, Counter>::default();
        registry.register("source_probes", "Health probes of each source", source_probes.clone());
        let source_probe_latency = Family::<RuntimeLabels, Gauge<f64, AtomicU64>>::default();
        let help = "How long each source's last health probe took";
        registry.register("source_probe_duration_seconds", help, source_probe_latency.clone());
        Metrics {
            registry: Mutex::new(registry),
            http_requests,
            http_latency,
            source_calls,
            source_latency,
            config_reloads,
            source_status,
            source_probes,
            source_probe_latency,
            http_seen: RwLock::default(),
            source_seen: RwLock::default(),
        }
    }

    /// Records one HTTP request; `route` is the matched route template.
    pub fn record_http(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        observe(&self.http_seen, route, (method, status), elapsed, || {
            let labels = HttpLabels { method: method.to_owned(), route: route.to_owned(), status };
            (self.http_requests.get_or_create(&labels).clone(), self.http_latency.get_or_create(&labels).clone())
        });
    }

    /// Records one source call; `outcome` is `ok` or the error code.
    pub fn record_source(&self, runtime_id: &str, operation: &'static str, outcome: &'static str, elapsed: Duration) {
        observe(&self.source_seen, runtime_id, (operation, outcome), elapsed, || {
            let labels = SourceLabels {
                runtime_id: runtime_id.to_owned(),
                operation: operation.to_owned(),
                outcome: outcome.to_owned(),
            };
            let latency = SourceOperationLabels { runtime_id: runtime_id.to_owned(), operation: operation.to_owned() };
            (self.source_calls.get_or_create(&labels).clone(), self.source_latency.get_or_create(&latency).clone())
        });
    }

    /// Records one configuration reload: applied, or refused (nothing changed).
    pub fn record_reload(&self, applied: bool) {
        let outcome = if applied { "applied" } else { "refused" };
        self.config_reloads.get_or_create(&ReloadLabels { outcome }).inc();
    }

    /// Records a source's health state and, after a probe, its latency.
    pub fn record_health(&self, runtime_id: &str, state: HealthState, probe: Option<Duration>) {
        for each in HealthState::ALL {
            let labels = HealthLabels { runtime_id: runtime_id.to_owned(), status: each.as_str() };
            self.source_status.get_or_create(&labels).set(i64::from(each == state));
        }
        if let Some(latency) = probe {
            let labels = RuntimeLabels { runtime_id: runtime_id.to_owned() };
            self.source_probes.get_or_create(&labels).inc();
            self.source_probe_latency.get_or_create(&labels).set(latency.as_secs_f64());
        }
    }

    /// Drops the health series of a source that left the registry.
    pub fn forget_health(&self, runtime_id: &str) {
        for each in HealthState::ALL {
            self.source_status.remove(&HealthLabels { runtime_id: runtime_id.to_owned(), status: each.as_str() });
        }
        let labels = RuntimeLabels { runtime_id: runtime_id.to_owned() };
        self.source_probes.remove(&labels);
        self.source_probe_latency.remove(&labels);
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry.lock()).expect("writing to a String");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_calls_appear_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.record_http("GET", "/api/runtimes", 200, Duration::from_millis(3));
        metrics.record_source("backend-internal", "summary", "ok", Duration::from_millis(1));
        let text = metrics.encode();
        assert!(
            text.contains(r#"yoi_backend_http_requests_total{method="GET",route="/api/runtimes",status="200"} 1"#),
            "{text}"
        );
        assert!(text.contains(
            r#"yoi_backend_source_calls_total{runtime_id="backend-internal",operation="summary",outcome="ok"} 1"#
        ));
        assert!(text.contains("yoi_backend_source_call_duration_seconds_bucket"));
    }
}
