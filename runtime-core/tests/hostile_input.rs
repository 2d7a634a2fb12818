//! The `worker-runtime` binary against hostile clients, over real sockets (issue 14): partial heads and idle
//! connections are dropped, connections are capped, a declared oversize body is refused before it is read
//! and a slow one times out, no browser and no foreign `Host` gets in (with or without a token), bodies must
//! be JSON, the bearer scheme is case-insensitive, two `Host`s are refused, and the OpenAPI document is
//! served.
#![cfg(feature = "http-server")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use runtime_api::{ErrorCode, ErrorEnvelope, WorkerPage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for anything that should happen to happen on a loaded machine.
const WAIT: Duration = Duration::from_secs(10);

/// A `worker-runtime` process, killed when dropped.
struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    /// Starts the binary on a free loopback port with `args` (and `env`), and waits for its listening line.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_worker-runtime"))
            .args(["--bind", "127.0.0.1:0", "--log", "warn"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("worker-runtime starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}"));
        Process { addr: addr.parse().unwrap(), child }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn code(&self) -> ErrorCode {
        serde_json::from_str::<ErrorEnvelope>(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body)).error.code
    }
}

/// Sends `raw` (a whole request, or the start of one) and reads the answer until the server closes.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    read_answer(&mut stream).await
}

async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut seen = Vec::new();
    let mut buf = [0; 8192];
    // Until the server closes, or a whole answer (head and `content-length` bytes) is in.
    loop {
        let read = tokio::time::timeout(WAIT, stream.read(&mut buf)).await.expect("an answer in time");
        match read {
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
    (body.len() >= length).then(|| Answer { status, body: body[..length].to_owned() })
}

/// No extra headers.
const NONE: &[&str] = &[];

/// A request with `host: localhost:<port>`, `headers` and `body`.
fn request(process: &Process, line: &str, headers: &[impl AsRef<str>], body: &str) -> Vec<u8> {
    let mut raw = format!("{line} HTTP/1.1\r\nhost: localhost:{}\r\nconnection: close\r\n", process.port());
    for header in headers {
        raw.push_str(header.as_ref());
        raw.push_str("\r\n");
    }
    if !body.is_empty() {
        raw.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    raw.into_bytes()
}

/// Reads until the server closes, failing if that takes longer than [`WAIT`]; returns how long it took.
async fn time_to_close(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut sink)).await.expect("the server closes the connection").ok();
    started.elapsed()
}

#[tokio::test]
async fn a_partial_head_and_an_idle_connection_are_dropped_after_the_header_timeout() {
    let process = Process::start(&["--header-timeout-s", "1"], &[]);
    let mut partial = TcpStream::connect(process.addr).await.unwrap();
    partial.write_all(b"GET /v1/runtime HTTP/1.1\r\nhost: 127").await.unwrap();
    assert!(time_to_close(&mut partial).await >= Duration::from_millis(900));

    let mut kept = TcpStream::connect(process.addr).await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nhost: localhost:{}\r\n\r\n", process.port()).as_bytes())
        .await
        .unwrap();
    assert_eq!(read_answer(&mut kept).await.status, 200);
    assert!(time_to_close(&mut kept).await >= Duration::from_millis(900), "an idle kept-alive connection");
}

#[tokio::test]
async fn connections_over_the_cap_wait_for_a_place() {
    let process = Process::start(&["--max-connections", "1"], &[]);
    let holder = TcpStream::connect(process.addr).await.unwrap();
    // Accepted once the server has taken the first connection: give it that moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = TcpStream::connect(process.addr).await.unwrap();
    waiting.write_all(&request(&process, "GET /healthz", NONE, "")).await.unwrap();
    let mut buf = [0; 16];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf)).await;
    assert!(early.is_err(), "a second connection was served while the only place was taken");
    drop(holder);
    assert_eq!(read_answer(&mut waiting).await.status, 200);
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_at_once_and_a_slow_one_times_out() {
    let process = Process::start(&["--body-timeout-s", "1"], &[]);
    let head = |length: usize| {
        let line = "POST /v1/workers";
        let mut raw = request(&process, line, &["content-type: application/json"], "");
        raw.truncate(raw.len() - 2);
        raw.extend_from_slice(format!("content-length: {length}\r\n\r\n{{\"title\":\"t\"}}").as_bytes());
        raw
    };
    let started = Instant::now();
    let answer = exchange(process.addr, &head(100_000_000)).await;
    assert_eq!((answer.status, answer.code()), (413, ErrorCode::PayloadTooLarge), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "waited {:?} for a body it refuses", started.elapsed());

    let started = Instant::now();
    let answer = exchange(process.addr, &head(50)).await;
    assert_eq!((answer.status, answer.code()), (408, ErrorCode::RequestTimeout), "{answer:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn foreign_hosts_and_any_origin_are_refused_with_and_without_a_token() {
    let open = Process::start(&["--allowed-hosts", "runtime.example,proxy.example:443"], &[]);
    let guarded = Process::start(&["--token-env", "HOSTILE_TEST_TOKEN"], &[("HOSTILE_TEST_TOKEN", "s3cret")]);
    for (process, auth) in [(&open, None), (&guarded, Some("authorization: Bearer s3cret"))] {
        let port = process.port();
        let with = |extra: &[&str]| -> Vec<String> {
            auth.into_iter().chain(extra.iter().copied()).map(str::to_owned).collect()
        };
        let ok = exchange(process.addr, &request(process, "GET /v1/runtime", &with(&[]), "")).await;
        assert_eq!(ok.status, 200, "{ok:?}");
        for origin in ["origin: http://evil.example", &format!("origin: http://localhost:{port}"), "origin: null"] {
            for line in ["GET /v1/runtime", "GET /healthz", "POST /v1/workers"] {
                let answer = exchange(process.addr, &request(process, line, &with(&[origin]), "")).await;
                assert_eq!((answer.status, answer.code()), (403, ErrorCode::Forbidden), "{line} {origin}");
            }
        }
        for host in ["rebound.example", "rebound.example:8790", "127.0.0.2"] {
            let raw = format!(
                "GET /v1/runtime HTTP/1.1\r\nhost: {host}\r\n{}\r\n",
                auth.map_or(String::new(), |a| format!("{a}\r\n"))
            );
            let answer = exchange(process.addr, raw.as_bytes()).await;
            assert_eq!((answer.status, answer.code()), (403, ErrorCode::Forbidden), "{host}");
        }
    }
    for host in ["runtime.example:8790", "proxy.example:443", &format!("127.0.0.1:{}", open.port()), "[::1]:1"] {
        let raw = format!("GET /v1/runtime HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
        assert_eq!(exchange(open.addr, raw.as_bytes()).await.status, 200, "{host}");
    }
}

#[tokio::test]
async fn a_cross_site_simple_post_creates_nothing() {
    let process = Process::start(&[], &[]);
    let plain = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"];
    for content_type in plain {
        let header = format!("content-type: {content_type}");
        for body in ["", "{}"] {
            let answer = exchange(process.addr, &request(&process, "POST /v1/workers", &[&header], body)).await;
            assert_eq!((answer.status, answer.code()), (400, ErrorCode::InvalidRequest), "{content_type} {body:?}");
            assert!(answer.body.contains(content_type.split(';').next().unwrap()), "{}", answer.body);
        }
    }
    let raw = request(&process, "GET /v1/workers", NONE, "");
    let page: WorkerPage = serde_json::from_str(&exchange(process.addr, &raw).await.body).unwrap();
    assert!(page.workers.is_empty(), "a worker was created: {page:?}");

    // The same for the other commands, on a worker that exists; and `[]` or `null` is not an object.
    let json = "content-type: application/json";
    let created = exchange(process.addr, &request(&process, "POST /v1/workers", NONE, "")).await;
    assert_eq!(created.status, 201, "no body and no content type creates with the defaults");
    let worker =
        serde_json::from_str::<serde_json::Value>(&created.body).unwrap()["worker_id"].as_str().unwrap().to_owned();
    for command in ["input", "stop", "cancel"] {
        let line = format!("POST /v1/workers/{worker}/{command}");
        let answer = exchange(process.addr, &request(&process, &line, &["content-type: text/plain"], "")).await;
        assert_eq!(answer.status, 400, "{command}: {answer:?}");
        for body in ["[]", "null"] {
            let answer = exchange(process.addr, &request(&process, &line, &[json], body)).await;
            assert_eq!(answer.status, 400, "{command} {body}: {answer:?}");
        }
    }
    for body in ["[]", "null"] {
        let answer = exchange(process.addr, &request(&process, "POST /v1/workers", &[json], body)).await;
        assert_eq!(answer.status, 400, "create {body}: {answer:?}");
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_two_hosts_are_refused() {
    let process = Process::start(&["--token-env", "HOSTILE_TEST_TOKEN"], &[("HOSTILE_TEST_TOKEN", "s3cret")]);
    for (authorization, status) in [
        ("Bearer s3cret", 200),
        ("bearer s3cret", 200),
        ("BEARER  s3cret", 200),
        ("Bearer s3cre", 401),
        ("Basic s3cret", 401),
        ("bearer", 401),
    ] {
        let header = format!("authorization: {authorization}");
        let answer = exchange(process.addr, &request(&process, "GET /v1/runtime", &[&header], "")).await;
        assert_eq!(answer.status, status, "{authorization}: {answer:?}");
    }
    let port = process.port();
    let raw = format!(
        "GET /v1/runtime HTTP/1.1\r\nhost: localhost:{port}\r\nhost: rebound.example\r\nauthorization: Bearer s3cret\r\n\r\n"
    );
    let answer = exchange(process.addr, raw.as_bytes()).await;
    assert_eq!((answer.status, answer.code()), (400, ErrorCode::InvalidRequest), "{answer:?}");
}

#[tokio::test]
async fn the_openapi_document_is_served_behind_the_token() {
    let process = Process::start(&["--token-env", "HOSTILE_TEST_TOKEN"], &[("HOSTILE_TEST_TOKEN", "s3cret")]);
    let refused = exchange(process.addr, &request(&process, "GET /v1/openapi.json", NONE, "")).await;
    assert_eq!(refused.status, 401);
    let header = "authorization: Bearer s3cret";
    let answer = exchange(process.addr, &request(&process, "GET /v1/openapi.json", &[header], "")).await;
    assert_eq!(answer.status, 200);
    let document: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/v1/workers/{worker_id}/input"]["post"]["responses"]["401"].is_object());
}
