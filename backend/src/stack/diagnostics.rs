//! Diagnostics: each source's record of outcomes and latency, shown in `/api/runtimes` and `/metrics`.
//!
//! The outermost step, so it records what callers finally get: typed and sanitized errors, and the whole
//! latency including any wait for a bulkhead slot. Deciding what counts as the source's fault is kept in
//! [`is_source_fault`], apart from the recording.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use runtime_api::{ApiError, ErrorCode, RuntimeId, Timestamp};
use serde::Serialize;

use super::{Operation, SourceResponse};
use crate::health::Monitor;
use crate::metrics::Metrics;

/// Whether an error says the source is unwell, rather than that the request was wrong or the worker busy.
pub fn is_source_fault(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Internal
            | ErrorCode::RuntimeAuthFailed
            | ErrorCode::RuntimeProtocolError
            | ErrorCode::RuntimeIncompatible
            | ErrorCode::RuntimeUnavailable
            | ErrorCode::RuntimeTimeout
    )
}

/// What is known about a source's recent behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct HealthRecord {
    /// Calls made through the stack.
    pub calls: u64,
    /// Calls that failed by the source's fault.
    pub failures: u64,
    /// When a call last succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_success_at: Option<Timestamp>,
    /// When a call last failed by the source's fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_failure_at: Option<Timestamp>,
    /// That failure (sanitized).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ApiError>,
    /// Latency of the last call, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_latency_ms: Option<f64>,
}

/// The shared, updatable record of one source.
#[derive(Debug, Default)]
pub struct SourceHealth {
    record: Mutex<HealthRecord>,
}

impl SourceHealth {
    /// A record with nothing in it yet.
    pub fn new() -> Arc<Self> {
        Arc::new(SourceHealth::default())
    }

    /// A copy of the current record.
    pub fn snapshot(&self) -> HealthRecord {
        self.record.lock().clone()
    }

    fn observe(&self, outcome: Result<(), &ApiError>, latency_ms: f64) {
        let mut record = self.record.lock();
        record.calls += 1;
        record.last_latency_ms = Some(latency_ms);
        match outcome {
            Err(error) if is_source_fault(error.code) => {
                record.failures += 1;
                record.last_failure_at = Some(Timestamp::now());
                record.last_error = Some(error.clone());
            }
            _ => record.last_success_at = Some(Timestamp::now()),
        }
    }
}

/// Records every call of one source.
pub struct Diagnostics {
    health: Arc<SourceHealth>,
    metrics: Arc<Metrics>,
}

impl Diagnostics {
    /// Records into `health` and `metrics`.
    pub fn new(health: Arc<SourceHealth>, metrics: Arc<Metrics>) -> Self {
        Diagnostics { health, metrics }
    }

    /// Records one call to the source `runtime_id`: what it gave back and how long it took. A failure is
    /// logged only at debug level while `circuit` knows the source is down: the monitor has logged the
    /// outage once, and a line per refused call would flood the log at the callers' rate.
    pub(super) fn record(
        &self,
        runtime_id: &RuntimeId,
        operation: Operation,
        result: &Result<SourceResponse, ApiError>,
        elapsed: Duration,
        circuit: Option<&Monitor>,
    ) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(error) => error.code.as_str(),
        };
        self.health.observe(result.as_ref().map(|_| ()), elapsed.as_secs_f64() * 1000.0);
        self.metrics.record_source(runtime_id.as_str(), operation.as_str(), outcome, elapsed);
        if let Err(error) = result
            && is_source_fault(error.code)
        {
            let operation = operation.as_str();
            if circuit.is_some_and(Monitor::failing_fast) {
                tracing::debug!(runtime_id = %runtime_id, operation, error = %error, "source call failed while known down");
            } else {
                tracing::warn!(runtime_id = %runtime_id, operation, error = %error, "source call failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_recorded_but_client_errors_are_not_failures() {
        let health = SourceHealth::new();
        let metrics = Arc::new(Metrics::new());
        let diagnostics = Diagnostics::new(health.clone(), metrics.clone());
        let dev = RuntimeId::parse("dev").unwrap();
        let not_found = Err(ApiError::new(ErrorCode::WorkerNotFound, "worker w-1 not found"));
        diagnostics.record(&dev, Operation::Get, &not_found, Duration::from_millis(1), None);
        let record = health.snapshot();
        assert_eq!((record.calls, record.failures), (1, 0));
        assert!(record.last_success_at.is_some(), "the source answered, if only with not-found");

        let down = Err(ApiError::new(ErrorCode::RuntimeUnavailable, "runtime dev is not running"));
        diagnostics.record(&dev, Operation::Summary, &down, Duration::from_millis(1), None);
        let record = health.snapshot();
        assert_eq!((record.calls, record.failures), (2, 1));
        assert_eq!(record.last_error.map(|e| e.code), Some(ErrorCode::RuntimeUnavailable));
        let text = metrics.encode();
        assert!(text.contains(r#"operation="get",outcome="worker_not_found"} 1"#), "{text}");
        assert!(text.contains(r#"operation="summary",outcome="runtime_unavailable"} 1"#));
    }
}
