//! Event streams over a real WebSocket: frames arrive in order, and a runtime leaving the registry (or the
//! backend shutting down) ends its streams with a typed `closed` frame rather than silence.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{CloseReason, EventBody, InputRequest, RuntimeId, RuntimeSource, StreamFrame};
use runtime_core::{MemoryStore, ProfileSet, RuntimeConfig};
use tests::browser::BrowserClient;
use tests::harness::{embedded, serve_backend};

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
