//! Tests of the fault-injecting proxy itself, against tiny raw-TCP upstreams, so tests that rely on it can trust
//! each fault to do what it says.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tests::fault_proxy::{Fault, FaultProxy, GARBAGE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// How long a read may take before a test decides no answer is coming.
const SILENCE: Duration = Duration::from_millis(300);

/// How long anything a test waits for may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(5);

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: upstream\r\n\r\n";

/// Starts an upstream that echoes every byte back.
async fn echo_upstream() -> SocketAddr {
    serve(|mut stream| async move {
        let (mut read, mut write) = stream.split();
        let _ = tokio::io::copy(&mut read, &mut write).await;
    })
    .await
}

/// Starts a keep-alive HTTP/1.1 upstream that answers every request with 200 and `body`.
async fn http_upstream(body: &str) -> SocketAddr {
    let answer: Arc<[u8]> = http_answer(body).into_bytes().into();
    serve(move |mut stream| {
        let answer = Arc::clone(&answer);
        async move {
            let mut seen = Vec::new();
            let mut buf = [0; 4096];
            while let Ok(read @ 1..) = stream.read(&mut buf).await {
                seen.extend_from_slice(&buf[..read]);
                while let Some(end) = seen.windows(4).position(|window| window == b"\r\n\r\n") {
                    seen.drain(..end + 4);
                    if stream.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await
}

fn http_answer(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len())
}

/// Accepts connections on a free loopback port and runs `handle` on each.
async fn serve<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("upstream address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    addr
}

/// Writes `message` and reads back exactly as many bytes.
async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).await.expect("write");
    let mut answer = vec![0; message.len()];
    timeout(PATIENCE, stream.read_exact(&mut answer)).await.expect("answer in time").expect("read answer");
    answer
}

/// Sends one HTTP request and reads the whole answer to `body`.
async fn http_round_trip(stream: &mut TcpStream, body: &str) -> Vec<u8> {
    stream.write_all(REQUEST).await.expect("write request");
    let mut answer = vec![0; http_answer(body).len()];
    timeout(PATIENCE, stream.read_exact(&mut answer)).await.expect("answer in time").expect("read answer");
    answer
}

async fn connect(proxy: &FaultProxy) -> TcpStream {
    TcpStream::connect(proxy.addr()).await.expect("connect to proxy")
}

#[tokio::test]
async fn pass_forwards_both_ways_and_counts_connections() {
    let proxy = FaultProxy::start(echo_upstream().await).await;
    let mut first = connect(&proxy).await;
    assert_eq!(round_trip(&mut first, b"hello").await, b"hello");
    let mut second = connect(&proxy).await;
    assert_eq!(round_trip(&mut second, b"again").await, b"again");
    assert_eq!(round_trip(&mut first, b"still").await, b"still");
    assert_eq!(proxy.connections(), 2);
}

#[tokio::test]
async fn refuse_refuses_connects_and_pass_reopens_the_same_address() {
    let proxy = FaultProxy::start(echo_upstream().await).await;
    let addr = proxy.addr();
    proxy.set(Fault::Refuse).await;
    let err = TcpStream::connect(addr).await.expect_err("connect must be refused");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

    proxy.set(Fault::Pass).await;
    assert_eq!(proxy.addr(), addr);
    let mut stream = connect(&proxy).await;
    assert_eq!(round_trip(&mut stream, b"back").await, b"back");
    assert_eq!(proxy.connections(), 1);
}

#[tokio::test]
async fn refuse_keeps_connections_opened_before_it() {
    let proxy = FaultProxy::start(echo_upstream().await).await;
    let mut stream = connect(&proxy).await;
    assert_eq!(round_trip(&mut stream, b"before").await, b"before");
    proxy.set(Fault::Refuse).await;
    assert_eq!(round_trip(&mut stream, b"during").await, b"during");
}

#[tokio::test]
async fn blackhole_never_answers_and_keeps_the_connection_open() {
    let proxy = FaultProxy::start(echo_upstream().await).await;
    proxy.set(Fault::Blackhole).await;
    let mut stream = connect(&proxy).await;
    stream.write_all(b"anyone there?").await.expect("write");
    let mut buf = [0; 64];
    assert!(timeout(SILENCE, stream.read(&mut buf)).await.is_err(), "a blackhole must not answer");
    stream.write_all(b"still writable").await.expect("connection stays open");
    assert!(timeout(SILENCE, stream.read(&mut buf)).await.is_err(), "a blackhole must not close");
}

#[tokio::test]
async fn delay_holds_answers_on_new_and_open_connections() {
    let delay = Duration::from_millis(300);
    let proxy = FaultProxy::start(echo_upstream().await).await;
    let mut open = connect(&proxy).await;
    assert_eq!(round_trip(&mut open, b"fast").await, b"fast");

    proxy.set(Fault::Delay(delay)).await;
    let started = Instant::now();
    assert_eq!(round_trip(&mut open, b"slow").await, b"slow");
    assert!(started.elapsed() >= delay, "open connection answered after {:?}", started.elapsed());

    let mut new = connect(&proxy).await;
    let started = Instant::now();
    assert_eq!(round_trip(&mut new, b"slow").await, b"slow");
    assert!(started.elapsed() >= delay, "new connection answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn reset_mid_response_forwards_the_first_bytes_then_resets() {
    let body = "0123456789".repeat(10);
    let limit = 16;
    let proxy = FaultProxy::start(http_upstream(&body).await).await;
    proxy.set(Fault::ResetMidResponse(limit)).await;
    let mut stream = connect(&proxy).await;
    stream.write_all(REQUEST).await.expect("write request");

    let mut received = Vec::new();
    let mut buf = [0; 4096];
    let err = loop {
        match timeout(PATIENCE, stream.read(&mut buf)).await.expect("reset in time") {
            Ok(0) => panic!("clean end of stream after {} bytes, expected a reset", received.len()),
            Ok(read) => received.extend_from_slice(&buf[..read]),
            Err(err) => break err,
        }
    };
    assert_eq!(received, http_answer(&body).as_bytes()[..limit]);
    if cfg!(target_os = "linux") {
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    }
}

#[tokio::test]
async fn garbage_answers_with_non_http_bytes_then_closes() {
    let proxy = FaultProxy::start(http_upstream("ok").await).await;
    proxy.set(Fault::Garbage).await;
    let mut stream = connect(&proxy).await;
    stream.write_all(REQUEST).await.expect("write request");
    let mut answer = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut answer)).await.expect("close in time").expect("read garbage");
    assert_eq!(answer, GARBAGE);
}

#[tokio::test]
async fn bad_gateway_answers_like_a_proxy_whose_upstream_is_down() {
    let proxy = FaultProxy::start(http_upstream("ok").await).await;
    proxy.set(Fault::BadGateway).await;
    let url = format!("http://{}/", proxy.addr());
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let response = client.get(&url).send().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 502);
    assert!(response.text().await.expect("body").contains("502 Bad Gateway"));
}

#[tokio::test]
async fn stall_freezes_open_connections_and_spares_new_ones() {
    let proxy = FaultProxy::start(echo_upstream().await).await;
    let mut open = connect(&proxy).await;
    assert_eq!(round_trip(&mut open, b"before").await, b"before");
    proxy.stall();
    open.write_all(b"into the void").await.expect("a stalled connection still takes bytes");
    let mut buf = [0; 64];
    assert!(timeout(SILENCE, open.read(&mut buf)).await.is_err(), "a stalled connection neither answers nor closes");
    let mut fresh = connect(&proxy).await;
    assert_eq!(round_trip(&mut fresh, b"after").await, b"after");
}

#[tokio::test]
async fn set_once_applies_to_the_next_connection_only() {
    let proxy = FaultProxy::start(http_upstream("ok").await).await;
    proxy.set_once(Fault::Garbage);
    let mut first = connect(&proxy).await;
    first.write_all(REQUEST).await.expect("write request");
    let mut answer = Vec::new();
    timeout(PATIENCE, first.read_to_end(&mut answer)).await.expect("close in time").expect("read garbage");
    assert_eq!(answer, GARBAGE);
    let mut second = connect(&proxy).await;
    assert_eq!(http_round_trip(&mut second, "ok").await, http_answer("ok").as_bytes());
}

#[tokio::test]
async fn cut_closes_open_connections_and_keeps_accepting() {
    let proxy = FaultProxy::start(echo_upstream().await).await;
    let mut idle = connect(&proxy).await;
    assert_eq!(round_trip(&mut idle, b"ping").await, b"ping");

    proxy.cut();
    let mut buf = [0; 64];
    match timeout(PATIENCE, idle.read(&mut buf)).await.expect("closed in time") {
        Ok(0) | Err(_) => {}
        Ok(read) => panic!("read {read} bytes from a cut connection"),
    }

    let mut fresh = connect(&proxy).await;
    assert_eq!(round_trip(&mut fresh, b"pong").await, b"pong");
}

#[tokio::test]
async fn set_upstream_sends_new_connections_elsewhere() {
    let proxy = FaultProxy::start(http_upstream("one").await).await;
    let mut old = connect(&proxy).await;
    assert_eq!(http_round_trip(&mut old, "one").await, http_answer("one").as_bytes());

    proxy.set_upstream(http_upstream("two").await);
    let mut new = connect(&proxy).await;
    assert_eq!(http_round_trip(&mut new, "two").await, http_answer("two").as_bytes());
    assert_eq!(http_round_trip(&mut old, "one").await, http_answer("one").as_bytes());
}

#[tokio::test]
async fn drop_closes_connections_and_stops_listening() {
    let proxy = FaultProxy::start(echo_upstream().await).await;
    let addr = proxy.addr();
    let mut stream = connect(&proxy).await;
    assert_eq!(round_trip(&mut stream, b"bye").await, b"bye");
    drop(proxy);

    let mut buf = [0; 64];
    match timeout(PATIENCE, stream.read(&mut buf)).await.expect("closed in time") {
        Ok(0) | Err(_) => {}
        Ok(read) => panic!("read {read} bytes from a dropped proxy"),
    }
    // The accept loop is aborted, not awaited, so the port may take a moment to close.
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "the port stayed open after the proxy was dropped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn reqwest_gets_through_pass_and_fails_to_connect_under_refuse() {
    let proxy = FaultProxy::start(http_upstream("ok").await).await;
    let url = format!("http://{}/", proxy.addr());
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let body = client.get(&url).send().await.expect("get").text().await.expect("body");
    assert_eq!(body, "ok");

    proxy.set(Fault::Refuse).await;
    // A fresh client, because the first one's pooled connection survives Refuse.
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let err = client.get(&url).send().await.expect_err("get must fail");
    assert!(err.is_connect(), "expected a connect error, got {err:?}");
}
