//! The backend answers a worker's detail and input without its router (the direct lane) exactly as the
//! router does: the same status, body and headers, the same errors and the same metric label. A path with a
//! percent-encoded id is left to the router, which decodes it to the same ids, so the two answers can be
//! compared request for request.

use std::time::{Duration, Instant};

use backend::stack::{Deadlines, StackSettings};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use tests::fault_proxy::{Fault, FaultProxy};
use tests::harness::{RuntimeProcess, ServedBackend, serve_backend, serve_backend_with};

/// What an answer says, apart from what differs per request (its id and date).
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

async fn answer(http: &reqwest::Client, url: &str) -> Answer {
    read(http.get(url).send().await.unwrap()).await
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = kept(response.headers());
    assert!(response.headers().contains_key("x-request-id"), "{} has a request id", response.url());
    Answer { status, headers, body: response.text().await.unwrap() }
}

/// A backend with its embedded runtime, a client, the runtime's API prefix and a worker on it.
async fn backend_with_worker() -> (ServedBackend, reqwest::Client, String, String) {
    let served = serve_backend(|builder| builder).await;
    let http = reqwest::Client::new();
    let runtime = format!("{}/api/runtimes/backend-internal", served.base);
    let created: serde_json::Value =
        http.post(format!("{runtime}/workers")).send().await.unwrap().json().await.unwrap();
    let worker = created["worker_id"].as_str().unwrap().to_owned();
    (served, http, runtime, worker)
}

fn kept(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept: Vec<_> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    kept.sort();
    kept
}

#[tokio::test]
async fn the_direct_lane_answers_as_the_router_does() {
    let (served, http, runtime, worker) = backend_with_worker().await;
    // `%2D` is `-`: the router decodes it, the lane leaves such a path to the router.
    let routed_worker = worker.replacen('-', "%2D", 1);

    let cases = [
        (format!("{runtime}/workers/{worker}"), format!("{runtime}/workers/{routed_worker}"), 200),
        (format!("{runtime}/workers/w-nobody"), format!("{runtime}/workers/w%2Dnobody"), 404),
        (
            format!("{}/api/runtimes/nowhere/workers/{worker}", served.base),
            format!("{}/api/runtimes/nowher%65/workers/{worker}", served.base),
            404,
        ),
        (format!("{runtime}/workers/{worker}?any=query"), format!("{runtime}/workers/{routed_worker}?any=query"), 200),
    ];
    for (direct, routed, status) in &cases {
        let (direct_answer, routed_answer) = (answer(&http, direct).await, answer(&http, routed).await);
        assert_eq!(direct_answer.status, *status, "{direct}: {}", direct_answer.body);
        assert_eq!(direct_answer, routed_answer, "{direct} against {routed}");
    }
    let detail: serde_json::Value = serde_json::from_str(&answer(&http, &cases[0].0).await.body).unwrap();
    assert_eq!(
        (detail["worker_id"].as_str(), detail["runtime_id"].as_str()),
        (Some(&*worker), Some("backend-internal"))
    );

    // Each answer, whichever way it went, is counted under the detail route.
    let metrics = http.get(format!("{}/metrics", served.base)).send().await.unwrap().text().await.unwrap();
    let counted = |status: u16| {
        format!(
            r#"yoi_backend_http_requests_total{{method="GET",route="/api/runtimes/{{runtime_id}}/workers/{{worker_id}}",status="{status}"}} "#
        )
    };
    let count = |status: u16| -> u64 {
        let line =
            metrics.lines().find(|line| line.starts_with(&counted(status))).unwrap_or_else(|| panic!("{metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!((count(200), count(404)), (5, 4));

    // A HEAD is the router's, which answers it as a GET without the body.
    let head = http.head(&cases[0].0).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers().get(CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(head.headers().get(CACHE_CONTROL).unwrap(), "no-store");
}

/// Status, kept headers and body of an input sent with `content_type`, `key` and `body`.
async fn send_input(
    http: &reqwest::Client,
    url: &str,
    content_type: Option<&str>,
    key: Option<&str>,
    body: String,
) -> Answer {
    let mut request = http.post(url).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn the_direct_lane_takes_input_as_the_router_does() {
    let (served, http, runtime, worker) = backend_with_worker().await;
    let direct = format!("{runtime}/workers/{worker}/input");
    let routed = format!("{runtime}/workers/{}/input", worker.replacen('-', "%2D", 1));

    let json = Some("application/json");
    let refused = [
        (json, None, String::new()),
        (json, None, "[]".to_owned()),
        (json, None, r#"{"content": 7}"#.to_owned()),
        (json, None, r#"{"content":"hi""#.to_owned()),
        (Some("text/plain"), None, r#"{"content":"hi"}"#.to_owned()),
        (None, None, r#"{"content":"hi"}"#.to_owned()),
        (json, Some("a key with spaces"), r#"{"content":"hi"}"#.to_owned()),
        (json, None, format!(r#"{{"content":"{}"}}"#, "x".repeat(2 * 1024 * 1024))),
    ];
    for (content_type, key, body) in refused {
        let what = format!("{content_type:?} {key:?} {:.40}", body);
        let one = send_input(&http, &direct, content_type, key, body.clone()).await;
        let other = send_input(&http, &routed, content_type, key, body).await;
        assert!((400..500).contains(&one.status), "{what}: {one:?}");
        assert_eq!(one, other, "{what}");
    }
    let nobody =
        send_input(&http, &format!("{runtime}/workers/w-nobody/input"), json, None, r#"{"content":"hi"}"#.into()).await;
    let routed_nobody =
        send_input(&http, &format!("{runtime}/workers/w%2Dnobody/input"), json, None, r#"{"content":"hi"}"#.into())
            .await;
    assert_eq!((nobody.status, &nobody), (404, &routed_nobody));

    // Accepted both ways; a key sent twice gets the first ack, whichever way each went.
    let first = send_input(&http, &direct, json, Some("k-1"), r#"{"content":"one"}"#.into()).await;
    assert_eq!(first.status, 202, "{first:?}");
    let again = send_input(&http, &routed, json, Some("k-1"), r#"{"content":"one"}"#.into()).await;
    assert_eq!(first, again);
    let ack: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(ack["worker_id"].as_str(), Some(&*worker), "{ack}");

    let metrics = http.get(format!("{}/metrics", served.base)).send().await.unwrap().text().await.unwrap();
    let route = r#"route="/api/runtimes/{runtime_id}/workers/{worker_id}/input",status="202"} 2"#;
    assert!(metrics.lines().any(|line| line.contains(r#"method="POST""#) && line.ends_with(route)), "{metrics}");
}

/// A hung remote's detail, through the lane and through the router at once (before either failure makes the
/// health monitor open the circuit): both answers, each with how long it took.
async fn hung_detail(request_timeout_secs: u64, read: Duration) -> [(Answer, Duration); 2] {
    let runtime = RuntimeProcess::start(Vec::<String>::new());
    let proxy = FaultProxy::start(runtime.addr()).await;
    let toml = format!(
        "[server]\nrequest_timeout_secs = {request_timeout_secs}\n\
         [[runtimes.remote]]\nid = \"dev\"\nendpoint = \"http://{}\"\n",
        proxy.addr()
    );
    let settings = StackSettings {
        deadlines: Deadlines { read, command: read * 2, subscribe: read * 2 },
        ..StackSettings::default()
    };
    let served = serve_backend_with(&toml, |builder| builder.stack_settings(settings)).await;
    proxy.set(Fault::Blackhole).await;
    proxy.cut();
    let http = reqwest::Client::new();
    let timed = |url: String| {
        let http = http.clone();
        async move {
            let started = Instant::now();
            let answer = answer(&http, &url).await;
            (answer, started.elapsed())
        }
    };
    let runtime = format!("{}/api/runtimes/dev", served.base);
    let (direct, routed) =
        tokio::join!(timed(format!("{runtime}/workers/w-1")), timed(format!("{runtime}/workers/w%2D1")));
    [direct, routed]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_remotes_detail_ends_at_the_tighter_bound_either_way() {
    // The request backstop is the tighter: it ends the call, through the lane as through the router.
    let [(direct, took), (routed, _)] = hung_detail(1, Duration::from_secs(3)).await;
    assert_eq!(direct.status, 504, "{direct:?}");
    assert!(direct.body.contains("the request did not finish within 1s"), "{direct:?}");
    assert!(took < Duration::from_millis(2_500), "the backstop ended it: {took:?}");
    assert_eq!(direct, routed);

    // The read deadline is the tighter: the stack ends the call and says which runtime did not answer.
    let [(direct, took), (routed, _)] = hung_detail(5, Duration::from_millis(1_250)).await;
    assert_eq!(direct.status, 504, "{direct:?}");
    assert!(direct.body.contains("runtime dev did not answer"), "{direct:?}");
    assert!(took < Duration::from_secs(4), "the stack's deadline ended it: {took:?}");
    assert_eq!(direct, routed);
}

/// Status line and body of `body` posted to `path` in chunks, with no declared length, on a fresh connection.
async fn post_chunked(base: &str, path: &str, body: &[u8]) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(64 * 1024) {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
        // The server may answer and close before taking the whole body.
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

#[tokio::test]
async fn a_streamed_oversize_input_is_refused_through_the_lane_as_through_the_router() {
    let (served, _, runtime, worker) = backend_with_worker().await;
    let path = runtime.strip_prefix(&served.base).unwrap();
    // Over the backend's 256 KiB limit and under axum's own 2 MB default, so only the configured limit refuses it.
    let body = format!(r#"{{"content":"{}"}}"#, "x".repeat(1024 * 1024));
    let direct = post_chunked(&served.base, &format!("{path}/workers/{worker}/input"), body.as_bytes()).await;
    let routed_worker = worker.replacen('-', "%2D", 1);
    let routed = post_chunked(&served.base, &format!("{path}/workers/{routed_worker}/input"), body.as_bytes()).await;
    assert!(direct.0.starts_with("HTTP/1.1 413"), "{direct:?}");
    assert!(direct.1.contains("payload_too_large"), "{direct:?}");
    assert_eq!(direct, routed);
}
