//! The serving loop over real sockets: head deadlines, the connection cap, the peer's address, upgrades and
//! the graceful stop.

use axum::Router;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::ws::WebSocketUpgrade;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

/// Long enough for anything that should happen to happen on a loaded machine.
const WAIT: Duration = Duration::from_secs(10);

struct Served {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Served {
    async fn stop(mut self) {
        let _ = self.stop.take().expect("stopped once").send(());
        tokio::time::timeout(WAIT, self.task).await.expect("serve returns after the stop").unwrap();
    }
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/peer", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow"
            }),
        )
        .route(
            "/ws",
            get(|upgrade: WebSocketUpgrade| async {
                // Holds the socket until the client goes away.
                upgrade.on_upgrade(|mut socket| async move { while let Some(Ok(_)) = socket.recv().await {} })
            }),
        )
}

async fn start(limits: ServeLimits) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(serve(listener, app(), limits, async move {
        let _ = rx.await;
    }));
    Served { addr, stop: Some(tx), task }
}

fn limits(header_read_timeout: Duration, max_connections: usize) -> ServeLimits {
    ServeLimits { header_read_timeout, max_connections }
}

/// Reads until the peer closes, failing if that takes longer than `within`; returns what was read.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> String {
    let mut seen = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut seen)).await.expect("the server closes the connection").ok();
    String::from_utf8_lossy(&seen).into_owned()
}

/// Sends one request and reads its response head and a short body.
async fn get_once(stream: &mut TcpStream, path: &str) -> String {
    stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf)).await.expect("an answer in time").unwrap();
    String::from_utf8_lossy(&buf[..read]).into_owned()
}

#[tokio::test]
async fn a_partial_request_head_is_dropped_after_the_header_timeout() {
    let served = start(limits(Duration::from_secs(1), 16)).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: loc").await.unwrap();
    let started = Instant::now();
    let answer = read_to_close(&mut stream, WAIT).await;
    assert!(started.elapsed() >= Duration::from_millis(900), "closed too early: {:?}", started.elapsed());
    // hyper answers a head that timed out with 408 and closes.
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Nothing sent at all is the same.
    let mut silent = TcpStream::connect(served.addr).await.unwrap();
    read_to_close(&mut silent, WAIT).await;
    served.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let served = start(limits(Duration::from_secs(1), 16)).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let answer = get_once(&mut stream, "/").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let started = Instant::now();
    read_to_close(&mut stream, WAIT).await;
    assert!(started.elapsed() >= Duration::from_millis(900), "closed too early: {:?}", started.elapsed());
    served.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let served = start(limits(Duration::from_secs(30), 2)).await;
    let mut first = TcpStream::connect(served.addr).await.unwrap();
    let mut second = TcpStream::connect(served.addr).await.unwrap();
    assert!(get_once(&mut first, "/").await.starts_with("HTTP/1.1 200"));
    assert!(get_once(&mut second, "/").await.starts_with("HTTP/1.1 200"));

    // The kernel completes the handshake, but the server does not accept the third connection yet.
    let mut third = TcpStream::connect(served.addr).await.unwrap();
    third.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "the third connection was served while two were open");

    drop(first);
    let read = tokio::time::timeout(WAIT, third.read(&mut buf)).await.expect("served once one closed").unwrap();
    assert!(buf[..read].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&buf[..read]));
    served.stop().await;
}

#[tokio::test]
async fn an_upgraded_websocket_holds_its_connection_place() {
    let served = start(limits(Duration::from_secs(30), 1)).await;
    let mut socket = TcpStream::connect(served.addr).await.unwrap();
    let upgrade = "GET /ws HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: websocket\r\n\
                   sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    socket.write_all(upgrade.as_bytes()).await.unwrap();
    let mut buf = vec![0; 1024];
    let read = tokio::time::timeout(WAIT, socket.read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..read].starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&buf[..read]));

    let mut other = TcpStream::connect(served.addr).await.unwrap();
    other.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(500), other.read(&mut buf)).await;
    assert!(early.is_err(), "an open WebSocket did not count against the cap");
    drop(socket);
    let read = tokio::time::timeout(WAIT, other.read(&mut buf)).await.expect("served once it closed").unwrap();
    assert!(buf[..read].starts_with(b"HTTP/1.1 200"));
    served.stop().await;
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let served = start(ServeLimits::default()).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    let answer = get_once(&mut stream, "/peer").await;
    assert!(answer.ends_with(&local.to_string()), "{answer}");
    served.stop().await;
}

#[tokio::test]
async fn a_stop_lets_the_request_in_flight_finish_and_closes_idle_connections() {
    let served = start(ServeLimits::default()).await;
    let addr = served.addr;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(get_once(&mut idle, "/").await.starts_with("HTTP/1.1 200"));
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    served.stop().await;
    let answer = read_to_close(&mut busy, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow"), "{answer}");
    read_to_close(&mut idle, WAIT).await;
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting after the stop");
}
