use super::*;

fn plain(bytes: &[u8]) -> Plain {
    match read(bytes) {
        Head::Plain(plain) => plain,
        other => panic!("not plain: {other:?} for {:?}", String::from_utf8_lossy(bytes)),
    }
}

fn is_other(bytes: &[u8]) -> bool {
    matches!(read(bytes), Head::Other)
}

#[test]
fn a_plain_request_reads_as_hyper_would_hand_it_over() {
    let text = b"POST /api/x?y=1 HTTP/1.1\r\nHost: localhost\r\nX-Two: a\r\nx-two: b\r\nContent-Length: 4\r\n\r\nbody";
    let head = plain(text);
    assert_eq!(head.len(), text.len());
    assert!(!head.close);
    let request = head.request(Bytes::from_static(text)).unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri(), "/api/x?y=1");
    assert_eq!(request.version(), Version::HTTP_11);
    assert_eq!(request.headers()["host"], "localhost");
    let twos: Vec<_> = request.headers().get_all("x-two").iter().collect();
    assert_eq!(twos, ["a", "b"]);
    assert_eq!(request.headers()["content-length"], "4");
}

#[test]
fn a_head_in_pieces_is_partial_and_a_body_still_coming_is_unfinished() {
    assert!(matches!(read(b""), Head::Partial));
    assert!(matches!(read(b"GET / HTTP/1.1\r\nHost: lo"), Head::Partial));
    let started = b"POST / HTTP/1.1\r\ncontent-length: 5\r\n\r\nab";
    let Head::Unfinished(head) = read(started) else { panic!("a body still to come") };
    assert_eq!(head.len(), started.len() + 3);
    // What follows a complete request is the next one's, not this one's.
    let pipelined = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    assert_eq!(plain(pipelined).len(), pipelined.len() / 2);
}

#[test]
fn connection_close_is_honoured_and_keep_alive_allowed() {
    assert!(plain(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").close);
    assert!(plain(b"GET / HTTP/1.1\r\nconnection: keep-alive, Close\r\n\r\n").close);
    assert!(!plain(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n").close);
}

#[test]
fn anything_whose_framing_needs_interpreting_is_hypers() {
    for text in [
        // Bodies: streamed, chunked, ambiguous, signed or too large.
        &b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\nabc",
        b"POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\ncontent-length: 3, 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\ncontent-length: +3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\ncontent-length: 99999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\ncontent-length: 70000\r\n\r\n",
        b"POST / HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 3\r\n\r\n",
        // Upgrades and other connection options.
        b"GET /ws HTTP/1.1\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
        b"GET / HTTP/1.1\r\nupgrade: h2c\r\n\r\n",
        b"GET / HTTP/1.1\r\nconnection: te\r\n\r\n",
        // Versions, methods and targets the loop leaves alone.
        b"GET / HTTP/1.0\r\n\r\n",
        b"HEAD / HTTP/1.1\r\n\r\n",
        b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
        b"BREW / HTTP/1.1\r\n\r\n",
        b"GET http://example.com/ HTTP/1.1\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        // Malformed: hyper gives its own answer.
        b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nName : value\r\n\r\n",
    ] {
        assert!(is_other(text), "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn heads_over_the_loops_bounds_are_hypers() {
    let mut long = b"GET / HTTP/1.1\r\nx-long: ".to_vec();
    long.resize(MAX_HEAD + 1, b'a');
    assert!(is_other(&long), "an unfinished head over the limit");
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for n in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("x-{n}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(is_other(&many), "more headers than the loop has room for");
}

#[test]
fn a_body_comes_with_the_request_only_when_there_is_one() {
    let text = b"GET / HTTP/1.1\r\ncontent-length: 0\r\n\r\n";
    let request = plain(text).request(Bytes::from_static(text)).unwrap();
    assert!(axum::body::HttpBody::is_end_stream(request.body()));
}
