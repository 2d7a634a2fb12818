//! On deterministic time: a remote event stream whose connection stalls is taken for dead once the runtime's
//! heartbeats stop, and resumes from its last seq within two heartbeat intervals of the stall.
//!
//! Everything runs on one paused current-thread runtime — the `worker-runtime` server, the fault proxy and
//! the remote source — so the clock moves only when every task waits, and the figure does not depend on how
//! busy the machine is.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{
    EventBody, FrameStream, InputRequest, RuntimeId, RuntimeSource, StreamFrame, SubscribeRequest, WhenBusy,
};
use runtime_core::{MemoryStore, ProfileSet, Runtime, RuntimeConfig, server};
use sources::EmbeddedSource;
use sources::remote_http::{RemoteHttpSource, RemoteOptions, RemoteTimeouts};
use tests::fault_proxy::FaultProxy;
use tokio::time::Instant;

const HEARTBEAT: Duration = Duration::from_secs(2);

/// Reads frames until a turn completes; returns the durable seqs seen and when the first event arrived.
async fn until_turn_completed(stream: &mut FrameStream, seqs: &mut Vec<u64>) -> Instant {
    let mut first = None;
    loop {
        let frame = tokio::time::timeout(HEARTBEAT * 10, stream.next())
            .await
            .expect("an event within ten heartbeat intervals")
            .expect("the stream stays open");
        match frame {
            StreamFrame::Event { event } => {
                first.get_or_insert_with(Instant::now);
                if event.is_durable() {
                    seqs.push(event.seq);
                }
                if matches!(event.body, EventBody::TurnCompleted { .. }) {
                    return first.expect("set above");
                }
            }
            StreamFrame::Closed { reason, message, .. } => panic!("the stream closed: {reason:?}: {message}"),
            _ => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_stalled_stream_resumes_within_two_heartbeat_intervals_without_gap_or_repeat() {
    let mut config = RuntimeConfig::new(RuntimeId::parse("paused").unwrap(), "Paused");
    config.heartbeat_interval = HEARTBEAT;
    let profiles =
        ProfileSet::from_toml("[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 0\n").unwrap();
    let runtime = Runtime::start(config, profiles, Arc::new(MemoryStore::new())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, server::router_with(runtime.clone(), None, 64)).into_future());
    let proxy = FaultProxy::start(upstream).await;
    let remote = RemoteHttpSource::new(RemoteOptions {
        runtime_id: RuntimeId::parse("paused").unwrap(),
        display_name: "Paused".into(),
        endpoint: format!("http://{}", proxy.addr()).parse().unwrap(),
        token_ref: None,
        ca_file: None,
        timeouts: RemoteTimeouts::default(),
    })
    .unwrap();
    // The same runtime, reached past the proxy, to make events happen while the remote's link is stalled.
    let direct = EmbeddedSource::new(runtime);

    let worker = remote.create(Default::default()).await.unwrap().summary.worker_id;
    let mut stream = remote.subscribe(SubscribeRequest::default()).await.unwrap();
    let Some(StreamFrame::Snapshot(snapshot)) = stream.next().await else { panic!("a snapshot first") };
    let mut seqs = Vec::new();
    remote.input(&worker, InputRequest::user("before")).await.unwrap();
    until_turn_completed(&mut stream, &mut seqs).await;

    let connections = proxy.connections();
    proxy.stall();
    let stalled = Instant::now();
    direct.input(&worker, InputRequest::user("during").when_busy(WhenBusy::Queue)).await.unwrap();
    let resumed = until_turn_completed(&mut stream, &mut seqs).await;

    let waited = resumed - stalled;
    assert!(waited <= HEARTBEAT * 2, "resumed {waited:?} after the stall, more than two heartbeat intervals");
    assert!(proxy.connections() > connections, "the events came over a new connection");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeat: {seqs:?}");
    let mut log = direct.subscribe(SubscribeRequest { after: Some(snapshot.seq), worker_id: None }).await.unwrap();
    let mut durable = BTreeSet::new();
    while durable.last() != seqs.last() {
        if let Some(StreamFrame::Event { event }) = log.next().await
            && event.is_durable()
        {
            durable.insert(event.seq);
        }
    }
    assert_eq!(durable, seqs.iter().copied().collect(), "every durable event arrived once");
}
