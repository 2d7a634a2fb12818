//! Liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use runtime_api::SourceKind;

use super::AppState;
use super::views::HealthStatus;
use api_http::ApiResult;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = HealthStatus)))]
pub(crate) async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// The backend can serve: its embedded runtime, if it has one, answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = HealthStatus), (status = 503, body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult<Json<HealthStatus>> {
    for entry in state.registry.list() {
        if entry.descriptor().kind == SourceKind::Embedded {
            entry.summary().await?;
        }
    }
    Ok(Json(HealthStatus { status: "ready" }))
}

/// Prometheus metrics in the text format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.encode())
}
