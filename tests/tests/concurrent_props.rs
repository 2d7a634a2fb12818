//! Property: whatever the interleaving of concurrent operations, the invariants of SPEC §3 hold.
//!
//! Several tasks hammer a few workers of an `EmbeddedSource` at once with inputs under every busy policy,
//! cancels and stops while echo turns complete on their own. Afterwards the transcripts, acks, events and
//! counts must agree.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use proptest::prelude::*;
use runtime_api::{
    CreateWorkerRequest, ErrorCode, Event, EventBody, InputAck, InputRequest, LifecycleRequest, Role, RuntimeId,
    RuntimeSource, StreamFrame, SubscribeRequest, TurnOutcome, WhenBusy, WorkerId, WorkerState,
};
use runtime_core::{MemoryStore, ProfileSet, RuntimeConfig};
use tests::harness::{embedded, wait_until};

type Source = Arc<dyn RuntimeSource>;

const WORKERS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Input(usize, WhenBusy),
    Cancel(usize),
    Stop(usize),
    Pause(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let policy = prop_oneof![Just(WhenBusy::Reject), Just(WhenBusy::Queue), Just(WhenBusy::Interrupt)];
    prop_oneof![
        8 => (0..WORKERS, policy).prop_map(|(w, p)| Op::Input(w, p)),
        2 => (0..WORKERS).prop_map(Op::Cancel),
        1 => (0..WORKERS).prop_map(Op::Stop),
        2 => (0..4u8).prop_map(Op::Pause),
    ]
}

async fn run_ops(runtime: Source, ids: Vec<WorkerId>, task: usize, ops: Vec<Op>) -> Vec<(WorkerId, String, InputAck)> {
    let mut acks = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            Op::Input(w, policy) => {
                let content = format!("task {task} op {i}");
                match runtime.input(&ids[w], InputRequest::user(content.clone()).when_busy(policy)).await {
                    Ok(ack) => acks.push((ids[w].clone(), content, ack)),
                    Err(e) => assert!(
                        matches!(e.code, ErrorCode::WorkerBusy | ErrorCode::WorkerStopped),
                        "unexpected error {e}"
                    ),
                }
            }
            Op::Cancel(w) => {
                // Another task may have stopped the worker; cancel then has nothing to act on.
                if let Err(e) = runtime.cancel(&ids[w], LifecycleRequest::default()).await {
                    assert_eq!(e.code, ErrorCode::WorkerStopped, "unexpected error {e}");
                }
            }
            Op::Stop(w) => {
                runtime.stop(&ids[w], LifecycleRequest::default()).await.unwrap();
            }
            Op::Pause(ms) => tokio::time::sleep(Duration::from_millis(ms.into())).await,
        }
    }
    acks
}

async fn check(tasks: Vec<Vec<Op>>) {
    let mut config = RuntimeConfig::new(RuntimeId::parse("concurrent").unwrap(), "Concurrent");
    config.queue_capacity = 3;
    config.event_retention = 100_000;
    let profiles =
        ProfileSet::from_toml("[[profiles]]\nname = \"default\"\nexecutor = \"echo\"\nchunk_delay_ms = 1\n").unwrap();
    let runtime = embedded(config, profiles, Arc::new(MemoryStore::new())).await;
    let mut ids = Vec::new();
    for _ in 0..WORKERS {
        ids.push(runtime.create(CreateWorkerRequest::default()).await.unwrap().summary.worker_id);
    }
    let start_seq = runtime.summary().await.unwrap().last_event_seq;

    let runs =
        tasks.into_iter().enumerate().map(|(t, ops)| tokio::spawn(run_ops(runtime.clone(), ids.clone(), t, ops)));
    let acks: Vec<_> = join_all(runs).await.into_iter().flat_map(|r| r.unwrap()).collect();
    for id in &ids {
        wait_until(&*runtime, id, |d| d.summary.state != WorkerState::Busy).await;
    }

    // Transcripts: gap-free, every acknowledged input where its ack says, every turn ended exactly once,
    // and nothing accepted after a stop.
    let mut transcripts = BTreeMap::new();
    for id in &ids {
        let mut entries = Vec::new();
        let mut after = None;
        loop {
            let page = runtime.transcript(id, runtime_api::TranscriptQuery { after, limit: Some(500) }).await.unwrap();
            entries.extend(page.entries);
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert!(entries.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1), "transcript seqs are 1..n");
        let mut started = BTreeSet::new();
        let mut ended = BTreeMap::new();
        let mut replies = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            match (e.role, e.turn_id, e.outcome) {
                (Role::User, Some(t), _) => assert!(started.insert(t), "turn {t} has one input"),
                // A completed reply ends its turn; a partial one is kept just before the notice that does.
                (Role::Assistant, Some(t), outcome) => {
                    *replies.entry(t).or_insert(0) += 1;
                    if outcome == Some(TurnOutcome::Completed) {
                        *ended.entry(t).or_insert(0) += 1;
                    } else {
                        let next = entries.get(i + 1).map(|n| (n.role, n.turn_id));
                        assert_eq!(next, Some((Role::Notice, Some(t))), "a partial reply is followed by its notice");
                    }
                }
                (Role::Notice, Some(t), _) => *ended.entry(t).or_insert(0) += 1,
                _ => {}
            }
        }
        assert_eq!(started, ended.keys().copied().collect(), "every started turn ended");
        assert!(ended.values().all(|&n| n == 1), "no turn ended twice: {ended:?}");
        assert!(replies.values().all(|&n| n == 1), "no turn replied twice: {replies:?}");
        if let Some(stop) = entries.iter().position(|e| e.role == Role::Notice && e.turn_id.is_none()) {
            assert!(entries[stop..].iter().all(|e| e.role != Role::User), "no input after stop");
        }
        transcripts.insert(id.clone(), entries);
    }
    for (id, content, ack) in &acks {
        let entry = &transcripts[id][(ack.transcript_seq - 1) as usize];
        assert_eq!(
            (entry.role, entry.content.as_str(), entry.turn_id),
            (Role::User, content.as_str(), Some(ack.turn_id))
        );
    }

    // Events: strictly ordered, each turn's lifecycle legal, and states agree with the transcripts.
    let replay = replay_after(&runtime, start_seq).await;
    assert!(replay.windows(2).all(|w| w[0].seq < w[1].seq));
    for id in &ids {
        let mine: Vec<&Event> = replay.iter().filter(|e| &e.worker_id == id).collect();
        let mut open: BTreeSet<u64> = BTreeSet::new();
        let mut running: Option<u64> = None;
        for e in &mine {
            match e.body {
                EventBody::InputAccepted { turn_id, .. } => assert!(open.insert(turn_id)),
                EventBody::TurnStarted { turn_id } => {
                    assert!(running.is_none() && open.contains(&turn_id), "one turn at a time");
                    running = Some(turn_id);
                }
                EventBody::TurnCompleted { turn_id, .. } | EventBody::TurnFailed { turn_id, .. } => {
                    assert_eq!(running.take(), Some(turn_id));
                    assert!(open.remove(&turn_id));
                }
                EventBody::TurnCancelled { turn_id, .. } => {
                    if running == Some(turn_id) {
                        running = None;
                    }
                    assert!(open.remove(&turn_id));
                }
                _ => {}
            }
            // Every event of one transition carries the state after the whole transition, so only some
            // kinds pin it down.
            let expected = match e.body {
                EventBody::WorkerCreated { .. } => Some(WorkerState::Idle),
                EventBody::TurnStarted { .. } | EventBody::TurnDelta { .. } => Some(WorkerState::Busy),
                EventBody::InputAccepted { disposition: runtime_api::InputDisposition::Queued, .. } => {
                    Some(WorkerState::Busy)
                }
                EventBody::WorkerStopped { .. } => Some(WorkerState::Stopped),
                _ => None,
            };
            assert!(expected.is_none_or(|s| s == e.state), "event state: {e:?}");
        }
        assert!(open.is_empty() && running.is_none());
        let final_state = runtime.get(id).await.unwrap().summary.state;
        // A worker no operation touched is still as created: idle.
        let last_told = mine.last().map_or(WorkerState::Idle, |e| e.state);
        assert_eq!(last_told, final_state, "the last event tells the final state");
    }

    // Counts agree with the workers.
    let mut states = Vec::new();
    for id in &ids {
        states.push(runtime.get(id).await.unwrap().summary.state);
    }
    let counts = runtime.summary().await.unwrap().workers;
    let count = |s| states.iter().filter(|&&x| x == s).count() as u64;
    assert_eq!(
        (counts.idle, counts.busy, counts.stopped),
        (count(WorkerState::Idle), count(WorkerState::Busy), count(WorkerState::Stopped))
    );
}

/// Every durable event after `after`, read from a resumed subscription until it goes quiet.
async fn replay_after(source: &Source, after: u64) -> Vec<Event> {
    let request = SubscribeRequest { after: Some(after), worker_id: None };
    let mut stream = source.subscribe(request).await.unwrap();
    let mut events = Vec::new();
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(100), stream.next()).await {
        if let StreamFrame::Event { event } = frame {
            events.push(event);
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_concurrent_operations(tasks in proptest::collection::vec(proptest::collection::vec(op(), 1..25), 2..5)) {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(check(tasks));
    }
}
