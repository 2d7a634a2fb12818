//! A scripted OpenAI-compatible streaming chat-completions server on loopback TCP, for tests.

mod script;

pub use script::{
    Behaviour, Step, content_chunk, empty_chunk, error_object, finish_chunk, now_micros, role_chunk, usage_chunk,
};

use parking_lot::Mutex;
use serde_json::Value;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Largest request head accepted (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// A scripted chat-completions server; stops accepting when dropped.
pub struct ModelServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// The method, e.g. "POST".
    pub method: String,
    /// The request target, e.g. "/v1/chat/completions".
    pub path: String,
    /// The headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or `Null` if it did not parse.
    pub body: Value,
}

impl SeenRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// State shared by the handle, the accept loop and the connection tasks.
struct Shared {
    state: Mutex<State>,
    /// Bumped after every change to `state`, so waiters re-check instead of polling.
    changed: watch::Sender<()>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Behaviour>,
    seen: Vec<Entry>,
}

struct Entry {
    request: SeenRequest,
    /// The connection is over, by either side.
    closed: bool,
    /// When it was seen to be over.
    closed_at: Option<Instant>,
    /// The client's EOF or a read/write error came before the server finished its response.
    client_first: bool,
}

impl Shared {
    /// Records a request and picks its behaviour under one lock, so queue order matches arrival order.
    fn arrive(&self, request: SeenRequest) -> (usize, Behaviour) {
        let mut state = self.state.lock();
        let behaviour = match state.queue.pop_front() {
            Some(behaviour) => behaviour,
            None => Behaviour::default_for(&request.body),
        };
        state.seen.push(Entry { request, closed: false, closed_at: None, client_first: false });
        let index = state.seen.len() - 1;
        drop(state);
        self.changed.send_replace(());
        (index, behaviour)
    }

    fn closed(&self, index: usize, client_first: bool) {
        let mut state = self.state.lock();
        let entry = &mut state.seen[index];
        entry.closed = true;
        entry.closed_at = Some(Instant::now());
        entry.client_first = client_first;
        drop(state);
        self.changed.send_replace(());
    }
}

impl ModelServer {
    /// Starts on a free loopback port.
    pub async fn start() -> ModelServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), changed: watch::Sender::new(()) });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        ModelServer { addr, shared, accept }
    }

    /// `http://127.0.0.1:PORT/v1`, what a profile's base_url would be.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a behaviour for the next request (first in, first out; the default answers when none is queued).
    pub fn push(&self, behaviour: Behaviour) {
        self.shared.state.lock().queue.push_back(behaviour);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        let state = self.shared.state.lock();
        state.seen.iter().map(|e| e.request.clone()).collect()
    }

    /// Waits until `count` requests have arrived (panics after `limit`).
    pub async fn wait_requests(&self, count: usize, limit: Duration) -> Vec<SeenRequest> {
        let arrived = self.wait_for(limit, |s| s.seen.len() >= count).await;
        let requests = self.requests();
        assert!(arrived, "expected {count} requests within {limit:?}, got {}", requests.len());
        requests
    }

    /// Waits until request `index`'s connection is over (client EOF/error, or the server finished); true if within `limit`.
    pub async fn wait_closed(&self, index: usize, limit: Duration) -> bool {
        self.wait_for(limit, |s| s.seen.get(index).is_some_and(|e| e.closed)).await
    }

    /// True if the client closed request `index`'s connection before the server finished answering.
    pub fn client_closed_early(&self, index: usize) -> bool {
        let state = self.shared.state.lock();
        state.seen.get(index).is_some_and(|e| e.closed && e.client_first)
    }

    /// When request `index`'s connection was seen to be over, if it is.
    pub fn closed_at(&self, index: usize) -> Option<Instant> {
        self.shared.state.lock().seen.get(index).and_then(|e| e.closed_at)
    }

    /// Waits until `done` holds for the state, or `limit` passes; returns whether it held.
    async fn wait_for(&self, limit: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        // Subscribing before checking means no change between the check and the wait is missed.
        let mut changes = self.shared.changed.subscribe();
        loop {
            let held = done(&self.shared.state.lock());
            if held {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return done(&self.shared.state.lock()),
            }
        }
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        // The accept task owns the connection tasks, so this ends open connections too.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // A JoinSet aborts its tasks when dropped, which ties connections to this task's life.
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                connections.spawn(serve(shared.clone(), stream));
            }
            // E.g. out of file descriptors: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Serves one connection: one request, one response, then close.
async fn serve(shared: Arc<Shared>, stream: TcpStream) {
    // Small SSE chunks should leave at once, not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let request = match read_request(&mut reader).await {
        Ok(request) => request,
        Err(ReadError::Gone) => return,
        Err(ReadError::Reject(status)) => {
            let _ = write_plain(&mut writer, status, &[], "").await;
            let _ = writer.shutdown().await;
            return;
        }
    };
    let (index, behaviour) = shared.arrive(request);
    // Reading on while answering is how a client hanging up mid-response (or mid-Hang) is noticed.
    let client_first = tokio::select! {
        written = respond(&mut writer, behaviour) => written.is_err(),
        () = until_eof(&mut reader) => true,
    };
    if !client_first {
        let _ = writer.shutdown().await;
    }
    shared.closed(index, client_first);
}

/// Returns once the client's side ends (EOF or error); anything more it sends is ignored.
async fn until_eof(reader: &mut OwnedReadHalf) {
    let mut scratch = [0u8; 1024];
    while let Ok(n) = reader.read(&mut scratch).await {
        if n == 0 {
            return;
        }
    }
}

enum ReadError {
    /// The client went away before a whole request arrived: nothing to answer.
    Gone,
    /// The request is malformed or too large: answer with this status.
    Reject(u16),
}

async fn read_more(reader: &mut OwnedReadHalf, buf: &mut Vec<u8>, want: usize) -> Result<(), ReadError> {
    buf.reserve(want);
    match reader.read_buf(buf).await {
        Ok(0) | Err(_) => Err(ReadError::Gone),
        Ok(_) => Ok(()),
    }
}

async fn read_request(reader: &mut OwnedReadHalf) -> Result<SeenRequest, ReadError> {
    let mut buf = Vec::new();
    let head_len = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() >= MAX_HEAD {
            return Err(ReadError::Reject(431));
        }
        read_more(reader, &mut buf, 4096).await?;
    };
    if head_len > MAX_HEAD {
        return Err(ReadError::Reject(431));
    }
    let head = std::str::from_utf8(&buf[..head_len - 4]).map_err(|_| ReadError::Reject(400))?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(path)) = (request_line.next(), request_line.next()) else {
        return Err(ReadError::Reject(400));
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(ReadError::Reject(400))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let request = SeenRequest { method: method.to_owned(), path: path.to_owned(), headers, body: Value::Null };
    // Chunked request bodies are not needed by any client under test; refuse them visibly.
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Reject(501));
    }
    let length = match request.header("content-length") {
        Some(value) => value.parse::<usize>().map_err(|_| ReadError::Reject(400))?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(ReadError::Reject(413));
    }
    let mut body = buf.split_off(head_len);
    while body.len() < length {
        let missing = length - body.len();
        read_more(reader, &mut body, missing).await?;
    }
    body.truncate(length);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(SeenRequest { body, ..request })
}

async fn respond(writer: &mut OwnedWriteHalf, behaviour: Behaviour) -> io::Result<()> {
    match behaviour {
        Behaviour::Stream(steps) => write_stream(writer, "text/event-stream", steps).await,
        Behaviour::StreamAs { content_type, steps } => write_stream(writer, &content_type, steps).await,
        Behaviour::Status { status, headers, body } => write_plain(writer, status, &headers, &body).await,
        Behaviour::Hang => std::future::pending().await,
        Behaviour::Close => Ok(()),
    }
}

async fn write_plain(
    writer: &mut OwnedWriteHalf,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    head.push_str(body);
    writer.write_all(head.as_bytes()).await
}

async fn write_stream(writer: &mut OwnedWriteHalf, content_type: &str, steps: Vec<Step>) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nCache-Control: no-cache\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await?;
    for step in steps {
        let text = match step {
            Step::Data(payload) => format!("data: {payload}\n\n"),
            Step::Raw(raw) => raw,
            Step::Comment(comment) => format!(": {comment}\n\n"),
            Step::Stamp => format!("data: {}\n\n", script::content_chunk(&format!("{} ", script::now_micros()))),
            Step::Sleep(pause) => {
                tokio::time::sleep(pause).await;
                continue;
            }
            Step::Hang => std::future::pending().await,
            // Returning without the last chunk; the caller then closes the socket.
            Step::Cut => return Ok(()),
        };
        // A zero-length chunk would end the body, so an empty step sends nothing.
        if !text.is_empty() {
            let chunk = format!("{:x}\r\n{text}\r\n", text.len());
            writer.write_all(chunk.as_bytes()).await?;
        }
    }
    writer.write_all(b"0\r\n\r\n").await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Scripted",
    }
}
