//! Turns and executors: cancellation reaches the executor, failures are recorded, history is bounded.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use runtime_api::{
    CreateWorkerRequest, EventBody, InputKind, InputRequest, LifecycleRequest, Role, WhenBusy, WorkerId, WorkerState,
};
use runtime_core::{MemoryStore, Runtime};
use support::{Outcome, ScriptedExecutor, WAIT, config, start, wait_for};

async fn scripted_worker(runtime: &Runtime) -> WorkerId {
    let request = CreateWorkerRequest { profile: Some("scripted".into()), ..Default::default() };
    runtime.create(request).await.unwrap().summary.worker_id
}

#[tokio::test]
async fn cancel_drops_the_executor_future_at_once() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    runtime.input(&worker, InputRequest::user("hi")).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !executor.is_waiting(&worker, 1) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    runtime.cancel(&worker, LifecycleRequest::default()).await.unwrap();
    tokio::time::timeout(WAIT, async {
        while executor.dropped.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the executor's future is dropped when its turn is cancelled");
    // The turn never completes later, even if the executor had been about to.
    executor.finish(&worker, 1, Outcome::Complete("late".into())).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let detail = runtime.get(&worker).await.unwrap();
    assert_eq!((detail.summary.state, detail.summary.transcript_len), (WorkerState::Idle, 2));
}

#[tokio::test]
async fn a_failed_turn_is_recorded_and_the_worker_goes_on() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    runtime.input(&worker, InputRequest::user("first")).await.unwrap();
    runtime.input(&worker, InputRequest::user("second").when_busy(WhenBusy::Queue)).await.unwrap();
    executor.finish(&worker, 1, Outcome::Fail("model unreachable".into())).await;
    executor.finish(&worker, 2, Outcome::Complete("done".into())).await;
    wait_for(&runtime, &worker, |d| d.summary.state == WorkerState::Idle).await;
    let page = runtime.transcript(&worker, Default::default()).await.unwrap();
    let shape: Vec<_> = page.entries.iter().map(|e| (e.role, e.content.as_str())).collect();
    assert_eq!(
        shape,
        [
            (Role::User, "first"),
            (Role::User, "second"),
            (Role::Notice, "turn 1 failed: model unreachable"),
            (Role::Assistant, "working done"),
        ]
    );
}

#[tokio::test]
async fn executors_get_history_by_turn_and_bounded() {
    let executor = Arc::new(ScriptedExecutor::default());
    let mut config = config();
    config.history_limit = 3;
    let runtime = start(config, &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    let system = InputRequest { content: "be brief".into(), kind: InputKind::System, when_busy: WhenBusy::Reject };
    runtime.input(&worker, system).await.unwrap();
    runtime.input(&worker, InputRequest::user("a").when_busy(WhenBusy::Queue)).await.unwrap();
    runtime.input(&worker, InputRequest::user("b").when_busy(WhenBusy::Queue)).await.unwrap();
    for turn in 1..=3 {
        executor.finish(&worker, turn, Outcome::Complete(format!("r{turn}"))).await;
    }
    wait_for(&runtime, &worker, |d| d.summary.state == WorkerState::Idle).await;
    let contexts = executor.contexts.lock().clone();
    let turn2: Vec<_> = contexts[1].history.iter().map(|m| (m.role, m.content.as_str())).collect();
    assert_eq!(turn2, [(Role::System, "be brief"), (Role::Assistant, "working r1")]);
    assert_eq!(contexts[1].input.content, "a");
    // Turn 3 sees turns 1 and 2 in turn order although "b" was queued before turn 1's reply; the oldest
    // message falls outside the limit of 3.
    let turn3: Vec<_> = contexts[2].history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(turn3, ["working r1", "a", "working r2"]);
}

#[tokio::test]
async fn no_delta_is_published_after_its_turn_is_cancelled() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    let mut stream = support::subscribe(&runtime, None);
    runtime.input(&worker, InputRequest::user("hi")).await.unwrap();
    while !executor.is_waiting(&worker, 1) {
        tokio::task::yield_now().await;
    }
    runtime.cancel(&worker, LifecycleRequest::default()).await.unwrap();
    let frames = support::drain_ready(&mut stream).await;
    let events = support::events(&frames);
    let cancel_at = events.iter().position(|e| matches!(e.body, EventBody::TurnCancelled { .. })).unwrap();
    assert!(events[cancel_at..].iter().all(|e| !matches!(e.body, EventBody::TurnDelta { .. })));
}
