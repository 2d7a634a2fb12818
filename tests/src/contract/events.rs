//! Event subscriptions: snapshot first, order, resume, expiry, heartbeats; and the runtime summary.

use std::collections::BTreeSet;

use runtime_api::runtime::{PROTOCOL_NAME, PROTOCOL_VERSION};
use runtime_api::{
    ErrorCode, Event, InputRequest, SnapshotState, StreamFrame, SubscribeRequest, WhenBusy, WorkerState,
};

use super::setup;
use super::support::{Source, completes, new_worker, subscribe};

pub(crate) async fn subscriptions_open_with_a_snapshot_then_ordered_events(source: Source) {
    let summary = source.summary().await.expect("summary");
    let mut all = subscribe(&source, None, None).await;
    assert_eq!(all.snapshot.log_id, summary.log_id);
    let SnapshotState::Runtime { runtime } = &all.snapshot.state else {
        panic!("a runtime-wide subscription opens with the runtime's state");
    };
    assert_eq!(runtime.runtime_id, summary.runtime_id);

    let watched = new_worker(&source, "fast").await;
    let other = new_worker(&source, "fast").await;
    let mut one = subscribe(&source, Some(&watched), None).await;
    let SnapshotState::Worker { worker } = &one.snapshot.state else {
        panic!("a worker subscription opens with the worker's state");
    };
    assert_eq!(worker.summary.worker_id, watched);
    assert_eq!(worker.summary.state, WorkerState::Idle);

    source.input(&other, InputRequest::user("elsewhere")).await.expect("input");
    source.input(&watched, InputRequest::user("here")).await.expect("input");
    let everything = all.events_until(|e| completes(e, &watched, 1)).await;
    let mine = one.events_until(|e| completes(e, &watched, 1)).await;

    assert!(everything[0].seq > all.snapshot.seq);
    assert!(everything.windows(2).all(|w| w[0].seq < w[1].seq), "seqs strictly increase");
    assert_eq!(everything.iter().filter(|e| e.body.kind() == "worker_created").count(), 2);
    assert!(mine.iter().all(|e| e.worker_id == watched), "a worker stream carries only that worker");
    assert!(mine.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(mine.iter().all(|e| e.seq > one.snapshot.seq), "nothing the snapshot already reflects");
    let from_all: Vec<&Event> =
        everything.iter().filter(|e| e.worker_id == watched && e.seq > one.snapshot.seq).collect();
    assert_eq!(from_all.len(), mine.len());
}

pub(crate) async fn resume_after_a_cursor_has_no_gap_and_no_duplicate(source: Source) {
    let mut first = subscribe(&source, None, None).await;
    let worker = new_worker(&source, "fast").await;
    for turn in 1..=3u64 {
        source.input(&worker, InputRequest::user(format!("turn {turn}"))).await.expect("input");
        first.events_until(|e| completes(e, &worker, turn)).await;
    }
    // Everything durable since the start, as seen by a reader that never disconnected.
    let durable: Vec<Event> = {
        let mut again = subscribe(&source, None, Some(first.snapshot.seq)).await;
        again.events_until(|e| completes(e, &worker, 3)).await.into_iter().collect()
    };
    assert!(durable.iter().all(Event::is_durable), "replay carries durable events only");
    assert_eq!(durable.iter().map(|e| e.seq).collect::<BTreeSet<_>>().len(), durable.len(), "no duplicates");

    // Resume from the middle: exactly the rest, in order, then live events continue.
    let cut = durable[durable.len() / 2].seq;
    let mut resumed = subscribe(&source, None, Some(cut)).await;
    let rest = resumed.events_until(|e| completes(e, &worker, 3)).await;
    let expected: Vec<u64> = durable.iter().map(|e| e.seq).filter(|&s| s > cut).collect();
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), expected);
    source.input(&worker, InputRequest::user("live")).await.expect("input");
    let live = resumed.events_until(|e| completes(e, &worker, 4)).await;
    assert!(live[0].seq > cut && live.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(live.iter().all(|e| e.seq > expected.last().copied().unwrap_or(cut)), "nothing replayed twice");
}

pub(crate) async fn expired_cursors_answer_cursor_expired(source: Source) {
    let worker = new_worker(&source, "fast").await;
    let mut frames = subscribe(&source, Some(&worker), None).await;
    // Each turn records three durable events; run enough to push the start out of retention.
    let turns = (setup::EVENT_RETENTION / 3 + 2) as u64;
    for turn in 1..=turns {
        source.input(&worker, InputRequest::user("x").when_busy(WhenBusy::Queue)).await.expect("input");
        frames.events_until(|e| completes(e, &worker, turn)).await;
    }
    let error = match source.subscribe(SubscribeRequest { after: Some(0), worker_id: None }).await {
        Err(error) => error,
        Ok(_) => panic!("a cursor outside retention must be refused"),
    };
    assert_eq!((error.code, error.code.http_status()), (ErrorCode::CursorExpired, 410));
    let earliest = error.earliest_seq.expect("cursor_expired names where retention begins");
    assert!(earliest > 0);
    let mut resumed = subscribe(&source, None, Some(earliest)).await;
    let replayed = resumed.events_until(|e| completes(e, &worker, turns)).await;
    assert!(replayed.iter().all(|e| e.seq > earliest));

    let summary = source.summary().await.expect("summary");
    let future = SubscribeRequest { after: Some(summary.last_event_seq + 1_000), worker_id: None };
    match source.subscribe(future).await {
        Err(error) => assert_eq!(error.code, ErrorCode::CursorExpired),
        Ok(_) => panic!("a cursor from the future belongs to another log and must be refused"),
    }
}

pub(crate) async fn idle_streams_get_heartbeats(source: Source) {
    let mut frames = subscribe(&source, None, None).await;
    match frames.next().await {
        StreamFrame::Heartbeat { seq, .. } => assert!(seq >= frames.snapshot.seq),
        other => panic!("an idle stream gets a heartbeat within {:?}, got {other:?}", setup::HEARTBEAT),
    }
}

pub(crate) async fn summary_describes_protocol_capabilities_and_counts(source: Source) {
    let before = source.summary().await.expect("summary");
    assert_eq!(before.runtime_id, source.describe().runtime_id);
    assert_eq!((before.protocol.name.as_str(), before.protocol.version.as_str()), (PROTOCOL_NAME, PROTOCOL_VERSION));
    assert!(before.protocol.is_compatible());
    let caps = &before.capabilities;
    assert!(caps.read && caps.create && caps.input && caps.lifecycle && caps.transcript && caps.events);
    assert_eq!(caps.when_busy, WhenBusy::ALL);
    let profiles: Vec<_> = caps.profiles.iter().map(|p| (p.name.as_str(), p.executor.as_str())).collect();
    for expected in [("default", "echo"), ("fast", "echo"), ("slow", "echo")] {
        assert!(profiles.contains(&expected), "{expected:?} missing from {profiles:?}");
    }

    let worker = new_worker(&source, "slow").await;
    source.input(&worker, InputRequest::user(super::support::LONG_INPUT)).await.expect("input");
    let busy = source.summary().await.expect("summary");
    assert_eq!(busy.workers.total, before.workers.total + 1);
    assert_eq!(busy.workers.busy, before.workers.busy + 1);
    source.stop(&worker, Default::default()).await.expect("stop");
    let after = source.summary().await.expect("summary");
    assert_eq!((after.workers.busy, after.workers.stopped), (before.workers.busy, before.workers.stopped + 1));
    assert!(after.last_event_seq > before.last_event_seq);
}
