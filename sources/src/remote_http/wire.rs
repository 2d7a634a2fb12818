//! HTTP/1.1 as the REST calls to a remote runtime use it: one request written whole, one answer read whole
//! and bounded, on a connection the caller holds for the exchange.
//!
//! Written for this one use rather than taken from a general client: a call is a handful of headers and a
//! small JSON body each way, and a general client's connection task, channels and pool cost more than the
//! backend's whole handling of a forwarded request. Anything outside what a runtime (or a proxy in front of
//! one) sends is refused as not speaking HTTP: a head over 64 KiB or with more than 64 headers, an answer
//! over the caller's limit, a transfer coding other than `chunked`, both a length and a coding, two
//! different lengths, a protocol switch.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::classify::{self, Failure};

/// Largest answer head read.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers in an answer head.
const MAX_HEADERS: usize = 64;
/// Longest chunk-size or trailer line of a chunked answer.
const MAX_LINE: usize = 8 * 1024;
/// How much room each read of an answer asks for.
const READ_CHUNK: usize = 8 * 1024;

/// The end of an answer whose connection closed before it was whole.
const CLOSED_EARLY: Failure = Failure::Unavailable("it closed the connection in the middle of an answer");

/// One request, before it is written.
pub(super) struct Request<'a> {
    /// `GET` or `POST`.
    pub(super) method: &'static str,
    /// The path and query, such as `/v1/workers?limit=5`; visible ASCII only.
    pub(super) target: &'a str,
    /// The `Host` header.
    pub(super) host: &'a str,
    /// Further headers, names in lowercase.
    pub(super) headers: &'a [(&'static str, &'a [u8])],
    /// A JSON body, for commands.
    pub(super) body: Option<&'a [u8]>,
}

impl Request<'_> {
    /// The request's bytes, or `None` when a part of it would break out of its place (a line break in the
    /// target or a header).
    pub(super) fn encode(&self) -> Option<Vec<u8>> {
        let visible = |text: &[u8]| text.iter().all(|b| b.is_ascii_graphic());
        let header_value = |text: &[u8]| text.iter().all(|&b| b == b' ' || b == b'\t' || b.is_ascii_graphic());
        if !visible(self.target.as_bytes())
            || !visible(self.host.as_bytes())
            || !self.headers.iter().all(|(_, value)| header_value(value))
        {
            return None;
        }
        let body = self.body.unwrap_or_default();
        let headers: usize = self.headers.iter().map(|(name, value)| name.len() + value.len() + 4).sum();
        let mut out = Vec::with_capacity(64 + self.target.len() + self.host.len() + headers + body.len());
        for part in [self.method.as_bytes(), b" ", self.target.as_bytes(), b" HTTP/1.1\r\nhost: ", self.host.as_bytes()]
        {
            out.extend_from_slice(part);
        }
        for (name, value) in self.headers {
            for part in [b"\r\n", name.as_bytes(), b": ", value] {
                out.extend_from_slice(part);
            }
        }
        if self.body.is_some() {
            out.extend_from_slice(b"\r\ncontent-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
        Some(out)
    }
}

/// A whole answer.
#[derive(Debug)]
pub(super) struct Answer {
    /// Its status code.
    pub(super) status: u16,
    /// Its body, decoded from chunks if it came in them.
    pub(super) body: Bytes,
    /// Whether the connection can carry another request: the answer's end was known and nothing followed
    /// it, and neither side asked to close.
    pub(super) reusable: bool,
}

/// Writes `request` (as [`Request::encode`] made it) and reads its answer, of at most `limit` body bytes.
pub(super) async fn exchange<S>(io: &mut S, request: &[u8], limit: usize) -> Result<Answer, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(request).await.map_err(|e| classify::io(&e))?;
    io.flush().await.map_err(|e| classify::io(&e))?;
    read_answer(io, limit).await
}

/// How an answer's body is delimited, from its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (`204`, `304`).
    Empty,
    /// `Content-Length` bytes.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the connection closes.
    UntilClose,
}

/// What an answer's head says.
struct Head {
    status: u16,
    framing: Framing,
    /// The answer asks to close the connection after it (or is HTTP/1.0 without keep-alive).
    closes: bool,
}

/// Reads one answer, skipping interim (1xx) heads.
async fn read_answer<S: AsyncRead + Unpin>(io: &mut S, limit: usize) -> Result<Answer, Failure> {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    // How far the buffer was searched for a line's end: an answer trickling in is parsed afresh only when
    // a line of it is complete, not at every byte.
    // The first bytes are always parsed, so an answer that is not HTTP fails at once.
    let mut searched: usize = 0;
    let head = loop {
        let worth_parsing = searched == 0 || memchr::memchr(b'\n', &buf[searched..]).is_some();
        searched = buf.len();
        match if worth_parsing { parse_head(&buf, limit)? } else { None } {
            Some((_, len)) if len > MAX_HEAD => return Err(Failure::Protocol),
            Some((head, len)) => {
                searched = 0;
                buf.advance(len);
                match head.status {
                    101 => return Err(Failure::Protocol),
                    100..=199 => continue,
                    _ => break head,
                }
            }
            None if buf.len() > MAX_HEAD => return Err(Failure::Protocol),
            None => fill(io, &mut buf).await?,
        }
    };
    let body = match head.framing {
        Framing::Empty => Bytes::new(),
        Framing::Length(len) => {
            while buf.len() < len {
                fill(io, &mut buf).await?;
            }
            buf.split_to(len).freeze()
        }
        Framing::Chunked => chunked(io, &mut buf, limit).await?,
        Framing::UntilClose => loop {
            if buf.len() > limit {
                return Err(Failure::Protocol);
            }
            if read_some(io, &mut buf).await? == 0 {
                break buf.split().freeze();
            }
        },
    };
    let reusable = !head.closes && head.framing != Framing::UntilClose && buf.is_empty();
    Ok(Answer { status: head.status, body, reusable })
}

/// The head at the start of `buf` and its length, `None` while it is incomplete.
fn parse_head(buf: &[u8], limit: usize) -> Result<Option<(Head, usize)>, Failure> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Left uninitialised: the parser writes only the headers it finds, and a runtime sends four or five.
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let len =
        match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut response, buf, &mut headers) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Failure::Protocol),
        };
    let status = response.code.ok_or(Failure::Protocol)?;
    let mut length = None;
    let mut chunked = false;
    // HTTP/1.0 closes after each answer unless it says otherwise.
    let mut closes = response.version != Some(1);
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = parse_length(header.value).ok_or(Failure::Protocol)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(Failure::Protocol);
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only `chunked`, once: any other coding is not something a runtime sends.
            if chunked || !header.value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err(Failure::Protocol);
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                if token.eq_ignore_ascii_case(b"close") {
                    closes = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && response.version == Some(0) {
                    closes = false;
                }
            }
        }
    }
    let framing = match (status, length, chunked) {
        (204 | 304 | 100..=199, _, _) => Framing::Empty,
        // Both at once is how requests are smuggled past a proxy; a runtime never sends it.
        (_, Some(_), true) => return Err(Failure::Protocol),
        (_, Some(len), false) if len > limit as u64 => return Err(Failure::Protocol),
        (_, Some(len), false) => Framing::Length(len as usize),
        (_, None, true) => Framing::Chunked,
        (_, None, false) => Framing::UntilClose,
    };
    Ok(Some((Head { status, framing, closes }, len)))
}

/// A `Content-Length` value: decimal digits only.
fn parse_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

/// A chunked body, decoded, trailers read and dropped.
async fn chunked<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut, limit: usize) -> Result<Bytes, Failure> {
    let mut body = BytesMut::new();
    loop {
        let size_line = line(io, buf).await?;
        // A chunk extension after `;` carries nothing a runtime uses.
        let size = size_line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
        let size = parse_hex(size).ok_or(Failure::Protocol)?;
        if size == 0 {
            while !line(io, buf).await?.is_empty() {}
            return Ok(body.freeze());
        }
        if size > (limit - body.len()) as u64 {
            return Err(Failure::Protocol);
        }
        let size = size as usize;
        while buf.len() < size + 2 {
            fill(io, buf).await?;
        }
        if &buf[size..size + 2] != b"\r\n" {
            return Err(Failure::Protocol);
        }
        body.extend_from_slice(&buf[..size]);
        buf.advance(size + 2);
    }
}

/// A chunk size: hexadecimal digits that fit.
fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| Some(n * 16 + u64::from((b as char).to_digit(16)?)))
}

/// The next line of `buf` without its CRLF, read from `io` as needed.
async fn line<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut) -> Result<Bytes, Failure> {
    loop {
        if let Some(end) = memchr::memmem::find(buf, b"\r\n") {
            let line = buf.split_to(end).freeze();
            buf.advance(2);
            return Ok(line);
        }
        if buf.len() > MAX_LINE {
            return Err(Failure::Protocol);
        }
        fill(io, buf).await?;
    }
}

/// Reads more of the answer; the connection closing first is a failure.
async fn fill<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut) -> Result<(), Failure> {
    match read_some(io, buf).await? {
        0 => Err(CLOSED_EARLY),
        _ => Ok(()),
    }
}

/// Reads what has arrived, 0 at the end of the stream.
async fn read_some<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut) -> Result<usize, Failure> {
    buf.reserve(READ_CHUNK);
    io.read_buf(buf).await.map_err(|e| classify::io(&e))
}

#[cfg(test)]
mod tests;
