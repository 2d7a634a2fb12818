//! Serving an event subscription over a WebSocket: one JSON text message per frame.
//!
//! Servers open the subscription before upgrading, so a bad request is an ordinary HTTP error (a stale
//! cursor is a `410`) rather than a socket that closes at once; [`serve`] then does the upgrade.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use futures::StreamExt;
use runtime_api::{ApiError, FrameStream, StreamFrame};

use crate::{HttpError, StreamPermit};

/// Largest message (and frame) a client may send; clients have nothing to say on an event socket.
pub const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// Longest a client may leave a frame unread before the connection is dropped; its subscription then ends
/// and frees what it held.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The upgrade a handler extracted, or the typed error for a request that is not a WebSocket upgrade.
pub fn upgrade(extracted: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Result<WebSocketUpgrade, HttpError> {
    extracted.map_err(|e| HttpError(ApiError::invalid(e.body_text())))
}

/// Completes the upgrade and forwards `frames` on the socket, holding `permit` for the stream's life.
pub fn serve(upgrade: WebSocketUpgrade, frames: FrameStream, permit: StreamPermit) -> Response {
    upgrade.max_message_size(MAX_CLIENT_MESSAGE).max_frame_size(MAX_CLIENT_MESSAGE).on_upgrade(
        move |socket| async move {
            forward(socket, frames).await;
            drop(permit);
        },
    )
}

/// Sends frames until the stream or the client ends. A slow client slows only its own stream: the runtime
/// tells it that it lagged.
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
                match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) | Err(_) => return,
                }
                if last {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let close = CloseFrame { code: close_code::NORMAL, reason: "stream ended".into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(close)))).await;
}
