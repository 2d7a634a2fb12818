use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::ReadBuf;

use super::*;

/// An answer that arrives `step` bytes at a time, then ends.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl AsyncRead for Trickle {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let end = self.at.saturating_add(self.step).min(self.bytes.len()).min(self.at + buf.remaining());
        buf.put_slice(&self.bytes[self.at..end]);
        self.at = end;
        Poll::Ready(Ok(()))
    }
}

/// `answer` read as it arrives whole, with the same status and body (or failure) as when it arrives one
/// byte at a time.
async fn read(answer: &[u8]) -> Result<Answer, Failure> {
    let whole = read_answer(&mut Trickle { bytes: answer.to_vec(), at: 0, step: usize::MAX }, 1024).await;
    let trickled = read_answer(&mut Trickle { bytes: answer.to_vec(), at: 0, step: 1 }, 1024).await;
    let seen = |read: &Result<Answer, Failure>| read.as_ref().map(|a| (a.status, a.body.clone())).map_err(|e| *e);
    let shown = String::from_utf8_lossy(&answer[..answer.len().min(80)]).into_owned();
    assert_eq!(seen(&whole), seen(&trickled), "{shown}");
    whole
}

#[tokio::test]
async fn a_sized_answer_is_read_and_its_connection_kept() {
    let answer =
        read(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}").await.unwrap();
    assert_eq!((answer.status, &answer.body[..], answer.reusable), (200, &b"{}"[..], true));
}

#[tokio::test]
async fn a_chunked_answer_is_decoded_and_its_trailers_dropped() {
    let body = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\n{\"\r\nE\r\na\":\"0123456789\r\n1\r\n}\r\n0\r\nx-trailer: 1\r\n\r\n";
    let answer = read(body).await.unwrap();
    assert_eq!(&answer.body[..], br#"{"a":"0123456789}"#);
    assert!(answer.reusable);
}

#[tokio::test]
async fn interim_answers_are_skipped() {
    let answer = read(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n").await.unwrap();
    assert_eq!(answer.status, 201);
}

#[tokio::test]
async fn an_answer_that_ends_at_close_or_asks_to_close_is_not_kept() {
    let until_close = read(b"HTTP/1.1 200 OK\r\n\r\nall of it").await.unwrap();
    assert_eq!((&until_close.body[..], until_close.reusable), (&b"all of it"[..], false));
    let closing = read(b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n").await.unwrap();
    assert!(!closing.reusable);
    let old = read(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n").await.unwrap();
    assert!(!old.reusable, "HTTP/1.0 closes unless it says keep-alive");
    let old_kept = read(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 0\r\n\r\n").await.unwrap();
    assert!(old_kept.reusable);
    let trailing = read(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n").await.unwrap();
    assert!(!trailing.reusable, "bytes after the answer mean the connection is out of step");
}

#[tokio::test]
async fn an_answer_cut_short_is_a_closed_connection() {
    for cut in [
        &b""[..],
        b"HTTP/1.1 200 OK\r\ncontent-le",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{}",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n",
    ] {
        assert_eq!(read(cut).await.unwrap_err(), CLOSED_EARLY, "{}", String::from_utf8_lossy(cut));
    }
}

#[tokio::test]
async fn what_is_not_http_as_a_runtime_speaks_it_is_a_protocol_failure() {
    let too_big = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", 1025);
    let big_chunk = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n401\r\n".to_owned();
    let long_head = format!("HTTP/1.1 200 OK\r\nx: {}\r\n\r\n", "a".repeat(MAX_HEAD));
    let many_headers = format!("HTTP/1.1 200 OK\r\n{}\r\n", "x: 1\r\n".repeat(MAX_HEADERS + 1));
    let answers: [&[u8]; 12] = [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ncontent-length: -2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        too_big.as_bytes(),
        big_chunk.as_bytes(),
        long_head.as_bytes(),
        many_headers.as_bytes(),
    ];
    for answer in answers {
        let shown = String::from_utf8_lossy(&answer[..answer.len().min(80)]).into_owned();
        assert_eq!(read(answer).await.unwrap_err(), Failure::Protocol, "{shown}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_that_comes_until_close_is_refused() {
    let answer = format!("HTTP/1.1 200 OK\r\n\r\n{}", "a".repeat(1025));
    assert_eq!(read(answer.as_bytes()).await.unwrap_err(), Failure::Protocol);
}

#[test]
fn a_request_is_written_whole_and_a_line_break_cannot_be_smuggled_into_it() {
    let headers = [("idempotency-key", &b"k1"[..])];
    let request = Request { method: "POST", target: "/v1/workers", host: "h:1", headers: &headers, body: Some(b"{}") };
    let written = request.encode().unwrap();
    assert_eq!(
        written,
        b"POST /v1/workers HTTP/1.1\r\nhost: h:1\r\nidempotency-key: k1\r\ncontent-length: 2\r\n\r\n{}".to_vec()
    );
    let get = Request { method: "GET", target: "/v1/runtime", host: "h", headers: &[], body: None };
    assert_eq!(get.encode().unwrap(), b"GET /v1/runtime HTTP/1.1\r\nhost: h\r\n\r\n".to_vec());
    let smuggled_target = Request { target: "/v1/x HTTP/1.1\r\nx: y", ..get };
    assert!(smuggled_target.encode().is_none());
    let bad_header = [("authorization", &b"Bearer a\r\nx: y"[..])];
    assert!(Request { headers: &bad_header, ..get }.encode().is_none());
}
