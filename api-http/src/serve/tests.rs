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
        .route("/echo", axum::routing::post(|body: String| async move { body }))
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

/// Asks for a WebSocket on `/ws` and checks that the server switches protocols (as the cap test does inline).
async fn upgrade_to_websocket(socket: &mut TcpStream) {
    let upgrade = "GET /ws HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: websocket\r\n\
                   sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    socket.write_all(upgrade.as_bytes()).await.unwrap();
    let mut buf = vec![0; 1024];
    let read = tokio::time::timeout(WAIT, socket.read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..read].starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&buf[..read]));
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

/// Reads answers from `stream` until `count` bodies have arrived whole; returns everything read.
async fn read_answers(stream: &mut TcpStream, count: usize, last_body: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = vec![0; 4096];
    while String::from_utf8_lossy(&seen).matches("HTTP/1.1 200").count() < count
        || !String::from_utf8_lossy(&seen).ends_with(last_body)
    {
        let read = tokio::time::timeout(WAIT, stream.read(&mut buf)).await.expect("answers in time").unwrap();
        assert!(read > 0, "closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..read]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let served = start(ServeLimits::default()).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let requests = "GET / HTTP/1.1\r\nhost: localhost\r\n\r\n\
                    POST /echo HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\n\r\nfirst\
                    GET /peer HTTP/1.1\r\nhost: localhost\r\n\r\n\
                    POST /echo HTTP/1.1\r\nhost: localhost\r\ncontent-length: 4\r\n\r\nlast";
    stream.write_all(requests.as_bytes()).await.unwrap();
    let answers = read_answers(&mut stream, 4, "last").await;
    let ok = answers.find("\r\n\r\nok").unwrap();
    let first = answers.find("\r\n\r\nfirst").unwrap();
    let peer = answers.find(&stream.local_addr().unwrap().to_string()).unwrap();
    assert!(ok < first && first < peer, "{answers}");
    served.stop().await;
}

#[tokio::test]
async fn a_connection_that_turns_unusual_is_served_on_by_hyper() {
    let served = start(ServeLimits::default()).await;
    // A chunked body after a plain request: hyper reads it, and the connection stays usable after.
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    assert!(get_once(&mut stream, "/").await.ends_with("ok"));
    let chunked = "POST /echo HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n\
                   3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    stream.write_all(chunked.as_bytes()).await.unwrap();
    assert!(read_answers(&mut stream, 1, "abcde").await.starts_with("HTTP/1.1 200"));
    assert!(get_once(&mut stream, "/").await.ends_with("ok"));

    // A body that arrives after its head is streamed to the handler as it comes.
    let mut split = TcpStream::connect(served.addr).await.unwrap();
    split.write_all(b"POST /echo HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\n\r\nhel").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    split.write_all(b"lo").await.unwrap();
    assert!(read_answers(&mut split, 1, "hello").await.starts_with("HTTP/1.1 200"));

    // An upgrade after a plain request.
    let mut socket = TcpStream::connect(served.addr).await.unwrap();
    assert!(get_once(&mut socket, "/").await.ends_with("ok"));
    upgrade_to_websocket(&mut socket).await;

    // A malformed head gets hyper's answer.
    let mut bad = TcpStream::connect(served.addr).await.unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\nbad header\r\n\r\n").await.unwrap();
    assert!(read_to_close(&mut bad, WAIT).await.starts_with("HTTP/1.1 400"));
    drop(socket);
    served.stop().await;
}

#[tokio::test]
async fn a_client_that_asks_to_close_is_answered_and_closed() {
    let served = start(ServeLimits::default()).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await.unwrap();
    let answer = read_to_close(&mut stream, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n") && answer.contains("\r\ndate: "), "{answer}");
    assert!(answer.ends_with("content-length: 2\r\n\r\nok"), "{answer}");
    served.stop().await;
}

#[tokio::test]
async fn an_answer_given_before_its_body_arrived_closes_the_connection() {
    let served = start(ServeLimits::default()).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    // `/` takes no POST: the answer comes without the body being read, and what would follow is unframed.
    stream.write_all(b"POST / HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\n\r\nab").await.unwrap();
    let answer = read_to_close(&mut stream, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    served.stop().await;
}
