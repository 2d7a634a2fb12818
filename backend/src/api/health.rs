//! Liveness, readiness and metrics.

use api_http::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use runtime_api::SourceKind;

use super::AppState;
use super::views::{HealthStatus, RuntimeHealth};
use crate::health::HealthState;
use api_http::ApiResult;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = HealthStatus)))]
pub(crate) async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok", runtimes: Vec::new() })
}

/// The backend can serve: its embedded runtime, if it has one, answers. Each runtime's health as its monitor
/// last found it is listed too; a remote that is down makes the backend no less ready, since the others
/// still serve.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = HealthStatus), (status = 503, body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult<Json<HealthStatus>> {
    let entries = state.registry.list();
    for entry in &entries {
        if entry.descriptor().kind == SourceKind::Embedded {
            entry.summary().await?;
        }
    }
    let runtimes = entries
        .iter()
        .map(|entry| RuntimeHealth {
            runtime_id: entry.runtime_id().clone(),
            status: entry.monitor().map_or(HealthState::Unavailable, |monitor| monitor.view().status),
        })
        .collect();
    Ok(Json(HealthStatus { status: "ready", runtimes }))
}

/// Prometheus metrics in the text format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.encode())
}
