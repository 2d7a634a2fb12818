//! Restart over a store that kept everything: workers come back, interrupted turns are reported, seqs go on.

mod support;

use std::sync::Arc;

use runtime_api::{
    CreateWorkerRequest, EventBody, InputRequest, LifecycleRequest, Role, StreamFrame, WhenBusy, WorkerId, WorkerState,
};
use runtime_core::store::Record;
use runtime_core::{ProfileSet, Runtime};
use support::{Outcome, ScriptedExecutor, TestStore, config, drain_ready, events, next, start, subscribe, wait_for};

async fn worker(runtime: &Runtime, profile: &str) -> WorkerId {
    let request = CreateWorkerRequest { profile: Some(profile.into()), ..Default::default() };
    runtime.create(request).await.unwrap().summary.worker_id
}

/// Simulates `kill -9`: the old runtime's turns stop without recording anything.
async fn crash(runtime: Runtime) {
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn busy_workers_come_back_idle_with_their_turns_marked_interrupted() {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, store.clone()).await;
    let busy = worker(&runtime, "scripted").await;
    let done = worker(&runtime, "scripted").await;
    let stopped = worker(&runtime, "scripted").await;
    runtime.input(&done, InputRequest::user("finish me")).await.unwrap();
    executor.finish(&done, 1, Outcome::Complete("ok".into())).await;
    wait_for(&runtime, &done, |d| d.summary.state == WorkerState::Idle).await;
    runtime.input(&busy, InputRequest::user("running")).await.unwrap();
    runtime.input(&busy, InputRequest::user("waiting").when_busy(WhenBusy::Queue)).await.unwrap();
    runtime.stop(&stopped, LifecycleRequest { reason: Some("bye".into()) }).await.unwrap();
    crash(runtime).await;

    let runtime = start(config(), &executor, store.clone()).await;
    let detail = runtime.get(&busy).await.unwrap();
    assert_eq!((detail.summary.state, detail.queued_inputs), (WorkerState::Idle, 0));
    let entries = runtime.transcript(&busy, Default::default()).await.unwrap().entries;
    let shape: Vec<_> = entries.iter().map(|e| (e.seq, e.role, e.turn_id)).collect();
    assert_eq!(
        shape,
        [(1, Role::User, Some(1)), (2, Role::User, Some(2)), (3, Role::Notice, Some(1)), (4, Role::Notice, Some(2))]
    );
    assert!(entries[2].content.contains("interrupted"));
    assert_eq!(runtime.get(&done).await.unwrap().summary.transcript_len, 2);
    let stopped = runtime.get(&stopped).await.unwrap();
    assert_eq!((stopped.summary.state, stopped.end_reason.as_deref()), (WorkerState::Stopped, Some("bye")));
    let counts = runtime.summary().workers;
    assert_eq!((counts.total, counts.idle, counts.stopped, counts.busy), (3, 2, 1, 0));

    // The worker goes on from its next turn number.
    let ack = runtime.input(&busy, InputRequest::user("again")).await.unwrap();
    assert_eq!((ack.turn_id, ack.transcript_seq), (3, 5));
    // New workers sort after the old ones.
    assert!(worker(&runtime, "fast").await > busy);
}

#[tokio::test]
async fn seqs_continue_without_reuse_and_old_cursors_resume_across_a_restart() {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, store.clone()).await;
    let log_id = runtime.summary().log_id;
    let w = worker(&runtime, "scripted").await;
    let mut live = subscribe(&runtime, None);
    runtime.input(&w, InputRequest::user("hi")).await.unwrap();
    // The turn streams a live-only delta before the crash.
    let mut seen = Vec::new();
    while !seen.iter().any(|e: &runtime_api::Event| matches!(e.body, EventBody::TurnDelta { .. })) {
        if let StreamFrame::Event { event } = next(&mut live).await {
            seen.push(event);
        }
    }
    let highest_seen = seen.iter().map(|e| e.seq).max().unwrap();
    let last_durable = seen.iter().filter(|e| e.is_durable()).map(|e| e.seq).max().unwrap();
    crash(runtime).await;

    let runtime = start(config(), &executor, store.clone()).await;
    assert_eq!(runtime.summary().log_id, log_id, "the same log goes on");
    let mut resumed = subscribe(&runtime, Some(last_durable));
    let frames = drain_ready(&mut resumed).await;
    let replayed = events(&frames);
    assert!(
        matches!(replayed.as_slice(), [e] if matches!(e.body, EventBody::TurnInterrupted { turn_id: 1, .. })),
        "{replayed:?}"
    );
    assert!(replayed[0].seq > highest_seen, "no seq is handed out twice, not even a live-only one's");
    // A cursor at the crashed delta is still inside this log.
    assert!(runtime.subscribe(runtime_api::SubscribeRequest { after: Some(highest_seen), worker_id: None }).is_ok());
}

#[tokio::test]
async fn a_worker_whose_profile_disappeared_comes_back_failed() {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, store.clone()).await;
    let w = worker(&runtime, "scripted").await;
    crash(runtime).await;

    let runtime = Runtime::start(config(), ProfileSet::builtin(), store.clone()).await.unwrap();
    let detail = runtime.get(&w).await.unwrap();
    assert_eq!(detail.summary.state, WorkerState::Failed);
    assert_eq!(detail.end_reason.as_deref(), Some("profile scripted is no longer configured"));
    let error = runtime.input(&w, InputRequest::user("hi")).await.unwrap_err();
    assert_eq!(error.code, runtime_api::ErrorCode::WorkerStopped);
    assert_eq!(runtime.summary().workers.failed, 1);
}

#[tokio::test]
async fn a_batch_cut_short_by_a_crash_recovers_to_a_consistent_worker() {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, store.clone()).await;
    let w = worker(&runtime, "scripted").await;
    let before_input = store.records().len();
    runtime.input(&w, InputRequest::user("half written")).await.unwrap();
    crash(runtime).await;
    // Keep the transcript entry of the input batch but lose its events, as a crash between two file
    // writes of one (unacknowledged) batch could.
    let kept = store.records()[before_input..]
        .iter()
        .position(|r| matches!(r, Record::Transcript { .. }))
        .map(|i| before_input + i + 1)
        .unwrap();
    store.truncate(kept);

    let runtime = start(config(), &executor, store.clone()).await;
    let detail = runtime.get(&w).await.unwrap();
    assert_eq!((detail.summary.state, detail.summary.transcript_len), (WorkerState::Idle, 2));
    let entries = runtime.transcript(&w, Default::default()).await.unwrap().entries;
    assert_eq!(entries[1].role, Role::Notice);
    runtime.input(&w, InputRequest::user("next")).await.unwrap();
}

#[tokio::test]
async fn replies_keep_their_facts_and_workers_their_usage_across_a_restart() {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, store.clone()).await;
    let id = worker(&runtime, "scripted").await;
    let usage = runtime_api::Usage { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
    let facts = runtime_core::ReplyFacts { model: Some("m".into()), finish_reason: None, usage: Some(usage) };
    for turn in 1..=2 {
        runtime.input(&id, InputRequest::user("hi")).await.unwrap();
        executor.finish(&id, turn, Outcome::CompleteWith("ok".into(), facts.clone())).await;
        wait_for(&runtime, &id, |d| d.summary.state == WorkerState::Idle).await;
    }
    let before = runtime.transcript(&id, Default::default()).await.unwrap().entries;
    crash(runtime).await;

    let runtime = start(config(), &executor, store).await;
    assert_eq!(runtime.transcript(&id, Default::default()).await.unwrap().entries, before);
    assert_eq!(runtime.get(&id).await.unwrap().usage.total_tokens, 14);
}
