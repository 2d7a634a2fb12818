//! A remote runtime's event stream that survives dropped connections, silent ones and remote restarts.
//!
//! The first connection is made while subscribing, so a refused cursor or an unknown worker fails the call.
//! After that, a lost connection is re-made — at once, then with jittered backoff — resuming after the last
//! seq delivered, and the new snapshot is swallowed: the subscriber sees one stream with no gap and no
//! repeat. A connection that goes quiet for longer than the runtime's heartbeat promises (one and a half
//! intervals) counts as lost: a crashed host or a dropped NAT entry sends nothing, not even a close.
//!
//! Failures while resuming that may pass — refused or reset connections, timeouts, 5xx and garbage from a
//! proxy whose upstream restarts — are retried for up to the reconnect window, then the stream ends with
//! `closed {reason: source_failed}`. When the remote cannot resume — its retention moved past the cursor, or
//! it restarted with a new event log — the stream ends with `closed {reason: cursor_expired}`; it never skips
//! events silently.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{ApiError, CloseReason, ErrorCode, FrameStream, StreamFrame, SubscribeRequest};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::classify::{self, Failure};
use super::client::{Client, jittered};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest frame accepted from a remote (a snapshot of a worker with all its metadata fits easily).
const MAX_REMOTE_MESSAGE: usize = 1024 * 1024;
/// First pause between reconnection attempts after the first (which is made at once); doubled up to the
/// configured maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The heartbeat interval assumed of a runtime that does not announce one (the runtime's default).
const ASSUMED_HEARTBEAT: Duration = Duration::from_secs(15);

/// Opens a stream, failing now if the first connection does.
pub(super) async fn subscribe(client: Arc<Client>, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
    let mut socket = connect(&client, &request, request.after).await.map_err(|e| e.into_error(&client))?;
    let snapshot = match next_frame(&mut socket, &client).await {
        Some(Ok(frame @ StreamFrame::Snapshot(_))) => frame,
        _ => {
            return Err(classify::protocol_error(client.runtime_id(), "its event stream did not open with a snapshot"));
        }
    };
    let StreamFrame::Snapshot(first) = &snapshot else { unreachable!() };
    let heartbeat = client.traits().and_then(|traits| traits.heartbeat).unwrap_or(ASSUMED_HEARTBEAT);
    let state = Resumable {
        cursor: request.after.unwrap_or(first.seq),
        log_id: first.log_id.clone(),
        queued: Some(snapshot),
        socket: Some(socket),
        quiet_limit: heartbeat.mul_f64(1.5),
        backoff: Duration::ZERO,
        broken_since: None,
        finished: false,
        client,
        request,
    };
    let frames = futures::stream::unfold(state, |mut state| async move {
        let frame = state.next().await?;
        Some((frame, state))
    });
    Ok(Box::pin(frames.fuse()))
}

struct Resumable {
    client: Arc<Client>,
    request: SubscribeRequest,
    /// Every event up to here was delivered (or is reflected in the snapshot delivered first).
    cursor: u64,
    log_id: String,
    queued: Option<StreamFrame>,
    socket: Option<Socket>,
    /// Silence longer than this means the connection is dead.
    quiet_limit: Duration,
    /// Pause before the next reconnection attempt: none for the first.
    backoff: Duration,
    /// When the connection was lost, while it is.
    broken_since: Option<Instant>,
    finished: bool,
}

impl Resumable {
    async fn next(&mut self) -> Option<StreamFrame> {
        if self.finished {
            return None;
        }
        if let Some(frame) = self.queued.take() {
            return Some(frame);
        }
        loop {
            let Some(socket) = self.socket.as_mut() else {
                if let Some(end) = self.reconnect().await {
                    return Some(self.close(end));
                }
                continue;
            };
            let Ok(frame) = tokio::time::timeout(self.quiet_limit, next_frame(socket, &self.client)).await else {
                tracing::debug!(runtime_id = %self.client.runtime_id(), "remote event stream went quiet; resuming");
                self.lose_connection();
                continue;
            };
            match frame {
                Some(Ok(StreamFrame::Event { event })) => {
                    if event.seq <= self.cursor {
                        continue;
                    }
                    self.cursor = event.seq;
                    return Some(StreamFrame::Event { event });
                }
                // A snapshot after the first is the remote's view on reconnecting; the subscriber has its own.
                Some(Ok(StreamFrame::Snapshot(_))) => {}
                // The remote is going away (a restart, say): resume from the cursor once it is back.
                Some(Ok(StreamFrame::Closed { reason: CloseReason::Shutdown, .. })) | None | Some(Err(())) => {
                    self.lose_connection();
                }
                Some(Ok(frame @ StreamFrame::Closed { .. })) => {
                    self.finished = true;
                    return Some(frame);
                }
                Some(Ok(frame @ (StreamFrame::Heartbeat { .. } | StreamFrame::Lagged { .. }))) => return Some(frame),
            }
        }
    }

    /// Drops the socket; the next frame comes from a new connection.
    fn lose_connection(&mut self) {
        self.socket = None;
        self.broken_since.get_or_insert_with(Instant::now);
    }

    /// Waits, then connects again after the cursor. `Some` ends the stream with that frame.
    async fn reconnect(&mut self) -> Option<StreamFrame> {
        // Jitter spreads streams that broke together; the pause never passes the configured longest.
        tokio::time::sleep(jittered(self.backoff).min(self.client.timeouts.reconnect_max)).await;
        self.backoff = (self.backoff * 2).clamp(FIRST_BACKOFF, self.client.timeouts.reconnect_max);
        let failure = match connect(&self.client, &self.request, Some(self.cursor)).await {
            Ok(mut socket) => match tokio::time::timeout(self.quiet_limit, next_frame(&mut socket, &self.client)).await
            {
                Ok(Some(Ok(StreamFrame::Snapshot(snapshot)))) if snapshot.log_id == self.log_id => {
                    self.socket = Some(socket);
                    self.broken_since = None;
                    self.backoff = Duration::ZERO;
                    return None;
                }
                // Same seqs, different history: the remote started over, and nothing after the cursor is
                // knowable.
                Ok(Some(Ok(StreamFrame::Snapshot(_)))) => return Some(cursor_expired(None)),
                _ => "its event stream did not open with a snapshot".to_owned(),
            },
            Err(Connect::Refused(error)) if error.code == ErrorCode::CursorExpired => {
                return Some(cursor_expired(error.earliest_seq));
            }
            Err(Connect::Refused(error)) if !passes(error.code) => {
                tracing::warn!(runtime_id = %self.client.runtime_id(), code = %error.code, "remote event stream ended");
                return Some(source_failed(format!(
                    "the runtime's event stream can no longer be resumed: {}",
                    error.code
                )));
            }
            Err(Connect::Refused(error)) => error.code.to_string(),
            Err(Connect::Transport(failure)) => {
                failure.error(self.client.runtime_id(), self.client.timeouts.read).code.to_string()
            }
        };
        let window = self.client.timeouts.reconnect_window;
        if self.broken_since.is_some_and(|since| since.elapsed() >= window) {
            tracing::warn!(runtime_id = %self.client.runtime_id(), last = %failure, "remote event stream gave up resuming");
            let message = format!(
                "the runtime's event stream could not be resumed for {}s (last: {failure})",
                window.as_secs_f32()
            );
            return Some(source_failed(message));
        }
        None
    }

    fn close(&mut self, frame: StreamFrame) -> StreamFrame {
        self.finished = true;
        frame
    }
}

/// Whether a refusal met while resuming may pass: the remote (or a proxy before it) is restarting, not
/// saying no.
fn passes(code: ErrorCode) -> bool {
    use ErrorCode::*;
    matches!(code, RuntimeUnavailable | RuntimeTimeout | RuntimeProtocolError | Internal | TooManyStreams)
}

fn source_failed(message: String) -> StreamFrame {
    StreamFrame::Closed { reason: CloseReason::SourceFailed, message, earliest_seq: None }
}

fn cursor_expired(earliest_seq: Option<u64>) -> StreamFrame {
    StreamFrame::Closed {
        reason: CloseReason::CursorExpired,
        message: "the runtime can no longer resume this stream; re-read state and subscribe again".to_owned(),
        earliest_seq,
    }
}

/// Why a connection attempt failed.
enum Connect {
    /// The remote answered, with this error (`cursor_expired`, `worker_not_found`, auth, ...).
    Refused(ApiError),
    /// The connection itself failed.
    Transport(Failure),
}

impl Connect {
    fn into_error(self, client: &Client) -> ApiError {
        match self {
            Connect::Refused(error) => error,
            Connect::Transport(failure) => failure.error(client.runtime_id(), client.timeouts.read),
        }
    }
}

async fn connect(client: &Client, request: &SubscribeRequest, after: Option<u64>) -> Result<Socket, Connect> {
    client.verify().await.map_err(Connect::Refused)?;
    let mut url = client.url("/v1/events");
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme).expect("ws and wss are valid schemes");
    {
        let mut query = url.query_pairs_mut();
        if let Some(after) = after {
            query.append_pair("after", &after.to_string());
        }
        if let Some(worker_id) = &request.worker_id {
            query.append_pair("worker_id", worker_id.as_str());
        }
    }
    let mut handshake = url.as_str().into_client_request().expect("a ws url is a valid request");
    if let Some(authorization) = client.authorization().map_err(Connect::Refused)? {
        handshake.headers_mut().insert(tungstenite::http::header::AUTHORIZATION, authorization);
    }
    let config =
        WebSocketConfig::default().max_message_size(Some(MAX_REMOTE_MESSAGE)).max_frame_size(Some(MAX_REMOTE_MESSAGE));
    let connector = Connector::Rustls(client.tls.clone());
    let connecting = tokio_tungstenite::connect_async_tls_with_config(handshake, Some(config), true, Some(connector));
    match tokio::time::timeout(client.timeouts.read, connecting).await {
        Err(_) => Err(Connect::Transport(Failure::Timeout)),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let body = response.body().clone().unwrap_or_default();
            let status = response.status().as_u16();
            match classify::answer::<serde_json::Value>(client.runtime_id(), status, &body) {
                Err(error) => Err(Connect::Refused(error)),
                Ok(_) => Err(Connect::Refused(classify::protocol_error(
                    client.runtime_id(),
                    "its event stream did not upgrade",
                ))),
            }
        }
        Ok(Err(tungstenite::Error::Io(io))) => Err(Connect::Transport(
            classify::io_failure(io.kind()).unwrap_or(Failure::Unavailable("the connection failed")),
        )),
        Ok(Err(_)) => Err(Connect::Transport(Failure::Protocol)),
    }
}

/// The next frame; `Err` for a message that is not one (a broken remote), `None` when the socket ended.
async fn next_frame(socket: &mut Socket, client: &Client) -> Option<Result<StreamFrame, ()>> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => {
                return Some(serde_json::from_str(&text).map_err(|_| {
                    tracing::warn!(runtime_id = %client.runtime_id(), "remote sent a message that is not a stream frame");
                }));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
