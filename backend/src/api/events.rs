//! The event stream over WebSocket: a runtime's frames, as JSON text messages (see `api_http::events`).

use api_http::{ApiPath, ApiQuery, ApiResult};
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::Response;
use runtime_api::{RuntimeId, SubscribeRequest};

use super::AppState;

/// Subscribes to a runtime's events (runtime-wide, or one worker's with `worker_id`).
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/events", tag = "events",
    params(("runtime_id" = String, Path), ("after" = Option<u64>, Query), ("worker_id" = Option<String>, Query)),
    responses((status = 101, description = "WebSocket of StreamFrame JSON messages: a snapshot first, then events, \
        heartbeats and control frames", body = runtime_api::StreamFrame),
        (status = 410, description = "cursor_expired", body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
    ApiQuery(request): ApiQuery<SubscribeRequest>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = api_http::events::upgrade(upgrade)?;
    let entry = state.registry.get(&RuntimeId::parse(runtime_id)?)?;
    let frames = entry.subscribe(request).await?;
    Ok(api_http::events::serve(upgrade, frames))
}
