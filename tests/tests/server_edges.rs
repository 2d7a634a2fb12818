//! The backend's edges over real sockets (issue 14): a partial request head or an idle connection is dropped
//! after `server.request_head_timeout_secs`, connections beyond `server.max_connections` wait, a declared
//! oversize body is refused before it is read, a slow body is `408 request_timeout` (never a runtime's
//! `504`), two `Host` headers are refused, and a stream cap per client still sees the client's address.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use runtime_api::{ErrorCode, ErrorEnvelope};
use tests::harness::serve_backend_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for anything that should happen to happen on a loaded machine.
const WAIT: Duration = Duration::from_secs(10);

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// Whether the answer has been through the API's layers: a request id and the security headers.
    fn is_from_the_api(&self) -> bool {
        let head = self.head.to_ascii_lowercase();
        head.contains("\r\nx-request-id: ") && head.contains("\r\nx-content-type-options: nosniff")
    }

    fn code(&self) -> ErrorCode {
        serde_json::from_str::<ErrorEnvelope>(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body)).error.code
    }
}

fn addr(base: &str) -> SocketAddr {
    base.strip_prefix("http://").unwrap().parse().unwrap()
}

/// Sends `raw` and reads one answer.
async fn exchange(addr: SocketAddr, raw: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    read_answer(&mut stream).await
}

/// Reads until a whole answer (head and `content-length` bytes) is in, or the server closes.
async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut seen = Vec::new();
    let mut buf = [0; 8192];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await.expect("an answer in time") {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if let Some(answer) = parse(&seen) {
            return answer;
        }
    }
    parse(&seen).unwrap_or_else(|| panic!("no whole answer: {:?}", String::from_utf8_lossy(&seen)))
}

fn parse(seen: &[u8]) -> Option<Answer> {
    let text = String::from_utf8_lossy(seen);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    (body.len() >= length).then(|| Answer { status, head: head.to_owned(), body: body[..length].to_owned() })
}

/// Reads until the server closes, failing if that takes longer than [`WAIT`]; returns how long it took.
async fn time_to_close(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut sink)).await.expect("the server closes the connection").ok();
    started.elapsed()
}

#[tokio::test]
async fn a_partial_head_and_an_idle_connection_are_dropped_after_the_head_timeout() {
    let served = serve_backend_with("[server]\nrequest_head_timeout_secs = 1\n", |b| b).await;
    let addr = addr(&served.base);
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"GET /api/runtimes HTTP/1.1\r\nhost: 127").await.unwrap();
    assert!(time_to_close(&mut partial).await >= Duration::from_millis(900));

    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut kept).await.status, 200);
    assert!(time_to_close(&mut kept).await >= Duration::from_millis(900), "an idle kept-alive connection");
}

#[tokio::test]
async fn connections_over_the_cap_wait_for_a_place() {
    let served = serve_backend_with("[server]\nmax_connections = 1\n", |b| b).await;
    let addr = addr(&served.base);
    let holder = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = TcpStream::connect(addr).await.unwrap();
    waiting.write_all(format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = [0; 16];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf)).await;
    assert!(early.is_err(), "a second connection was served while the only place was taken");
    drop(holder);
    assert_eq!(read_answer(&mut waiting).await.status, 200);
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_before_it_is_read() {
    let served = serve_backend_with("", |b| b).await;
    let addr = addr(&served.base);
    let raw = format!(
        "POST /api/runtimes/backend-internal/workers HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: 100000000\r\n\r\n{{\"title\":\"t\"}}"
    );
    let started = Instant::now();
    let answer = exchange(addr, &raw).await;
    assert_eq!((answer.status, answer.code()), (413, ErrorCode::PayloadTooLarge), "{answer:?}");
    assert!(answer.is_from_the_api(), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?} for a body it refuses", started.elapsed());
}

#[tokio::test]
async fn a_slow_body_is_a_request_timeout_not_a_runtime_timeout() {
    // The body may take longer than the backstop allows a request; it is held to the backstop, and the
    // client, not the runtime, is named for the wait.
    let toml = "[server]\nrequest_timeout_secs = 1\nrequest_body_timeout_secs = 30\n";
    let served = serve_backend_with(toml, |b| b).await;
    let addr = addr(&served.base);
    let created = exchange(
        addr,
        &format!("POST /api/runtimes/backend-internal/workers HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    let worker: serde_json::Value = serde_json::from_str(&created.body).unwrap();
    let worker = worker["worker_id"].as_str().unwrap();
    for path in [format!("/workers/{worker}/input"), "/workers".to_owned(), format!("/workers/{worker}/stop")] {
        let raw = format!(
            "POST /api/runtimes/backend-internal{path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: 50\r\n\r\n{{\"content\":"
        );
        let started = Instant::now();
        let answer = exchange(addr, &raw).await;
        assert_eq!((answer.status, answer.code()), (408, ErrorCode::RequestTimeout), "{path}: {answer:?}");
        assert!(started.elapsed() >= Duration::from_millis(900), "{path}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn two_host_headers_are_refused() {
    let served = serve_backend_with("", |b| b).await;
    let addr = addr(&served.base);
    for hosts in [format!("host: {addr}\r\nhost: rebound.example"), format!("host: {addr}\r\nhost: {addr}")] {
        let answer = exchange(addr, &format!("GET /api/runtimes HTTP/1.1\r\n{hosts}\r\n\r\n")).await;
        assert_eq!((answer.status, answer.code()), (400, ErrorCode::InvalidRequest), "{hosts}: {answer:?}");
        assert!(answer.is_from_the_api(), "{hosts}: {answer:?}");
    }
    let answer = exchange(addr, &format!("GET /api/runtimes HTTP/1.1\r\nhost: {addr}\r\n\r\n")).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn the_per_client_stream_cap_still_counts_by_peer_address() {
    let served = serve_backend_with("[server]\nmax_event_streams_per_client = 1\n", |b| b).await;
    let url = format!("{}/api/runtimes/backend-internal/events", served.base.replacen("http", "ws", 1));
    let (_first, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the first stream opens");
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 429),
        other => panic!("a second stream from the same address must be refused, got {:?}", other.map(|_| ())),
    }
}
