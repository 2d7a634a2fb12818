//! Turns and executors: cancellation reaches the executor, failures and partial replies are recorded with
//! what is known about them, history is bounded by the profile.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use runtime_api::{
    CreateWorkerRequest, EventBody, FailureReason, InputKind, InputRequest, LifecycleRequest, Role, TranscriptEntry,
    TurnOutcome, Usage, WhenBusy, WorkerId, WorkerState,
};
use runtime_core::{HistoryBounds, MemoryStore, ReplyFacts, Runtime};
use support::{Outcome, ScriptedExecutor, WAIT, config, start, start_bounded, wait_for};

async fn scripted_worker(runtime: &Runtime) -> WorkerId {
    let request = CreateWorkerRequest { profile: Some("scripted".into()), ..Default::default() };
    runtime.create(request).await.unwrap().summary.worker_id
}

async fn entries(runtime: &Runtime, worker: &WorkerId) -> Vec<TranscriptEntry> {
    runtime.transcript(worker, Default::default()).await.unwrap().entries
}

async fn until_waiting(executor: &ScriptedExecutor, worker: &WorkerId, turn: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !executor.is_waiting(worker, turn) {
        assert!(tokio::time::Instant::now() < deadline, "turn {turn} never reached the executor");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn cancel_drops_the_executor_future_at_once() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    runtime.input(&worker, InputRequest::user("hi")).await.unwrap();
    until_waiting(&executor, &worker, 1).await;
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
    // Input, the partial reply, the cancel notice; nothing from the late completion.
    assert_eq!((detail.summary.state, detail.summary.transcript_len), (WorkerState::Idle, 3));
}

#[tokio::test]
async fn a_cancelled_turn_keeps_its_partial_reply_marked_cancelled() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    let mut stream = support::subscribe(&runtime, None);
    runtime.input(&worker, InputRequest::user("hi")).await.unwrap();
    until_waiting(&executor, &worker, 1).await;
    runtime.cancel(&worker, LifecycleRequest { reason: Some("enough".into()) }).await.unwrap();
    let entries = entries(&runtime, &worker).await;
    let shape: Vec<_> = entries.iter().map(|e| (e.role, e.content.as_str(), e.outcome)).collect();
    assert_eq!(
        shape,
        [
            (Role::User, "hi", None),
            (Role::Assistant, "working ", Some(TurnOutcome::Cancelled)),
            (Role::Notice, "turn 1 cancelled: enough", None),
        ]
    );
    assert_eq!(entries[1].executor.as_deref(), Some("scripted"));
    assert!(entries[1].first_token_ms.is_some() && entries[1].duration_ms.is_some());
    let events = support::events(&support::drain_ready(&mut stream).await);
    let cancelled = events.iter().find_map(|e| match &e.body {
        EventBody::TurnCancelled { reply_seq, transcript_seq, .. } => Some((*reply_seq, *transcript_seq)),
        _ => None,
    });
    assert_eq!(cancelled, Some((Some(2), 3)));
}

#[tokio::test]
async fn an_interrupted_turn_keeps_its_partial_reply_marked_interrupted() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    runtime.input(&worker, InputRequest::user("first")).await.unwrap();
    until_waiting(&executor, &worker, 1).await;
    runtime.input(&worker, InputRequest::user("second").when_busy(WhenBusy::Interrupt)).await.unwrap();
    let entries = entries(&runtime, &worker).await;
    let partial = entries.iter().find(|e| e.role == Role::Assistant).expect("the partial reply is kept");
    assert_eq!((partial.turn_id, partial.content.as_str()), (Some(1), "working "));
    assert_eq!(partial.outcome, Some(TurnOutcome::Interrupted));
}

#[tokio::test]
async fn a_failed_turn_is_recorded_with_its_partial_reply_and_the_worker_goes_on() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    let mut stream = support::subscribe(&runtime, None);
    runtime.input(&worker, InputRequest::user("first")).await.unwrap();
    runtime.input(&worker, InputRequest::user("second").when_busy(WhenBusy::Queue)).await.unwrap();
    executor.finish(&worker, 1, Outcome::Fail("model unreachable".into())).await;
    executor.finish(&worker, 2, Outcome::Complete("done".into())).await;
    wait_for(&runtime, &worker, |d| d.summary.state == WorkerState::Idle).await;
    let entries = entries(&runtime, &worker).await;
    let shape: Vec<_> = entries.iter().map(|e| (e.role, e.content.as_str(), e.outcome)).collect();
    assert_eq!(
        shape,
        [
            (Role::User, "first", None),
            (Role::User, "second", None),
            (Role::Assistant, "working ", Some(TurnOutcome::Failed)),
            (Role::Notice, "turn 1 failed (executor_failed): model unreachable", None),
            (Role::Assistant, "working done", Some(TurnOutcome::Completed)),
        ]
    );
    let events = support::events(&support::drain_ready(&mut stream).await);
    let failed = events.iter().find_map(|e| match &e.body {
        EventBody::TurnFailed { reason, error, reply_seq, .. } => Some((*reason, error.clone(), *reply_seq)),
        _ => None,
    });
    assert_eq!(failed, Some((FailureReason::ExecutorFailed, "model unreachable".to_owned(), Some(3))));
}

#[tokio::test]
async fn replies_carry_their_facts_and_the_worker_sums_usage() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    let mut stream = support::subscribe(&runtime, None);
    let usage = Usage { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 };
    let facts = ReplyFacts { model: Some("m-1".into()), finish_reason: Some("stop".into()), usage: Some(usage) };
    for turn in 1..=2 {
        runtime.input(&worker, InputRequest::user("hi")).await.unwrap();
        executor.finish(&worker, turn, Outcome::CompleteWith("done".into(), facts.clone())).await;
        wait_for(&runtime, &worker, |d| d.summary.state == WorkerState::Idle).await;
    }
    let reply = entries(&runtime, &worker).await.pop().unwrap();
    assert_eq!(reply.model.as_deref(), Some("m-1"));
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!((reply.usage, reply.outcome), (Some(usage), Some(TurnOutcome::Completed)));
    assert!(reply.first_token_ms.unwrap() <= reply.duration_ms.unwrap());
    let detail = runtime.get(&worker).await.unwrap();
    assert_eq!(detail.usage, Usage { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 });
    let events = support::events(&support::drain_ready(&mut stream).await);
    let completed: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::TurnCompleted { usage, .. } => Some(*usage),
            _ => None,
        })
        .collect();
    assert_eq!(completed, [Some(usage), Some(usage)]);
}

#[tokio::test]
async fn echo_replies_say_they_are_echo_and_name_no_model() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let request = CreateWorkerRequest { profile: Some("fast".into()), ..Default::default() };
    let worker = runtime.create(request).await.unwrap().summary.worker_id;
    runtime.input(&worker, InputRequest::user("hi")).await.unwrap();
    wait_for(&runtime, &worker, |d| d.summary.state == WorkerState::Idle).await;
    let reply = entries(&runtime, &worker).await.pop().unwrap();
    assert_eq!((reply.executor.as_deref(), reply.model.as_deref()), (Some("echo"), None));
    assert_eq!(reply.content, "[echo] hi");
}

#[tokio::test]
async fn executors_get_history_by_turn_and_bounded_in_messages() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start_bounded(&executor, HistoryBounds { max_messages: 3, max_chars: 1_000 }).await;
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
    // message falls outside the bound of 3.
    let turn3: Vec<_> = contexts[2].history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(turn3, ["working r1", "a", "working r2"]);
}

#[tokio::test]
async fn the_message_bound_counts_in_turn_order_when_queued_inputs_interleave() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start_bounded(&executor, HistoryBounds { max_messages: 2, max_chars: 1_000 }).await;
    let worker = scripted_worker(&runtime).await;
    // Transcript order: u1, u2 (queued), r1, r2; turn order: u1, r1, u2, r2.
    runtime.input(&worker, InputRequest::user("u1")).await.unwrap();
    runtime.input(&worker, InputRequest::user("u2").when_busy(WhenBusy::Queue)).await.unwrap();
    executor.finish(&worker, 1, Outcome::Complete("r1".into())).await;
    executor.finish(&worker, 2, Outcome::Complete("r2".into())).await;
    wait_for(&runtime, &worker, |d| d.summary.state == WorkerState::Idle).await;
    runtime.input(&worker, InputRequest::user("u3")).await.unwrap();
    executor.finish(&worker, 3, Outcome::Complete("r3".into())).await;
    let contexts = executor.contexts.lock().clone();
    let turn3: Vec<_> = contexts[2].history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(turn3, ["u2", "working r2"], "the newest two in turn order, an input and its reply");
}

#[tokio::test]
async fn history_drops_the_oldest_messages_to_fit_the_character_bound() {
    let executor = Arc::new(ScriptedExecutor::default());
    // "working rN" is 10 characters, a one-letter input 1: the budget of 25 minus the new input "d" (1)
    // leaves 24, which holds "working r3" (10), "c" (1), "working r2" (10) and "b" (1), but not "working r1".
    let runtime = start_bounded(&executor, HistoryBounds { max_messages: 100, max_chars: 25 }).await;
    let worker = scripted_worker(&runtime).await;
    for (turn, input) in (1..).zip(["a", "b", "c", "d"]) {
        runtime.input(&worker, InputRequest::user(input)).await.unwrap();
        executor.finish(&worker, turn, Outcome::Complete(format!("r{turn}"))).await;
        wait_for(&runtime, &worker, |d| d.summary.state == WorkerState::Idle).await;
    }
    let contexts = executor.contexts.lock().clone();
    let turn4: Vec<_> = contexts[3].history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(turn4, ["b", "working r2", "c", "working r3"]);
    assert_eq!(contexts[3].input.content, "d", "the input itself is always sent");
}

#[tokio::test]
async fn no_delta_is_published_after_its_turn_is_cancelled() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config(), &executor, Arc::new(MemoryStore::new())).await;
    let worker = scripted_worker(&runtime).await;
    let mut stream = support::subscribe(&runtime, None);
    runtime.input(&worker, InputRequest::user("hi")).await.unwrap();
    until_waiting(&executor, &worker, 1).await;
    runtime.cancel(&worker, LifecycleRequest::default()).await.unwrap();
    let frames = support::drain_ready(&mut stream).await;
    let events = support::events(&frames);
    let cancel_at = events.iter().position(|e| matches!(e.body, EventBody::TurnCancelled { .. })).unwrap();
    assert!(events[cancel_at..].iter().all(|e| !matches!(e.body, EventBody::TurnDelta { .. })));
}
