//! The connections to one remote runtime: opened on demand (TCP, then TLS for `https`), held by one call at a
//! time, and kept for the next call while they stay healthy.
//!
//! An idle connection the remote closed is noticed before it is used, so a request is never written into a
//! connection already known dead; one that died without a sound shows only as a failed attempt, after
//! which [`Connections::forget_all`] drops every idle connection and every one still out with a call.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::MaybeTlsStream;
use url::{Host, Url};

use super::classify::{self, Failure};

/// How long an unused connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Most unused connections kept; more are closed when their call ends.
const MAX_IDLE: usize = 64;
/// When TCP starts probing an unused connection, so one to a host that vanished is noticed.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// A connection to the remote, plain or TLS.
pub(super) type Stream = MaybeTlsStream<TcpStream>;

/// A connection taken for one call.
pub(super) struct Connection {
    pub(super) stream: Stream,
    /// The pool's generation when it was opened: one opened before a failure is not taken back.
    generation: u64,
}

/// Where the remote listens, and how to open connections there.
pub(super) struct Connections {
    host: Host<String>,
    port: u16,
    /// Set for `https`.
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    generation: u64,
    /// Newest last, with when each was given back. Boxed: a TLS connection's state is large, and a
    /// connection moves in and out of here on every call.
    connections: Vec<(Box<Connection>, Instant)>,
}

impl Connections {
    /// Connections to `base` (a URL that [`super::endpoint::parse_endpoint`] accepted).
    pub(super) fn new(base: &Url, tls: &Arc<rustls::ClientConfig>, connect_timeout: Duration) -> Self {
        let host = base.host().map(|host| host.to_owned()).unwrap_or(Host::Domain(String::new()));
        let port = base.port_or_known_default().unwrap_or(80);
        let tls = (base.scheme() == "https").then(|| {
            let mut config = (**tls).clone();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            let name = match &host {
                Host::Domain(name) => ServerName::try_from(name.clone()).ok(),
                Host::Ipv4(ip) => Some(ServerName::IpAddress((*ip).into())),
                Host::Ipv6(ip) => Some(ServerName::IpAddress((*ip).into())),
            };
            // A name TLS cannot check fails the handshake, as an untrusted certificate would.
            let name = name.unwrap_or(ServerName::try_from("invalid").expect("a DNS name"));
            (tokio_rustls::TlsConnector::from(Arc::new(config)), name)
        });
        Connections { host, port, tls, connect_timeout, idle: Mutex::new(Idle::default()) }
    }

    /// An idle connection that is still open, or a new one.
    pub(super) async fn take(&self) -> Result<Box<Connection>, Failure> {
        loop {
            let Some((mut connection, since)) = self.idle.lock().connections.pop() else { break };
            if since.elapsed() < IDLE_TIMEOUT && still_open(&mut connection.stream) {
                return Ok(connection);
            }
        }
        let generation = self.idle.lock().generation;
        let stream = self.open().await?;
        Ok(Box::new(Connection { stream, generation }))
    }

    /// Keeps `connection` for the next call, unless it predates a failure or enough are kept already.
    pub(super) fn give_back(&self, connection: Box<Connection>) {
        let mut idle = self.idle.lock();
        if connection.generation == idle.generation && idle.connections.len() < MAX_IDLE {
            idle.connections.push((connection, Instant::now()));
        }
    }

    /// Drops every idle connection, and every one out with a call when it comes back: after one died
    /// silently, the others to the same place are suspect.
    pub(super) fn forget_all(&self) {
        let idle = {
            let mut idle = self.idle.lock();
            idle.generation += 1;
            std::mem::take(&mut idle.connections)
        };
        // Closed after the lock is released: closing a TLS connection writes to its socket.
        drop(idle);
    }

    async fn open(&self) -> Result<Stream, Failure> {
        let tcp =
            tokio::time::timeout(self.connect_timeout, self.connect_tcp()).await.map_err(|_| Failure::Timeout)??;
        let Some((connector, name)) = &self.tls else { return Ok(MaybeTlsStream::Plain(tcp)) };
        let tls = connector.connect(name.clone(), tcp).await.map_err(|e| classify::io(&e))?;
        Ok(MaybeTlsStream::Rustls(tls))
    }

    /// A TCP connection to the first of the host's addresses that accepts one.
    async fn connect_tcp(&self) -> Result<TcpStream, Failure> {
        const UNRESOLVED: Failure = Failure::Unavailable("its address cannot be resolved or connected to");
        let addresses: Vec<SocketAddr> = match &self.host {
            Host::Domain(name) => {
                tokio::net::lookup_host((name.as_str(), self.port)).await.map_err(|_| UNRESOLVED)?.collect()
            }
            Host::Ipv4(ip) => vec![SocketAddr::from((*ip, self.port))],
            Host::Ipv6(ip) => vec![SocketAddr::from((*ip, self.port))],
        };
        let mut failure = UNRESOLVED;
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(tcp) => {
                    // Small requests and answers: send each at once rather than waiting to fill a segment.
                    let _ = tcp.set_nodelay(true);
                    let keepalive = socket2::TcpKeepalive::new().with_time(KEEPALIVE);
                    let _ = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive);
                    return Ok(tcp);
                }
                Err(error) => failure = classify::io(&error),
            }
        }
        Err(failure)
    }
}

/// Whether an idle connection is still open: it has nothing to read (a remote that closed it would have
/// sent an end of stream, and an idle one has no business sending anything else).
fn still_open(stream: &mut Stream) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    let mut byte = [0u8; 1];
    let mut buf = ReadBuf::new(&mut byte);
    matches!(Pin::new(stream).poll_read(&mut cx, &mut buf), Poll::Pending)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::remote_http::wire;

    /// A server answering every request with an empty `200`, closing each connection after its first
    /// answer when `close_after_answer`; counts the connections it accepted.
    async fn server(close_after_answer: bool) -> (Url, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap()).parse().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut request = [0u8; 1024];
                    while socket.read(&mut request).await.is_ok_and(|n| n > 0) {
                        let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
                        if close_after_answer {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    /// Connections to a [`server`], and its count of accepted connections.
    async fn pool(close_after_answer: bool) -> (Connections, Arc<AtomicUsize>) {
        let (url, accepted) = server(close_after_answer).await;
        let tls = super::super::tls::client_config(None).unwrap();
        (Connections::new(&url, &tls, Duration::from_secs(1)), accepted)
    }

    async fn call(connections: &Connections) -> Result<(), Failure> {
        let mut connection = connections.take().await?;
        let request = b"GET /v1/runtime HTTP/1.1\r\nhost: h\r\n\r\n";
        let answer = wire::exchange(&mut connection.stream, request, 1024).await?;
        connections.give_back(connection);
        assert_eq!(answer.status, 200);
        Ok(())
    }

    #[tokio::test]
    async fn a_connection_is_kept_for_the_next_call() {
        let (connections, accepted) = pool(false).await;
        for _ in 0..3 {
            call(&connections).await.unwrap();
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_idle_connection_the_remote_closed_is_not_used() {
        let (connections, accepted) = pool(true).await;
        for _ in 0..3 {
            call(&connections).await.unwrap();
            // Time for the close to arrive.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3, "every call on a fresh connection, none failed");
    }

    #[tokio::test]
    async fn connections_out_during_a_failure_are_not_taken_back() {
        let (connections, accepted) = pool(false).await;
        let out = connections.take().await.unwrap();
        call(&connections).await.unwrap();
        connections.forget_all();
        connections.give_back(out);
        call(&connections).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 3, "neither the idle one nor the one out is used again");
    }
}
