//! The event log: publication after durability, lagging subscribers, store failure and shutdown.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use runtime_api::{
    CloseReason, CreateWorkerRequest, ErrorCode, EventBody, InputRequest, RuntimeStatus, StreamFrame, WorkerId,
};
use runtime_core::Runtime;
use support::{Durability, ScriptedExecutor, TestStore, WAIT, config, drain_ready, events, next, start, subscribe};

async fn echo_worker(runtime: &Runtime) -> WorkerId {
    let request = CreateWorkerRequest { profile: Some("fast".into()), ..Default::default() };
    runtime.create(request).await.unwrap().summary.worker_id
}

#[tokio::test]
async fn events_are_published_only_once_durable_and_acks_wait_for_it() {
    let store = TestStore::new();
    let runtime = start(config(), &Arc::new(ScriptedExecutor::default()), store.clone()).await;
    let worker = echo_worker(&runtime).await;
    let mut stream = subscribe(&runtime, None);
    assert!(matches!(next(&mut stream).await, StreamFrame::Snapshot(_)));

    store.set_mode(Durability::Gated);
    let input = tokio::spawn({
        let runtime = runtime.clone();
        let worker = worker.clone();
        async move { runtime.input(&worker, InputRequest::user("hold on")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!input.is_finished(), "no ack before the input is durable");
    assert!(drain_ready(&mut stream).await.is_empty(), "no event before it is durable");

    store.set_mode(Durability::Immediate);
    store.release();
    let ack = tokio::time::timeout(WAIT, input).await.unwrap().unwrap().unwrap();
    let first = match next(&mut stream).await {
        StreamFrame::Event { event } => event,
        other => panic!("expected the input's event, got {other:?}"),
    };
    assert_eq!(first.seq, ack.event_seq);
}

#[tokio::test]
async fn a_slow_subscriber_is_told_it_lagged_and_loses_no_durable_event() {
    let mut config = config();
    config.live_buffer = 4;
    let runtime = start(config, &Arc::new(ScriptedExecutor::default()), TestStore::new()).await;
    let worker = echo_worker(&runtime).await;
    let mut slow = subscribe(&runtime, None);
    let StreamFrame::Snapshot(snapshot) = next(&mut slow).await else { panic!("snapshot first") };

    // The runtime keeps going while the subscriber reads nothing.
    for _ in 0..10 {
        runtime
            .input(&worker, InputRequest::user("a b c d e f").when_busy(runtime_api::WhenBusy::Queue))
            .await
            .unwrap();
    }
    support::wait_for(&runtime, &worker, |d| d.summary.transcript_len == 20).await;

    let frames = drain_ready(&mut slow).await;
    let lagged = frames.iter().position(|f| matches!(f, StreamFrame::Lagged { .. })).expect("told it lagged");
    let StreamFrame::Lagged { missed, resume_after } = frames[lagged] else { unreachable!() };
    assert!(missed > 0);
    let received: Vec<u64> = events(&frames).iter().filter(|e| e.is_durable()).map(|e| e.seq).collect();
    assert!(received.windows(2).all(|w| w[0] < w[1]), "in order, no duplicates: {received:?}");

    // A reader that never lagged: every durable event since the snapshot.
    let mut reference = subscribe(&runtime, Some(snapshot.seq));
    let all: Vec<u64> = events(&drain_ready(&mut reference).await).iter().map(|e| e.seq).collect();
    assert_eq!(received, all, "every durable event arrives despite the lag (resumed after {resume_after})");
}

#[tokio::test]
async fn a_subscriber_too_far_behind_for_retention_is_closed_with_cursor_expired() {
    let mut config = config();
    config.live_buffer = 2;
    config.event_retention = 3;
    let runtime = start(config, &Arc::new(ScriptedExecutor::default()), TestStore::new()).await;
    let worker = echo_worker(&runtime).await;
    let mut slow = subscribe(&runtime, None);
    assert!(matches!(next(&mut slow).await, StreamFrame::Snapshot(_)));
    for _ in 0..5 {
        runtime.input(&worker, InputRequest::user("x y z").when_busy(runtime_api::WhenBusy::Queue)).await.unwrap();
    }
    support::wait_for(&runtime, &worker, |d| d.summary.transcript_len == 10).await;
    let frames = drain_ready(&mut slow).await;
    assert!(matches!(frames.first(), Some(StreamFrame::Lagged { .. })), "{frames:?}");
    match frames.last() {
        Some(StreamFrame::Closed { reason: CloseReason::CursorExpired, earliest_seq: Some(_), .. }) => {}
        other => panic!("expected a cursor_expired close, got {other:?}"),
    }
    assert!(slow.next().await.is_none(), "the stream ends after its closed frame");
}

#[tokio::test]
async fn a_failing_store_refuses_changes_and_marks_the_runtime_degraded() {
    let store = TestStore::new();
    let runtime = start(config(), &Arc::new(ScriptedExecutor::default()), store.clone()).await;
    let worker = echo_worker(&runtime).await;
    store.set_mode(Durability::Failing);
    let error = runtime.input(&worker, InputRequest::user("lost")).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RuntimeUnavailable);
    assert!(!error.message.contains("disk on fire"), "store internals stay out of responses");
    assert_eq!(runtime.summary().status, RuntimeStatus::Degraded);
    let again = runtime.create(CreateWorkerRequest::default()).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::RuntimeUnavailable);
    assert!(runtime.get(&worker).is_ok(), "reads still work");
}

#[tokio::test]
async fn shutdown_closes_streams_refuses_commands_and_closes_the_store() {
    let store = TestStore::new();
    let runtime = start(config(), &Arc::new(ScriptedExecutor::default()), store.clone()).await;
    let worker = echo_worker(&runtime).await;
    let mut stream = subscribe(&runtime, None);
    assert!(matches!(next(&mut stream).await, StreamFrame::Snapshot(_)));
    runtime.shutdown().await.unwrap();
    assert!(matches!(next(&mut stream).await, StreamFrame::Closed { reason: CloseReason::Shutdown, .. }));
    assert!(stream.next().await.is_none());
    assert!(store.closed.load(Ordering::SeqCst));
    let error = runtime.input(&worker, InputRequest::user("late")).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RuntimeUnavailable);
    assert_eq!(runtime.summary().status, RuntimeStatus::Unavailable);
}

#[tokio::test]
async fn deltas_share_the_seq_space_and_are_never_replayed() {
    let runtime = start(config(), &Arc::new(ScriptedExecutor::default()), TestStore::new()).await;
    let worker = echo_worker(&runtime).await;
    let mut live = subscribe(&runtime, None);
    let StreamFrame::Snapshot(snapshot) = next(&mut live).await else { panic!("snapshot first") };
    runtime.input(&worker, InputRequest::user("one two three")).await.unwrap();
    support::wait_for(&runtime, &worker, |d| d.summary.transcript_len == 2).await;
    let seen = events(&drain_ready(&mut live).await);
    assert!(seen.iter().any(|e| matches!(e.body, EventBody::TurnDelta { .. })));
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq));
    let replayed = events(&drain_ready(&mut subscribe(&runtime, Some(snapshot.seq))).await);
    let durable: Vec<_> = seen.iter().filter(|e| e.is_durable()).cloned().collect();
    assert_eq!(replayed, durable);
}
