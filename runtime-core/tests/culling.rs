//! Idle culling: a worker left idle for `idle_timeout` is stopped with reason `idle_timeout`, durably; a
//! worker with recent activity, or one running a turn, is left alone; without the setting nothing is culled.
//!
//! The clock is tokio's paused one, moved by hand, so no test waits for real time except the fs one.

#[path = "fs_store/script.rs"]
mod script;
mod support;

use std::sync::Arc;
use std::time::Duration;

use runtime_api::{CreateWorkerRequest, ErrorCode, EventBody, InputRequest, Role, WorkerId, WorkerState};
use runtime_core::store::Record;
use runtime_core::store::fs::{FsOptions, FsStore, read_snapshot};
use runtime_core::{Runtime, RuntimeConfig};
use script::data_dir;
use support::{Outcome, ScriptedExecutor, TestStore, config, start, wait_for};

const IDLE: Duration = Duration::from_secs(10);

fn culling(idle: Duration) -> RuntimeConfig {
    RuntimeConfig { idle_timeout: Some(idle), ..config() }
}

async fn worker(runtime: &Runtime, profile: &str) -> WorkerId {
    let request = CreateWorkerRequest { profile: Some(profile.into()), ..Default::default() };
    runtime.create(request).await.unwrap().summary.worker_id
}

/// Moves the paused clock on and lets every task that became ready (the sweep among them) run.
async fn pass(duration: Duration) {
    tokio::time::advance(duration).await;
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

async fn state(runtime: &Runtime, worker: &WorkerId) -> WorkerState {
    runtime.get(worker).await.unwrap().summary.state
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[tokio::test(start_paused = true)]
async fn a_worker_idle_past_the_timeout_is_stopped_with_reason_idle_timeout() {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(culling(IDLE), &executor, store.clone()).await;
    let w = worker(&runtime, "scripted").await;

    pass(secs(9.9)).await;
    assert_eq!(state(&runtime, &w).await, WorkerState::Idle, "not before the timeout");
    // The sweep runs every tenth of the timeout, so the stop comes within one more tick.
    pass(secs(1.2)).await;
    let detail = runtime.get(&w).await.unwrap();
    assert_eq!((detail.summary.state, detail.end_reason.as_deref()), (WorkerState::Stopped, Some("idle_timeout")));
    let last = runtime.transcript(&w, Default::default()).await.unwrap().entries.pop().unwrap();
    assert_eq!((last.role, last.content.as_str()), (Role::Notice, "worker stopped: idle_timeout"));
    let stopped = store.records().into_iter().any(|record| {
        matches!(record, Record::Event(event) if event.worker_id == w
            && matches!(&event.body, EventBody::WorkerStopped { reason: Some(r), .. } if r == "idle_timeout"))
    });
    assert!(stopped, "the stop is stored like any other");
    let refused = runtime.input(&w, InputRequest::user("too late")).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::WorkerStopped);
    assert_eq!(runtime.summary().workers.stopped, 1);
}

#[tokio::test(start_paused = true)]
async fn activity_restarts_the_idle_clock() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(culling(IDLE), &executor, TestStore::new()).await;
    let quiet = worker(&runtime, "scripted").await;
    let active = worker(&runtime, "scripted").await;

    pass(secs(6.0)).await;
    runtime.input(&active, InputRequest::user("still here")).await.unwrap();
    executor.finish(&active, 1, Outcome::Complete("ok".into())).await;
    pass(Duration::ZERO).await;
    assert_eq!(state(&runtime, &active).await, WorkerState::Idle);

    pass(secs(6.0)).await;
    assert_eq!(state(&runtime, &quiet).await, WorkerState::Stopped, "idle for 12 s");
    assert_eq!(state(&runtime, &active).await, WorkerState::Idle, "idle for 6 s only");
    pass(secs(5.5)).await;
    let detail = runtime.get(&active).await.unwrap();
    assert_eq!((detail.summary.state, detail.end_reason.as_deref()), (WorkerState::Stopped, Some("idle_timeout")));
}

#[tokio::test(start_paused = true)]
async fn a_worker_running_a_long_turn_is_not_culled() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(culling(IDLE), &executor, TestStore::new()).await;
    let w = worker(&runtime, "scripted").await;
    runtime.input(&w, InputRequest::user("think hard")).await.unwrap();
    executor.running(&w, 1).await;
    for _ in 0..12 {
        pass(secs(5.0)).await;
    }
    assert_eq!(state(&runtime, &w).await, WorkerState::Busy, "a minute into its turn");

    executor.finish(&w, 1, Outcome::Complete("done".into())).await;
    pass(Duration::ZERO).await;
    assert_eq!(state(&runtime, &w).await, WorkerState::Idle);
    pass(secs(9.0)).await;
    assert_eq!(state(&runtime, &w).await, WorkerState::Idle, "the idle time counts from the turn's end");
    pass(secs(2.5)).await;
    assert_eq!(state(&runtime, &w).await, WorkerState::Stopped);
}

#[tokio::test(start_paused = true)]
async fn without_an_idle_timeout_nothing_is_ever_culled() {
    assert_eq!(config().idle_timeout, None, "culling is off by default");
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, TestStore::new()).await;
    let w = worker(&runtime, "scripted").await;
    for _ in 0..48 {
        pass(Duration::from_secs(3600)).await;
    }
    assert_eq!(state(&runtime, &w).await, WorkerState::Idle, "two days idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_culled_worker_is_still_stopped_after_an_fs_restart() {
    let dir = data_dir();
    let executor = Arc::new(ScriptedExecutor::default());
    let config = culling(Duration::from_millis(200));
    let store = Arc::new(FsStore::open(dir.path(), FsOptions::default()).unwrap());
    let runtime = start(config.clone(), &executor, store).await;
    let w = worker(&runtime, "fast").await;
    wait_for(&runtime, &w, |d| d.summary.state == WorkerState::Stopped).await;
    runtime.shutdown().await.unwrap();
    drop(runtime);

    let on_disk = read_snapshot(dir.path(), 10_000).unwrap();
    let stored = on_disk.workers.iter().find(|s| s.record.worker_id == w).unwrap();
    let end = stored.record.end.as_ref().expect("the stop is on disk");
    assert_eq!((end.state, end.reason.as_deref()), (WorkerState::Stopped, Some("idle_timeout")));

    let store = Arc::new(FsStore::open(dir.path(), FsOptions::default()).unwrap());
    let runtime = start(config, &executor, store).await;
    let detail = runtime.get(&w).await.unwrap();
    assert_eq!((detail.summary.state, detail.end_reason.as_deref()), (WorkerState::Stopped, Some("idle_timeout")));
    runtime.shutdown().await.unwrap();
}
