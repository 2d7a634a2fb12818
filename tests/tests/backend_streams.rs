//! Event streams over a real WebSocket: frames arrive in order, and a runtime leaving the registry (or the
//! backend shutting down) ends its streams with a typed `closed` frame rather than silence.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{CloseReason, EventBody, InputRequest, RuntimeId, RuntimeSource, StreamFrame};
use runtime_core::{MemoryStore, ProfileSet, RuntimeConfig};
use tests::browser::BrowserClient;
use tests::harness::{embedded, eventually, serve_backend};

async fn next(stream: &mut runtime_api::FrameStream) -> StreamFrame {
    tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("a frame in time").expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_stream_carries_a_turn_and_closes_when_its_runtime_is_removed() {
    let config = RuntimeConfig::new(RuntimeId::parse("side").unwrap(), "Side runtime");
    let profiles =
        ProfileSet::from_toml("[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 0\n").unwrap();
    let side = embedded(config, profiles, Arc::new(MemoryStore::new())).await;
    let served = serve_backend(|builder| builder.source(side)).await;
    let client = BrowserClient::connect(&served.base, "side").await;
    let worker = client.create(Default::default()).await.unwrap().summary.worker_id;

    let mut stream = client.subscribe(Default::default()).await.unwrap();
    assert!(matches!(next(&mut stream).await, StreamFrame::Snapshot(_)));
    client.input(&worker, InputRequest::user("over the wire")).await.unwrap();
    let mut text = String::new();
    let mut last_seq = 0;
    loop {
        let StreamFrame::Event { event } = next(&mut stream).await else { continue };
        assert!(event.seq > last_seq, "in order");
        last_seq = event.seq;
        match event.body {
            EventBody::TurnDelta { delta, .. } => text.push_str(&delta),
            EventBody::TurnCompleted { .. } => break,
            _ => {}
        }
    }
    assert_eq!(text, "[echo] over the wire");

    served.registry.remove(&RuntimeId::parse("side").unwrap()).unwrap();
    match next(&mut stream).await {
        StreamFrame::Closed { reason, .. } => assert_eq!(reason, CloseReason::SourceRemoved),
        other => panic!("expected closed, got {other:?}"),
    }
    let end = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap();
    assert!(end.is_none(), "the socket closes after the closed frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_the_backend_down_closes_open_streams_with_shutdown() {
    let served = serve_backend(|builder| builder).await;
    let client = BrowserClient::connect(&served.base, "backend-internal").await;
    let mut stream = client.subscribe(Default::default()).await.unwrap();
    assert!(matches!(next(&mut stream).await, StreamFrame::Snapshot(_)));
    drop(served);
    match next(&mut stream).await {
        StreamFrame::Closed { reason, .. } => assert_eq!(reason, CloseReason::Shutdown),
        other => panic!("expected closed, got {other:?}"),
    }
}

/// Opens an event stream of runtime `side` from the loopback address `client`, so one test can be several
/// clients; answers the stream, or the refusal's status, `Retry-After` and error code.
async fn stream_from(
    base: &str,
    client: std::net::Ipv4Addr,
) -> Result<impl Sized, (u16, Option<String>, Option<String>)> {
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((client, 0).into()).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let url = format!("ws://{addr}/api/runtimes/side/events");
    match tokio_tungstenite::client_async(url, tcp).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let body: serde_json::Value = serde_json::from_slice(response.body().as_deref().unwrap_or(b"{}")).unwrap();
            let code = body["error"]["code"].as_str().map(str::to_owned);
            Err((response.status().as_u16(), retry, code))
        }
        Err(other) => panic!("the handshake failed another way: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_per_client_and_in_all_with_typed_refusals() {
    let config = RuntimeConfig::new(RuntimeId::parse("side").unwrap(), "Side runtime");
    let profiles = ProfileSet::from_toml("[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\n").unwrap();
    let side = embedded(config, profiles, Arc::new(MemoryStore::new())).await;
    let toml = "[server]\nmax_event_streams = 3\nmax_event_streams_per_client = 2\n";
    let served = tests::harness::serve_backend_with(toml, |builder| builder.source(side)).await;
    let [first, second, third] = [1, 2, 3].map(|n| std::net::Ipv4Addr::new(127, 0, 0, n));
    let too_many = Some((429, Some("5".to_owned()), Some("too_many_streams".to_owned())));

    let a1 = stream_from(&served.base, first).await.expect("first stream of a client");
    let _a2 = stream_from(&served.base, first).await.expect("second stream of a client");
    assert_eq!(stream_from(&served.base, first).await.err(), too_many.clone(), "a third from one client");
    let _b1 = stream_from(&served.base, second).await.expect("another client is still let in");
    assert_eq!(stream_from(&served.base, third).await.err(), too_many, "a fourth in all");

    // Closing a stream frees its place, for its client and in all.
    drop(a1);
    eventually("a closed stream's place to free up", || async {
        stream_from(&served.base, first).await.ok().map(|_| ())
    })
    .await;
}
