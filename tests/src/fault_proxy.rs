//! A fault-injecting TCP proxy that integration tests put between the backend and a worker runtime, so they can
//! refuse, stall, slow, reset, garble or cut the link while both processes run.
//!
//! The fault in force when a connection is accepted decides how that connection behaves for its whole life; only
//! [`Fault::Delay`] is also read again for every chunk of connections that forward, so a test can slow a stream
//! that is already open. [`Fault::Refuse`] closes the listener and leaves open connections alone: to simulate a
//! dead upstream, follow it with [`FaultProxy::cut`], otherwise pooled keep-alive connections keep working.

mod connection;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The bytes a connection accepted under [`Fault::Garbage`] answers with, before it closes.
pub const GARBAGE: &[u8] = b"\x00\x01garbage not http\r\n\r\n";

/// What a connection accepted under [`Fault::BadGateway`] answers every request with: an nginx-style page.
pub const BAD_GATEWAY: &[u8] = b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 50\r\n\
connection: close\r\n\r\n<html><body><h1>502 Bad Gateway</h1></body></html>";

/// A TCP proxy on 127.0.0.1 in front of `upstream`, whose behaviour tests can change while it runs.
///
/// Dropping it stops listening and closes every connection it holds.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The accept loop while listening, `None` while [`Fault::Refuse`] is in force; the lock also keeps concurrent
    /// [`FaultProxy::set`] calls from racing over the listener.
    accept: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    /// Sending tells every connection to close; dropping it (with the proxy) does the same.
    cut: watch::Sender<()>,
}

/// What tells an open connection to stop forwarding: [`FaultProxy::stall`] bumps it.
pub(crate) type Stalls = watch::Receiver<u64>;

/// How the proxy treats connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways untouched.
    Pass,
    /// Refuse new connections: the port is closed, so connects fail with `ConnectionRefused`. Connections opened
    /// before keep working.
    Refuse,
    /// Accept connections and read what the client sends, but never answer and never close.
    Blackhole,
    /// Forward, but hold every chunk going back to the client for this long first.
    Delay(Duration),
    /// Forward the request, forward the first `N` bytes of the answer, then reset the client's connection (RST).
    ResetMidResponse(usize),
    /// Answer the first bytes the client sends with [`GARBAGE`], which is not HTTP, then close.
    Garbage,
    /// Answer the first request with [`BAD_GATEWAY`], as a reverse proxy does while its upstream restarts.
    BadGateway,
}

/// What the accept loop and the connections read while the proxy runs.
struct Shared {
    fault: Mutex<Fault>,
    /// A fault for the next connection only, taking precedence over `fault`.
    once: Mutex<Option<Fault>>,
    upstream: Mutex<SocketAddr>,
    connections: AtomicU64,
    /// How many stalls there have been; a connection stalls once this passes what it was at accept.
    stalls: watch::Sender<u64>,
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 that passes traffic to `upstream`.
    ///
    /// # Panics
    ///
    /// If no port can be bound.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0))).expect("fault proxy could not listen");
        let addr = listener.local_addr().expect("fault proxy listener has no address");
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::Pass),
            once: Mutex::new(None),
            upstream: Mutex::new(upstream),
            connections: AtomicU64::new(0),
            stalls: watch::channel(0).0,
        });
        let (cut, stop) = watch::channel(());
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stop));
        FaultProxy { addr, shared, accept: tokio::sync::Mutex::new(Some(accept)), cut }
    }

    /// The address clients connect to; it stays the same across [`Fault::Refuse`].
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Puts `fault` in force for new connections (and, for [`Fault::Delay`], for chunks of forwarding ones).
    ///
    /// Returns once the listener matches: after `set(Fault::Refuse)` connects are refused, and after any other fault
    /// they are accepted again on the same port.
    ///
    /// # Panics
    ///
    /// If the port cannot be bound again after [`Fault::Refuse`], which only happens if another socket took it.
    pub async fn set(&self, fault: Fault) {
        let mut accept = self.accept.lock().await;
        if fault == Fault::Refuse {
            if let Some(task) = accept.take() {
                task.abort();
                // The listener is dropped with the task's future, before the handle resolves, so the port is
                // closed by the time this returns.
                let _ = task.await;
            }
            *self.shared.fault.lock() = fault;
        } else {
            // The fault changes before the port opens, so no connection is accepted under the old Refuse.
            *self.shared.fault.lock() = fault;
            if accept.is_none() {
                let listener = listen(self.addr)
                    .unwrap_or_else(|err| panic!("fault proxy could not listen again on {}: {err}", self.addr));
                *accept = Some(tokio::spawn(accept_loop(listener, Arc::clone(&self.shared), self.cut.subscribe())));
            }
        }
    }

    /// Closes every connection the proxy has accepted, on both sides; the proxy keeps accepting new ones.
    pub fn cut(&self) {
        self.cut.send_replace(());
    }

    /// Puts `fault` in force for the next connection accepted only; later ones get the fault set with
    /// [`FaultProxy::set`] again. `set_once(Fault::ResetMidResponse(0))` loses one answer after its request
    /// was forwarded: the case a client cannot tell from a request that never arrived.
    pub fn set_once(&self, fault: Fault) {
        *self.shared.once.lock() = Some(fault);
    }

    /// Stops every open connection forwarding, both ways, and keeps it open: bytes sent on it go nowhere and
    /// nothing comes back, as after a crashed host or a dropped NAT entry. New connections are not affected.
    pub fn stall(&self) {
        self.shared.stalls.send_modify(|stalls| *stalls += 1);
    }

    /// Sends new connections to `upstream`, e.g. a restarted server on a new port.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock() = upstream;
    }

    /// How many connections the proxy has accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = self.accept.get_mut().take() {
            task.abort();
        }
        // Dropping `cut` right after this wakes every connection, which then closes.
    }
}

impl Shared {
    /// The fault in force now.
    fn fault(&self) -> Fault {
        *self.fault.lock()
    }

    /// The fault for a connection accepted now: a one-off one if set, else the one in force.
    fn fault_for_new(&self) -> Fault {
        self.once.lock().take().unwrap_or_else(|| self.fault())
    }

    /// Where new connections go now.
    fn upstream(&self) -> SocketAddr {
        *self.upstream.lock()
    }
}

/// Binds a listener with `SO_REUSEADDR`, which lets the port be bound again after [`Fault::Refuse`] while accepted
/// connections on it are still open or in `TIME_WAIT`.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts connections until aborted, handing each to a task that behaves as the fault in force says.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: watch::Receiver<()>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            // Accept errors such as running out of descriptors are transient; the pause keeps the loop from spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let mut stop = stop.clone();
        // Cuts made before this connection was accepted are not meant for it.
        stop.mark_unchanged();
        // Stalls made before this connection was accepted are not meant for it either.
        let mut stalls = shared.stalls.subscribe();
        stalls.mark_unchanged();
        tokio::spawn(connection::serve(client, shared.fault_for_new(), Arc::clone(&shared), stop, stalls));
    }
}
