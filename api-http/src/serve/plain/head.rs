//! Reading a request head, and deciding whether the plain loop may serve it: an HTTP/1.1 request whose
//! framing leaves nothing to interpret — no transfer coding, no upgrade, no `Expect`, at most one plain
//! `Content-Length` — with its whole body already read. Whatever else arrives is hyper's to judge.

use std::mem::MaybeUninit;
use std::ops::Range;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};

/// Most headers a plain request may carry; a Browser sends fifteen or so.
pub(super) const MAX_HEADERS: usize = 64;

/// Longest head the loop waits for; a longer one goes to hyper, which has its own limit.
pub(super) const MAX_HEAD: usize = 16 * 1024;

/// Longest body the loop takes in hand; a longer one is streamed by hyper.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// What the bytes read so far hold.
#[derive(Debug)]
pub(super) enum Head {
    /// A request the loop serves.
    Plain(Plain),
    /// The start of one that may be plain: read more.
    Partial,
    /// A plain head whose body has not all arrived: the request is served with the body streamed to it as
    /// it comes, so the application's body deadline bounds it as it would under hyper.
    Unfinished(Plain),
    /// Anything else, malformed or merely unusual: for hyper.
    Other,
}

/// A plain request's head, as ranges of the bytes it was read from.
#[derive(Debug)]
pub(super) struct Plain {
    method: Method,
    target: Span,
    /// Each header's name and value; `u16` offsets keep this small, as a head is at most [`MAX_HEAD`] long.
    headers: [(Span, Span); MAX_HEADERS],
    count: usize,
    head_len: usize,
    body_len: usize,
    /// The client asked for the connection to close after the answer.
    pub(super) close: bool,
}

impl Plain {
    /// Bytes the head and its body take, from the start of the buffer.
    pub(super) fn len(&self) -> usize {
        self.head_len + self.body_len
    }

    /// The request, from `bytes`: the buffer this head was read from, cut to [`Plain::len`] (or shorter, for
    /// a body still to come, whose start is the body here). `None` when a name or value is one the `http`
    /// types refuse (the request then goes to hyper).
    pub(super) fn request(&self, bytes: Bytes) -> Option<Request> {
        let uri = Uri::from_maybe_shared(bytes.slice(self.target.range())).ok()?;
        // Room for the request id the backend adds.
        let mut headers = HeaderMap::with_capacity(self.count + 1);
        for (name, value) in &self.headers[..self.count] {
            let name = HeaderName::from_bytes(&bytes[name.range()]).ok()?;
            let value = HeaderValue::from_maybe_shared(bytes.slice(value.range())).ok()?;
            headers.append(name, value);
        }
        let body = match self.body_len {
            0 => Body::empty(),
            _ => Body::from(bytes.slice(self.head_len..)),
        };
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = headers;
        Some(request)
    }
}

/// Where a part of the head lies in it.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u16,
    end: u16,
}

impl Span {
    fn range(self) -> Range<usize> {
        usize::from(self.start)..usize::from(self.end)
    }
}

/// Reads `buf` as the start of a request.
pub(super) fn read(buf: &[u8]) -> Head {
    let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    let head_len =
        match httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut parsed, buf, &mut slots) {
            Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Head::Partial,
            _ => return Head::Other,
        };
    let (Some(method), Some(target), Some(1)) = (parsed.method, parsed.path, parsed.version) else {
        return Head::Other;
    };
    let method = match method {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        "PATCH" => Method::PATCH,
        "OPTIONS" => Method::OPTIONS,
        // HEAD answers without their body, CONNECT and extension methods: hyper's.
        _ => return Head::Other,
    };
    // Origin form only; absolute form and `*` are hyper's.
    if !target.starts_with('/') {
        return Head::Other;
    }
    let offset = |part: &[u8]| {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        // Within the head, so below `MAX_HEAD`.
        Span { start: start as u16, end: (start + part.len()) as u16 }
    };
    let mut plain = Plain {
        method,
        target: offset(target.as_bytes()),
        headers: [(Span::default(), Span::default()); MAX_HEADERS],
        count: parsed.headers.len(),
        head_len,
        body_len: 0,
        close: false,
    };
    let mut length = None;
    for (slot, header) in plain.headers.iter_mut().zip(parsed.headers.iter()) {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            if length.is_some() {
                return Head::Other;
            }
            match decimal(header.value) {
                Some(len) if len <= MAX_BODY => length = Some(len),
                _ => return Head::Other,
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            match connection(header.value) {
                Some(close) => plain.close |= close,
                None => return Head::Other,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"upgrade")
            || name.eq_ignore_ascii_case(b"expect")
        {
            return Head::Other;
        }
        *slot = (offset(name), offset(header.value));
    }
    plain.body_len = length.unwrap_or(0);
    match buf.len() >= plain.len() {
        true => Head::Plain(plain),
        false => Head::Unfinished(plain),
    }
}

/// A `Content-Length` of digits only (no sign, no space, no list).
fn decimal(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0, |n, digit| n * 10 + usize::from(digit - b'0')))
}

/// Whether a `Connection` header asks to close; `None` for any option other than `close` and `keep-alive`
/// (an upgrade, or hop-by-hop headers named), which hyper interprets.
fn connection(value: &[u8]) -> Option<bool> {
    let mut close = false;
    for option in value.split(|&b| b == b',') {
        let option = option.trim_ascii();
        if option.eq_ignore_ascii_case(b"close") {
            close = true;
        } else if !option.eq_ignore_ascii_case(b"keep-alive") {
            return None;
        }
    }
    Some(close)
}

#[cfg(test)]
mod tests;
