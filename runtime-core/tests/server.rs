//! The worker-runtime HTTP server: the cap on open event streams (over a real socket), and the
//! `Idempotency-Key` header on commands.
#![cfg(feature = "http-server")]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use futures::StreamExt;
use runtime_api::{ErrorCode, ErrorEnvelope, InputAck, Role, TranscriptPage, WorkerDetail, WorkerPage};
use runtime_core::Runtime;
use runtime_core::server::router_with;
use support::{ScriptedExecutor, TestStore, WAIT, config, start};
use tokio_tungstenite::tungstenite;
use tower::ServiceExt;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn runtime() -> (Runtime, Arc<ScriptedExecutor>) {
    let executor = Arc::new(ScriptedExecutor::default());
    (start(config(), &executor, TestStore::new()).await, executor)
}

/// Serves `runtime` on a free loopback port.
async fn serve(runtime: Runtime, max_event_streams: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router_with(runtime, None, max_event_streams);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Opens an event stream and reads its snapshot frame, so the stream is known to be open.
async fn open_stream(addr: SocketAddr) -> Result<Socket, tungstenite::Error> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/events")).await?;
    let first = tokio::time::timeout(WAIT, socket.next()).await.expect("a frame in time").unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("snapshot"), "{first:?}");
    Ok(socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_over_the_cap_is_refused_429_until_one_closes() {
    let (runtime, _) = runtime().await;
    let addr = serve(runtime.clone(), 2).await;
    let mut first = open_stream(addr).await.unwrap();
    let _second = open_stream(addr).await.unwrap();

    let Err(tungstenite::Error::Http(refused)) = open_stream(addr).await else { panic!("the third stream opened") };
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = refused.headers().get(header::RETRY_AFTER).expect("a Retry-After header");
    assert!(retry_after.to_str().unwrap().parse::<u32>().unwrap() >= 1, "{retry_after:?}");
    let body: ErrorEnvelope = serde_json::from_slice(refused.body().as_deref().unwrap()).unwrap();
    assert_eq!((body.error.code, body.error.code.retryable()), (ErrorCode::TooManyStreams, true));
    assert_eq!(runtime.subscribers(), 2, "a refused stream subscribes to nothing");

    first.close(None).await.unwrap();
    drop(first);
    // The server frees the place once it sees the close, which takes a moment.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match open_stream(addr).await {
            Ok(_third) => break,
            Err(tungstenite::Error::Http(response)) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                assert!(tokio::time::Instant::now() < deadline, "a closed stream never freed its place");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(other) => panic!("{other}"),
        }
    }
}

async fn send(app: &Router, uri: &str, key: Option<HeaderValue>, body: &str) -> (StatusCode, Vec<u8>) {
    let mut request =
        Request::post(uri).header(header::HOST, "localhost").header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    (status, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
}

async fn get<T: serde::de::DeserializeOwned>(app: &Router, uri: &str) -> T {
    let request = Request::get(uri).header(header::HOST, "localhost").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    serde_json::from_slice(&axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()).unwrap()
}

fn refusal(body: &[u8]) -> (ErrorCode, Option<String>) {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).unwrap();
    (envelope.error.code, envelope.error.field)
}

#[tokio::test]
async fn the_idempotency_key_header_makes_a_repeated_post_answer_once() {
    let (runtime, executor) = runtime().await;
    let app = router_with(runtime, None, 4);
    let key = || Some(HeaderValue::from_static("create-once"));
    let (status, first) = send(&app, "/v1/workers", key(), r#"{"profile":"scripted"}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, again) = send(&app, "/v1/workers", key(), r#"{"profile":"scripted"}"#).await;
    assert_eq!((status, &again), (StatusCode::CREATED, &first));
    let page: WorkerPage = get(&app, "/v1/workers").await;
    assert_eq!(page.workers.len(), 1);
    let worker = serde_json::from_slice::<WorkerDetail>(&first).unwrap().summary.worker_id;

    let input = format!("/v1/workers/{worker}/input");
    let key = || Some(HeaderValue::from_static("input-once"));
    let (status, first) = send(&app, &input, key(), r#"{"content":"hello"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    executor.running(&worker, 1).await;
    // The worker is busy now: only a remembered ack can answer 202.
    let (status, again) = send(&app, &input, key(), r#"{"content":"hello"}"#).await;
    assert_eq!((status, &again), (StatusCode::ACCEPTED, &first));
    serde_json::from_slice::<InputAck>(&again).unwrap();
    let transcript: TranscriptPage = get(&app, &format!("/v1/workers/{worker}/transcript")).await;
    assert_eq!(transcript.entries.iter().filter(|e| e.role == Role::User).count(), 1);

    let (status, body) = send(&app, &input, key(), r#"{"content":"something else"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refusal(&body), (ErrorCode::InvalidRequest, Some("Idempotency-Key".into())));
}

#[tokio::test]
async fn an_invalid_idempotency_key_is_refused_before_anything_runs() {
    let (runtime, _) = runtime().await;
    let app = router_with(runtime.clone(), None, 4);
    let worker = runtime.create(Default::default()).await.unwrap().summary.worker_id;
    let input = format!("/v1/workers/{worker}/input");
    let bad = [
        HeaderValue::from_static(""),
        HeaderValue::from_str(&"k".repeat(200)).unwrap(),
        HeaderValue::from_bytes("clé".as_bytes()).unwrap(),
        HeaderValue::from_static("has space"),
    ];
    for key in bad {
        let shown = format!("{key:?}");
        for (uri, body) in [("/v1/workers", "{}"), (input.as_str(), r#"{"content":"hi"}"#)] {
            let (status, body) = send(&app, uri, Some(key.clone()), body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{shown} on {uri}");
            assert_eq!(refusal(&body), (ErrorCode::InvalidRequest, Some("Idempotency-Key".into())), "{shown}");
        }
    }
    assert_eq!(runtime.summary().workers.total, 1, "no worker was created");
    assert_eq!(runtime.get(&worker).await.unwrap().summary.transcript_len, 0, "no input was accepted");
}
