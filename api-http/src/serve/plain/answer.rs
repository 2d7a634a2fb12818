//! Writing an answer's head as hyper would: the status line, the application's headers, a `Date`, and the
//! framing, which is the loop's own (a length when the body's size is known, chunks when it is not).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::response::Parts;
use axum::http::{HeaderValue, StatusCode, header};

/// How an answer's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body may follow (`204`, `304`).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding, for a body of unknown size.
    Chunked,
}

impl Framing {
    /// The framing for an answer with `status` whose body's size is `exact`, if known.
    pub(super) fn of(status: StatusCode, exact: Option<u64>) -> Self {
        match (status, exact) {
            (StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED, _) => Framing::None,
            (_, Some(length)) => Framing::Length(length),
            (_, None) => Framing::Chunked,
        }
    }
}

/// Appends the head of an answer to `out`; `close` adds `connection: close` unless the application said so.
/// Returns whether the connection is to close after the answer: `close`, or the application asked.
pub(super) fn head(out: &mut Vec<u8>, parts: &Parts, framing: Framing, close: bool) -> bool {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut dated = false;
    let mut closing = false;
    let mut asked = false;
    for (name, value) in &parts.headers {
        // The framing is the loop's to state; an application's own would contradict it.
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        dated |= name == header::DATE;
        if name == header::CONNECTION {
            closing = true;
            asked |= closes(value);
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close && !closing {
        out.extend_from_slice(b"connection: close\r\n");
    }
    if !dated {
        out.extend_from_slice(b"date: ");
        now(out);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::None => {}
        Framing::Length(length) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    close || asked
}

/// Whether a `Connection` header's options include `close`.
fn closes(value: &HeaderValue) -> bool {
    value.as_bytes().split(|&b| b == b',').any(|option| option.trim_ascii().eq_ignore_ascii_case(b"close"))
}

thread_local! {
    /// The current second and its IMF-fixdate, formatted once a second per thread.
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Appends the current time as an HTTP date.
fn now(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    DATE.with_borrow_mut(|(cached, text)| {
        if *cached != second {
            *cached = second;
            *text = httpdate::fmt_http_date(now);
        }
        out.extend_from_slice(text.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use axum::http::Response;

    use super::*;

    fn parts(status: StatusCode, headers: &[(&'static str, &'static str)]) -> Parts {
        let mut response = Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, HeaderValue::from_static(value));
        }
        response.body(()).unwrap().into_parts().0
    }

    fn written(parts: &Parts, framing: Framing, close: bool) -> String {
        let mut out = Vec::new();
        head(&mut out, parts, framing, close);
        String::from_utf8(out).unwrap()
    }

    fn closes_after(parts: &Parts, close: bool) -> bool {
        head(&mut Vec::new(), parts, Framing::Length(0), close)
    }

    #[test]
    fn the_loop_states_the_framing_and_the_application_the_rest() {
        let answer = parts(StatusCode::OK, &[("content-type", "application/json"), ("content-length", "999")]);
        let text = written(&answer, Framing::Length(1234), false);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ndate: "), "{text}");
        assert!(text.ends_with(" GMT\r\ncontent-length: 1234\r\n\r\n"), "{text}");
        assert!(!text.contains("999") && !text.contains("connection"), "{text}");

        let streamed = parts(StatusCode::OK, &[("transfer-encoding", "gzip")]);
        let text = written(&streamed, Framing::Chunked, true);
        assert!(text.contains("\r\nconnection: close\r\n") && text.ends_with("transfer-encoding: chunked\r\n\r\n"));
        assert!(!text.contains("gzip"), "{text}");
    }

    #[test]
    fn answers_without_a_body_state_no_length() {
        assert_eq!(Framing::of(StatusCode::NO_CONTENT, Some(0)), Framing::None);
        assert_eq!(Framing::of(StatusCode::NOT_MODIFIED, None), Framing::None);
        assert_eq!(Framing::of(StatusCode::ACCEPTED, Some(0)), Framing::Length(0));
        assert_eq!(Framing::of(StatusCode::OK, None), Framing::Chunked);
        let text = written(&parts(StatusCode::NO_CONTENT, &[]), Framing::None, false);
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\ndate: ") && !text.contains("content-length"), "{text}");
    }

    #[test]
    fn an_application_that_closes_is_not_told_twice() {
        let closing = parts(StatusCode::OK, &[("connection", "keep-alive, Close")]);
        assert!(closes_after(&closing, false));
        assert_eq!(written(&closing, Framing::Length(0), true).matches("connection").count(), 1);
        let staying = parts(StatusCode::OK, &[("connection", "keep-alive")]);
        assert!(!closes_after(&staying, false) && closes_after(&staying, true));
    }

    #[test]
    fn lengths_are_written_in_decimal() {
        for n in [0, 7, 10, 1234, u64::MAX] {
            let head = written(&parts(StatusCode::OK, &[]), Framing::Length(n), false);
            assert!(head.contains(&format!("content-length: {n}\r\n")), "{head}");
        }
    }
}
