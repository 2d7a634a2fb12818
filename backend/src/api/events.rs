//! The event stream over WebSocket: a runtime's frames, as JSON text messages (see `api_http::events`).

use api_http::{ApiPath, ApiQuery, ApiResult};
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use runtime_api::params::SeqParam;
use runtime_api::{RuntimeId, SubscribeRequest, WorkerId};

use super::AppState;

/// Subscribes to a runtime's events (runtime-wide, or one worker's with `worker_id`).
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/events", tag = "events",
    params(("runtime_id" = RuntimeId, Path), ("after" = Option<SeqParam>, Query), ("worker_id" = Option<WorkerId>, Query)),
    responses((status = 101, description = "WebSocket of StreamFrame JSON messages: a snapshot first, then events, \
        heartbeats and control frames", body = runtime_api::StreamFrame),
        (status = 410, description = "cursor_expired", body = runtime_api::ErrorEnvelope),
        (status = 429, description = "too_many_streams: this client or the backend holds the most streams allowed",
            body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
    ApiQuery(request): ApiQuery<SubscribeRequest>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = api_http::events::upgrade(upgrade)?;
    let entry = state.registry.get(&RuntimeId::parse(runtime_id)?)?;
    // A place is taken before the runtime is asked, so refused clients cost no upstream subscription.
    let permit = state.streams.admit(peer.map(|Extension(ConnectInfo(addr))| addr.ip()))?;
    let frames = entry.subscribe(request).await?;
    Ok(api_http::events::serve(upgrade, frames, permit))
}
