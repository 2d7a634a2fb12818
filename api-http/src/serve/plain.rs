//! One connection: plain requests served by a loop of our own, everything else by hyper.
//!
//! Most requests a server sees are plain: an HTTP/1.1 head, a small body of known length, an answer of
//! known length. hyper's general connection machinery costs a plain request more than the
//! backend's own work on a proxied call (docs/benchmarks.md), so the loop reads such a request with
//! `httparse`, hands the application the same `Request` hyper would, and writes the answer in one write.
//! The first request that is not plain ([`head`] says exactly which are) hands the connection, with every
//! byte read so far, to hyper for the rest of its life: upgrades, chunked or large bodies, `Expect`,
//! HTTP/1.0 and anything malformed get hyper's behaviour unchanged. A plain body that has not all arrived
//! with its head is streamed to the application as it comes, as hyper would.
//!
//! The head deadline and the graceful stop are the same as hyper's. One timer serves a connection's
//! whole life: it is moved only when it fires early (a new head started since it was set), not per request.

mod answer;
mod head;

use std::convert::Infallible;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use bytes::BytesMut;
use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Handler;
use super::counted::Counted;
use super::rewound::Rewound;
use answer::Framing;
use head::Head;

/// How a connection is served.
pub(super) struct Settings {
    /// hyper's configuration, for connections handed to it.
    pub(super) http: http1::Builder,
    /// Longest wait for a complete request head.
    pub(super) header_read_timeout: Duration,
}

/// Serves `io` until the peer closes, the head deadline passes, an error ends it, or `stop` (once idle).
pub(super) async fn serve<S>(
    mut io: Counted,
    peer: SocketAddr,
    mut app: S,
    settings: Arc<Settings>,
    stop: CancellationToken,
) where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let limit = settings.header_read_timeout;
    let mut buf = BytesMut::with_capacity(READ_CAPACITY);
    let mut out = Vec::with_capacity(1024);
    let mut stopped = pin!(stop.cancelled());
    let mut head_deadline = Instant::now() + limit;
    let mut timer = pin!(tokio::time::sleep_until(head_deadline));
    loop {
        let (plain, whole) = loop {
            match head::read(&buf) {
                Head::Plain(plain) => break (plain, true),
                Head::Unfinished(plain) => break (plain, false),
                Head::Partial => {}
                Head::Other => return hand_off(io, buf.freeze(), peer, app, &settings, &stop).await,
            }
            reserve(&mut buf);
            tokio::select! {
                biased;
                read = io.read_buf(&mut buf) => match read {
                    Ok(read) if read > 0 => {}
                    // Closed, or reset: nothing to answer.
                    _ => return,
                },
                () = &mut stopped => return,
                () = &mut timer => {
                    if Instant::now() < head_deadline {
                        timer.as_mut().reset(head_deadline);
                        continue;
                    }
                    if !buf.is_empty() {
                        // As hyper does for a head that did not arrive in time.
                        let _ = io.write_all(TIMED_OUT).await;
                    }
                    return;
                }
            }
        };
        let bytes = if whole { buf.split_to(plain.len()) } else { buf.split() }.freeze();
        let Some(mut request) = plain.request(bytes.clone()) else {
            // A name or value the `http` types refuse: hyper answers it as it would have.
            let mut rest = BytesMut::from(bytes);
            rest.extend_from_slice(&buf);
            return hand_off(io, rest.freeze(), peer, app, &settings, &stop).await;
        };
        request.extensions_mut().insert(ConnectInfo(peer));
        let Ok(()) = poll_fn(|cx| app.poll_ready(cx)).await;
        let (response, body_read) = if whole {
            let Ok(response) = app.call(request).await;
            (response, true)
        } else {
            let remaining = plain.len() - bytes.len();
            call_streaming(&mut app, request, &mut io, &mut buf, remaining).await
        };
        // A body the application did not wait for leaves the connection mid-request.
        let close = plain.close || !body_read || stop.is_cancelled();
        match answer(&mut io, &mut out, response, close).await {
            Ok(false) => {}
            // Closing, or the write failed: either way the connection is done.
            Ok(true) | Err(_) => {
                let _ = io.shutdown().await;
                return;
            }
        }
        head_deadline = Instant::now() + limit;
    }
}

/// Calls `app` with `request`, whose body's first part it holds, while reading the `remaining` bytes of the
/// body from `io` into it; also says whether the whole body was read.
async fn call_streaming<S>(
    app: &mut S,
    request: Request,
    io: &mut Counted,
    buf: &mut BytesMut,
    remaining: usize,
) -> (Response, bool)
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let (sender, rest) = mpsc::channel(1);
    let request = request.map(|first| Body::from_stream(first.into_data_stream().chain(rest)));
    let mut call = pin!(app.call(request));
    let mut feeding = pin!(feed(io, buf, remaining, sender));
    let mut fed = None;
    loop {
        tokio::select! {
            biased;
            response = call.as_mut() => {
                let Ok(response) = response;
                // The body's last part may have been taken before the feeding saw it taken.
                let fed = fed.or_else(|| feeding.as_mut().now_or_never());
                return (response, fed == Some(true));
            }
            whole = feeding.as_mut(), if fed.is_none() => fed = Some(whole),
        }
    }
}

/// Reads the `remaining` bytes of a body from `io` (by way of `buf`, which keeps what follows it) and sends
/// them on; `true` once all are sent. A connection that ends first ends the body with an error, as hyper's does.
async fn feed(
    io: &mut Counted,
    buf: &mut BytesMut,
    mut remaining: usize,
    mut body: mpsc::Sender<Result<Bytes, axum::Error>>,
) -> bool {
    while remaining > 0 {
        reserve(buf);
        if !matches!(io.read_buf(buf).await, Ok(read) if read > 0) {
            let cut = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
            let _ = body.send(Err(axum::Error::new(cut))).await;
            return false;
        }
        let part = buf.split_to(remaining.min(buf.len())).freeze();
        remaining -= part.len();
        if body.send(Ok(part)).await.is_err() {
            // The application dropped the body unread.
            return false;
        }
    }
    true
}

/// Room a read gets at least, and what the buffer starts with.
const READ_CAPACITY: usize = 4096;

/// hyper's answer to a head that did not arrive within the deadline.
const TIMED_OUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// Makes room in `buf` for a read of useful size.
fn reserve(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < READ_CAPACITY / 4 {
        buf.reserve(READ_CAPACITY);
    }
}

/// Writes `response`, whole when its size is known; `Ok(true)` when the connection is to close after it.
async fn answer(io: &mut Counted, out: &mut Vec<u8>, response: Response, close: bool) -> std::io::Result<bool> {
    let (parts, mut body) = response.into_parts();
    let framing = Framing::of(parts.status, body.size_hint().exact());
    out.clear();
    let close = answer::head(out, &parts, framing, close);
    match framing {
        Framing::None => {}
        Framing::Length(length) => {
            let start = out.len();
            while let Some(data) = next_data(&mut body).await? {
                out.extend_from_slice(&data);
            }
            if (out.len() - start) as u64 != length {
                // The body was not the size it said it would be; the answer cannot be delimited.
                return Err(std::io::Error::other("the answer's body did not match its size"));
            }
        }
        Framing::Chunked => {
            // Each part goes out as it comes, as a streamed body is meant to.
            while let Some(data) = next_data(&mut body).await? {
                if data.is_empty() {
                    continue;
                }
                out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\r\n");
                io.write_all(out).await?;
                out.clear();
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
    io.write_all(out).await?;
    Ok(close)
}

/// The next data of `body`, skipping trailers; an error in the body ends the connection.
async fn next_data(body: &mut Body) -> std::io::Result<Option<Bytes>> {
    loop {
        match poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await {
            None => return Ok(None),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
            Some(Err(error)) => return Err(std::io::Error::other(error)),
        }
    }
}

/// Serves the rest of the connection with hyper, which reads `read` (the bytes taken from the socket so far)
/// first; on `stop` it finishes the request it is serving and closes.
async fn hand_off<S>(io: Counted, read: Bytes, peer: SocketAddr, app: S, settings: &Settings, stop: &CancellationToken)
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let io = TokioIo::new(Rewound::new(read, io));
    let connection = settings.http.serve_connection(io, Handler { app, peer }).with_upgrades();
    let mut connection = pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = outcome {
        // Timeouts, resets and malformed requests: the peer's doing, and nothing to act on.
        tracing::debug!(%error, "connection ended with an error");
    }
}
