//! The event stream over WebSocket: a runtime's frames, as JSON text messages.
//!
//! The subscription is opened before the upgrade, so a bad cursor or an unknown worker is answered as an
//! ordinary HTTP error (`cursor_expired` is a 410) rather than a socket that closes at once.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::response::Response;
use futures::StreamExt;
use runtime_api::{ApiError, FrameStream, RuntimeId, StreamFrame, SubscribeRequest};

use super::AppState;
use super::error::{ApiQuery, ApiResult, HttpError};

/// Largest message a client may send; clients have nothing to say on this socket.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// Subscribes to a runtime's events (runtime-wide, or one worker's with `worker_id`).
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/events", tag = "events",
    params(("runtime_id" = String, Path), ("after" = Option<u64>, Query), ("worker_id" = Option<String>, Query)),
    responses((status = 101, description = "WebSocket of StreamFrame JSON messages: a snapshot first, then events, \
        heartbeats and control frames", body = runtime_api::StreamFrame),
        (status = 410, description = "cursor_expired", body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    Path(runtime_id): Path<String>,
    ApiQuery(request): ApiQuery<SubscribeRequest>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = upgrade.map_err(|e| HttpError(ApiError::invalid(e.body_text())))?;
    let entry = state.registry.get(&RuntimeId::parse(runtime_id)?)?;
    let frames = entry.subscribe(request).await?;
    Ok(upgrade.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| forward(socket, frames)))
}

/// Sends frames until the stream or the client ends; a slow client slows only its own stream (the runtime
/// tells it that it lagged).
async fn forward(mut socket: WebSocket, mut frames: FrameStream) {
    loop {
        tokio::select! {
            frame = frames.next() => {
                let Some(frame) = frame else { break };
                let last = matches!(frame, StreamFrame::Closed { .. });
                let text = match serde_json::to_string(&frame) {
                    Ok(text) => text,
                    Err(error) => {
                        tracing::error!(%error, "cannot encode a stream frame");
                        break;
                    }
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
                if last {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let close = CloseFrame { code: close_code::NORMAL, reason: "stream ended".into() };
    let _ = socket.send(Message::Close(Some(close))).await;
}
