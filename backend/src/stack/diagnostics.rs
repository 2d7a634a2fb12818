//! Diagnostics: each source's record of outcomes and latency, shown in `/api/runtimes` and `/metrics`.
//!
//! The outermost layer, so it records what callers finally get: typed and sanitized errors, and the whole
//! latency including any wait for a bulkhead slot. Deciding what counts as the source's fault is kept in
//! [`is_source_fault`], apart from the recording.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use runtime_api::{ApiError, ErrorCode, RuntimeId, Timestamp};
use serde::Serialize;

use super::{SourceRequest, SourceResponse};
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

/// Records every call of the wrapped service.
#[derive(Clone)]
pub struct DiagnosticsLayer {
    runtime_id: RuntimeId,
    health: Arc<SourceHealth>,
    metrics: Arc<Metrics>,
    monitor: Option<Arc<Monitor>>,
}

impl DiagnosticsLayer {
    /// Records into `health` and `metrics` under `runtime_id`.
    pub fn new(runtime_id: RuntimeId, health: Arc<SourceHealth>, metrics: Arc<Metrics>) -> Self {
        DiagnosticsLayer { runtime_id, health, metrics, monitor: None }
    }

    /// Logs failed calls only at debug level while `monitor` knows the source is down: the monitor has
    /// logged the outage once, and a line per refused call would flood the log at the callers' rate.
    pub fn quiet_while_down(mut self, monitor: Arc<Monitor>) -> Self {
        self.monitor = Some(monitor);
        self
    }
}

impl<S> tower::Layer<S> for DiagnosticsLayer {
    type Service = Diagnostics<S>;

    fn layer(&self, inner: S) -> Diagnostics<S> {
        Diagnostics { inner, layer: self.clone() }
    }
}

/// The service of [`DiagnosticsLayer`].
#[derive(Clone)]
pub struct Diagnostics<S> {
    inner: S,
    layer: DiagnosticsLayer,
}

impl<S> tower::Service<SourceRequest> for Diagnostics<S>
where
    S: tower::Service<SourceRequest, Response = SourceResponse, Error = ApiError>,
    S::Future: Send + 'static,
{
    type Response = SourceResponse;
    type Error = ApiError;
    type Future = BoxFuture<'static, Result<SourceResponse, ApiError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ApiError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SourceRequest) -> Self::Future {
        let operation = request.operation();
        let layer = self.layer.clone();
        let started = Instant::now();
        let call = self.inner.call(request);
        async move {
            let result = call.await;
            let elapsed = started.elapsed();
            let outcome = match &result {
                Ok(_) => "ok",
                Err(error) => error.code.as_str(),
            };
            layer.health.observe(result.as_ref().map(|_| ()), elapsed.as_secs_f64() * 1000.0);
            layer.metrics.record_source(layer.runtime_id.as_str(), operation.as_str(), outcome, elapsed);
            if let Err(error) = &result
                && is_source_fault(error.code)
            {
                let (id, operation) = (&layer.runtime_id, operation.as_str());
                if layer.monitor.as_ref().is_some_and(|monitor| monitor.failing_fast()) {
                    tracing::debug!(runtime_id = %id, operation, error = %error, "source call failed while known down");
                } else {
                    tracing::warn!(runtime_id = %id, operation, error = %error, "source call failed");
                }
            }
            result
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use tower::{Service, ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn faults_are_recorded_but_client_errors_are_not_failures() {
        let health = SourceHealth::new();
        let metrics = Arc::new(Metrics::new());
        let layer = DiagnosticsLayer::new(RuntimeId::parse("dev").unwrap(), health.clone(), metrics.clone());
        let inner = service_fn(|request: SourceRequest| async move {
            Err::<SourceResponse, _>(match request {
                SourceRequest::Summary => ApiError::new(ErrorCode::RuntimeUnavailable, "runtime dev is not running"),
                _ => ApiError::new(ErrorCode::WorkerNotFound, "worker w-1 not found"),
            })
        });
        let mut service = tower::Layer::layer(&layer, inner);
        let id = runtime_api::WorkerId::parse("w-1").unwrap();
        let _ = service.ready().await.unwrap().call(SourceRequest::Get(id)).await;
        let record = health.snapshot();
        assert_eq!((record.calls, record.failures), (1, 0));
        assert!(record.last_success_at.is_some(), "the source answered, if only with not-found");

        let _ = service.ready().await.unwrap().call(SourceRequest::Summary).await;
        let record = health.snapshot();
        assert_eq!((record.calls, record.failures), (2, 1));
        assert_eq!(record.last_error.map(|e| e.code), Some(ErrorCode::RuntimeUnavailable));
        let text = metrics.encode();
        assert!(text.contains(r#"operation="get",outcome="worker_not_found"} 1"#), "{text}");
        assert!(text.contains(r#"operation="summary",outcome="runtime_unavailable"} 1"#));
    }
}
