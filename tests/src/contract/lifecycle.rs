//! Worker lifecycle: turns, busy policies, cancel and stop (SPEC §3).

use std::collections::BTreeMap;
use std::time::Duration;

use runtime_api::{
    CancelOutcome, CreateWorkerRequest, DetailAnswer, ErrorCode, EventBody, InputDisposition, InputRequest,
    LifecycleRequest, Role, StopOutcome, TurnOutcome, WhenBusy, WorkerState,
};

use super::setup;
use super::support::{LONG_INPUT, Source, completes, deltas, expect_error, kinds, new_worker, subscribe, transcript};

pub(crate) async fn input_runs_a_turn_that_completes_into_the_transcript(source: Source) {
    let metadata = BTreeMap::from([("team".to_owned(), "blue".to_owned())]);
    let request = CreateWorkerRequest {
        profile: Some("fast".into()),
        title: Some("first".into()),
        metadata: Some(metadata.clone()),
    };
    let detail = source.create(request).await.expect("create");
    let worker = detail.summary.worker_id.clone();
    assert_eq!(detail.summary.state, WorkerState::Idle);
    assert_eq!((detail.summary.profile.as_str(), detail.summary.executor.as_str()), ("fast", "echo"));
    assert_eq!(detail.summary.title.as_deref(), Some("first"));
    assert_eq!(detail.metadata, metadata);
    assert_eq!(detail.summary.transcript_len, 0);

    let mut frames = subscribe(&source, Some(&worker), None).await;
    let ack = source.input(&worker, InputRequest::user("hello world")).await.expect("input");
    assert_eq!((ack.turn_id, ack.transcript_seq, ack.disposition), (1, 1, InputDisposition::Started));
    assert!(ack.event_seq > frames.snapshot.seq, "the input's event follows the snapshot");

    let events = frames.events_until(|e| completes(e, &worker, 1)).await;
    assert_eq!(kinds(&events), ["input_accepted", "turn_started", "turn_completed"]);
    assert_eq!(events[0].seq, ack.event_seq);
    assert_eq!(deltas(&events, 1), "[echo] hello world");
    assert!(events.iter().filter(|e| matches!(e.body, EventBody::TurnDelta { .. })).count() >= 2, "streamed in pieces");

    let detail = source.get(&worker).await.expect("get");
    assert_eq!(detail.summary.state, WorkerState::Idle);
    assert_eq!(detail.summary.transcript_len, 2);
    // The detail as bytes to forward, where a source has them, says what the decoded one says.
    let forwarded = match source.get_verbatim(&worker).await.expect("get_verbatim") {
        DetailAnswer::Decoded(detail) => detail,
        DetailAnswer::Verbatim(verbatim) => verbatim.decode().expect("verbatim bytes decode"),
    };
    assert_eq!(forwarded, detail);
    let entries = transcript(&source, &worker).await;
    let shape: Vec<_> = entries.iter().map(|e| (e.seq, e.role, e.content.as_str(), e.turn_id)).collect();
    assert_eq!(shape, [(1, Role::User, "hello world", Some(1)), (2, Role::Assistant, "[echo] hello world", Some(1))]);
    let reply = &entries[1];
    assert_eq!((reply.outcome, reply.executor.as_deref()), (Some(TurnOutcome::Completed), Some("echo")));
    assert_eq!((reply.model.as_deref(), reply.usage), (None, None), "an echo is never mistaken for a model");
    assert!(reply.duration_ms.is_some());
}

pub(crate) async fn create_uses_the_default_profile_and_refuses_unknown_ones(source: Source) {
    let detail = source.create(CreateWorkerRequest::default()).await.expect("create");
    assert_eq!(detail.summary.profile, "default");
    assert_eq!(detail.summary.executor, "echo");
    let request = CreateWorkerRequest { profile: Some("no-such-profile".into()), ..Default::default() };
    let error = expect_error(source.create(request), ErrorCode::ProfileNotFound).await;
    assert!(error.message.contains("no-such-profile"), "{error}");
}

pub(crate) async fn input_while_busy_is_rejected_with_worker_busy(source: Source) {
    let worker = new_worker(&source, "slow").await;
    source.input(&worker, InputRequest::user(LONG_INPUT)).await.expect("first input");
    let error = expect_error(source.input(&worker, InputRequest::user("second")), ErrorCode::WorkerBusy).await;
    assert!(error.code.retryable());
    assert_eq!(error.worker_id.as_ref(), Some(&worker));
    let detail = source.get(&worker).await.expect("get");
    assert_eq!(detail.summary.state, WorkerState::Busy);
    assert_eq!(detail.summary.transcript_len, 1, "a rejected input is not appended");
    source.cancel(&worker, LifecycleRequest::default()).await.expect("cancel");
}

pub(crate) async fn queued_inputs_run_in_order_after_the_current_turn(source: Source) {
    let worker = new_worker(&source, "slow").await;
    let mut frames = subscribe(&source, Some(&worker), None).await;
    source.input(&worker, InputRequest::user(LONG_INPUT)).await.expect("first input");
    for (position, content) in (1..).zip(["q1", "q2"]) {
        let ack = source.input(&worker, InputRequest::user(content).when_busy(WhenBusy::Queue)).await.expect("queue");
        assert_eq!((ack.disposition, ack.queue_position), (InputDisposition::Queued, Some(position)));
    }
    assert_eq!(source.get(&worker).await.expect("get").queued_inputs, setup::QUEUE_CAPACITY as u32);
    let full = InputRequest::user("q3").when_busy(WhenBusy::Queue);
    expect_error(source.input(&worker, full), ErrorCode::WorkerBusy).await;

    let events = frames.events_until(|e| completes(e, &worker, 3)).await;
    let completed: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::TurnCompleted { turn_id, .. } => Some(turn_id),
            _ => None,
        })
        .collect();
    assert_eq!(completed, [1, 2, 3]);
    assert_eq!(source.get(&worker).await.expect("get").summary.state, WorkerState::Idle);
    let replies: Vec<_> = transcript(&source, &worker)
        .await
        .into_iter()
        .filter(|e| e.role == Role::Assistant)
        .map(|e| (e.turn_id, e.content))
        .collect();
    assert_eq!(
        replies,
        [
            (Some(1), format!("[echo] {LONG_INPUT}")),
            (Some(2), "[echo] q1".to_owned()),
            (Some(3), "[echo] q2".to_owned())
        ]
    );
}

pub(crate) async fn interrupt_cancels_the_running_turn_and_runs_the_new_input(source: Source) {
    let worker = new_worker(&source, "slow").await;
    let mut frames = subscribe(&source, Some(&worker), None).await;
    source.input(&worker, InputRequest::user(LONG_INPUT)).await.expect("first input");
    let before = frames.events_until(|e| matches!(e.body, EventBody::TurnDelta { .. })).await;
    let ack = source.input(&worker, InputRequest::user("now").when_busy(WhenBusy::Interrupt)).await.expect("interrupt");
    assert_eq!((ack.turn_id, ack.disposition), (2, InputDisposition::Interrupted));

    let after = frames.events_until(|e| completes(e, &worker, 2)).await;
    let events: Vec<_> = before.iter().chain(&after).cloned().collect();
    assert_eq!(
        kinds(&events),
        ["input_accepted", "turn_started", "turn_cancelled", "input_accepted", "turn_started", "turn_completed"]
    );
    let entries = transcript(&source, &worker).await;
    let shape: Vec<_> = entries.iter().map(|e| (e.role, e.turn_id, e.outcome)).collect();
    assert_eq!(
        shape,
        [
            (Role::User, Some(1), None),
            (Role::Assistant, Some(1), Some(TurnOutcome::Interrupted)),
            (Role::Notice, Some(1), None),
            (Role::User, Some(2), None),
            (Role::Assistant, Some(2), Some(TurnOutcome::Completed))
        ]
    );
    assert_eq!(entries[1].content, deltas(&events, 1), "the interrupted turn keeps what it streamed");
    assert_eq!(entries[4].content, "[echo] now");
}

pub(crate) async fn cancel_aborts_a_running_turn_promptly(source: Source) {
    let worker = new_worker(&source, "slow").await;
    let mut frames = subscribe(&source, Some(&worker), None).await;
    source.input(&worker, InputRequest::user(LONG_INPUT)).await.expect("input");
    let mut streamed = frames.events_until(|e| matches!(e.body, EventBody::TurnDelta { .. })).await;

    let reason = LifecycleRequest { reason: Some("changed my mind".into()) };
    let ack = source.cancel(&worker, reason).await.expect("cancel");
    assert_eq!((ack.outcome, ack.turn_id, ack.state), (CancelOutcome::Cancelled, Some(1), WorkerState::Idle));
    let detail = source.get(&worker).await.expect("get");
    assert_eq!(detail.summary.state, WorkerState::Idle);
    assert!(detail.current_turn.is_none());

    let cancelled = frames.events_until(|e| matches!(e.body, EventBody::TurnCancelled { .. })).await;
    streamed.extend(cancelled.iter().cloned());
    let last = cancelled.last().expect("cancel event");
    assert_eq!(last.state, WorkerState::Idle);
    assert!(
        matches!(&last.body, EventBody::TurnCancelled { turn_id: 1, reason: Some(r), .. } if r == "changed my mind")
    );
    // The executor is gone: nothing more from turn 1, even after several chunk delays.
    let after = frames.events_within(Duration::from_millis(1_000)).await;
    assert!(after.is_empty(), "events after the cancel: {after:?}");

    let again = source.cancel(&worker, LifecycleRequest::default()).await.expect("second cancel");
    assert_eq!((again.outcome, again.turn_id, again.state), (CancelOutcome::NothingToCancel, None, WorkerState::Idle));
    let entries = transcript(&source, &worker).await;
    assert_eq!(entries.len(), 3);
    assert_eq!((entries[1].role, entries[1].outcome), (Role::Assistant, Some(TurnOutcome::Cancelled)));
    assert_eq!(entries[1].content, deltas(&streamed, 1), "the cancelled turn keeps exactly what it streamed");
    assert_eq!(entries[1].executor.as_deref(), Some("echo"));
    assert_eq!((entries[2].role, entries[2].content.as_str()), (Role::Notice, "turn 1 cancelled: changed my mind"));
    let ack = source.input(&worker, InputRequest::user("next")).await.expect("input after cancel");
    assert_eq!((ack.turn_id, ack.disposition), (2, InputDisposition::Started));
    source.cancel(&worker, LifecycleRequest::default()).await.expect("cancel");
}

pub(crate) async fn stop_is_idempotent_and_refuses_later_input(source: Source) {
    let worker = new_worker(&source, "slow").await;
    let mut frames = subscribe(&source, Some(&worker), None).await;
    source.input(&worker, InputRequest::user(LONG_INPUT)).await.expect("input");
    source.input(&worker, InputRequest::user("queued").when_busy(WhenBusy::Queue)).await.expect("queue");

    let ack = source.stop(&worker, LifecycleRequest { reason: Some("done".into()) }).await.expect("stop");
    assert_eq!((ack.outcome, ack.cancelled_turn, ack.state), (StopOutcome::Stopped, Some(1), WorkerState::Stopped));
    let again = source.stop(&worker, LifecycleRequest::default()).await.expect("second stop");
    assert_eq!((again.outcome, again.state), (StopOutcome::AlreadyStopped, WorkerState::Stopped));

    let error = expect_error(source.input(&worker, InputRequest::user("more")), ErrorCode::WorkerStopped).await;
    assert_eq!(error.worker_id.as_ref(), Some(&worker));
    let queued = InputRequest::user("more").when_busy(WhenBusy::Queue);
    expect_error(source.input(&worker, queued), ErrorCode::WorkerStopped).await;
    // A stopped worker has no transition left: cancel is refused, not ignored.
    expect_error(source.cancel(&worker, LifecycleRequest::default()), ErrorCode::WorkerStopped).await;

    let detail = source.get(&worker).await.expect("get");
    assert_eq!(detail.summary.state, WorkerState::Stopped);
    assert_eq!(detail.end_reason.as_deref(), Some("done"));
    let events = frames.events_until(|e| matches!(e.body, EventBody::WorkerStopped { .. })).await;
    assert_eq!(
        kinds(&events),
        ["input_accepted", "turn_started", "input_accepted", "turn_cancelled", "turn_cancelled", "worker_stopped"]
    );
    assert!(frames.events_within(Duration::from_millis(700)).await.is_empty(), "nothing runs after stop");
    let last = transcript(&source, &worker).await.pop().expect("entries");
    assert_eq!((last.role, last.content.as_str()), (Role::Notice, "worker stopped: done"));
}
