//! The serving loop of both binaries: HTTP/1.1 over TCP, with a deadline on every request head, a cap on
//! open connections, and a stop that lets requests in flight finish.
//!
//! Each connection starts in [`plain`]'s loop, which serves plain requests (a complete HTTP/1.1 head, nothing
//! to interpret in its framing) itself and hands the connection to hyper at the first other one.
//!
//! `axum::serve` gives hyper no timer, so a peer that sends half a request line and then nothing keeps its
//! socket for ever, and enough of them exhaust the process's file descriptors. Here both the plain loop and
//! hyper keep a deadline: a request head — the first on a connection, and each next one a kept-alive
//! connection waits for — must arrive within [`ServeLimits::header_read_timeout`], or the connection is
//! closed. A slow body is the business of [`RequestLimitsLayer`](crate::RequestLimitsLayer), which answers
//! it in the error shape.
//!
//! The cap is a semaphore taken *before* `accept`: a connection over it waits in the kernel's listen
//! backlog, unaccepted and holding no descriptor of ours, until an open one closes (the head deadline
//! guarantees an idle one does within that time). Accepting and closing at once would spend a descriptor and
//! a syscall to tell the client nothing it can act on. The permit travels with the socket, through a
//! WebSocket upgrade too, so an open event stream counts as the connection it is.
//!
//! Only HTTP/1.1 is spoken: both clients of these servers (the backend's remote source and browsers through
//! the backend) use it, and HTTP/2 would need limits of its own.

mod counted;
mod plain;
mod rewound;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use counted::Counted;

/// How a server treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Longest wait for a complete request head, from when the connection opens or goes idle.
    pub header_read_timeout: Duration,
    /// Most connections open at once, WebSockets included; more wait to be accepted.
    pub max_connections: usize,
}

impl ServeLimits {
    /// A slow link sends a head in well under a second; 30 s leaves room for a stalled one to recover.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
    /// Room for 4,096 event streams (the default bound of both servers) and the requests beside them.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 8_192;
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Pause after an accept error that is not about one connection (typically `EMFILE`: out of descriptors),
/// so the loop does not spin while connections close and free some.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(250);

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets each connection finish
/// the request it is serving (idle ones close at once), and returns when all have. Open WebSockets are not
/// waited for: the application ends its streams on shutdown. Requests see the peer's address as
/// [`ConnectInfo<SocketAddr>`].
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let stop = CancellationToken::new();
    let stopping = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.cancel();
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let settings = Arc::new(plain::Settings { http, header_read_timeout: limits.header_read_timeout });
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let Some((stream, peer)) = accept(&listener, &stop).await else { break };
        // Responses and event frames are written whole; waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);
        let io = Counted::new(stream, permit);
        connections.spawn(plain::serve(io, peer, app.clone(), settings.clone(), stop.clone()));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// The next connection, or `None` once `stop` is cancelled. Errors about one connection are skipped;
/// others (out of descriptors, say) are logged and waited out.
async fn accept(listener: &TcpListener, stop: &CancellationToken) -> Option<(TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(connection) => return Some(connection),
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                tracing::error!(%error, "cannot accept a connection; pausing");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// One connection's requests, handed to the application with the peer's address.
#[derive(Clone)]
struct Handler<S> {
    app: S,
    peer: SocketAddr,
}

impl<S> hyper::service::Service<hyper::Request<Incoming>> for Handler<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = S::Future;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        // Applications are `Arc`s inside; the clone is what `axum::serve` does per request too.
        tower::Service::call(&mut self.app.clone(), request)
    }
}

#[cfg(test)]
mod tests;
