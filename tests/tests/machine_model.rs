//! Property: under any sequence of operations the runtime behaves exactly like a small model of SPEC §3.
//!
//! It drives an `EmbeddedSource` through the `RuntimeSource` trait. Turns run on a scripted executor, so
//! whether a worker is busy is decided by the test, not by timing.

use std::collections::VecDeque;
use std::sync::Arc;

use proptest::prelude::*;
use runtime_api::{
    CancelOutcome, CreateWorkerRequest, ErrorCode, InputDisposition, InputRequest, LifecycleRequest, Role, RuntimeId,
    RuntimeSource, StopOutcome, WhenBusy, WorkerId, WorkerState,
};
use runtime_core::{MemoryStore, Profile, ProfileSet, RuntimeConfig};
use tests::doubles::{Outcome, ScriptedExecutor};
use tests::harness::{embedded, wait_until};

const WORKERS: usize = 2;
const QUEUE: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    Input(usize, WhenBusy),
    Finish(usize, bool),
    Cancel(usize),
    Stop(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let worker = 0..WORKERS;
    let policy = prop_oneof![Just(WhenBusy::Reject), Just(WhenBusy::Queue), Just(WhenBusy::Interrupt)];
    prop_oneof![
        4 => (worker.clone(), policy).prop_map(|(w, p)| Op::Input(w, p)),
        4 => (worker.clone(), any::<bool>()).prop_map(|(w, fail)| Op::Finish(w, fail)),
        1 => worker.clone().prop_map(Op::Cancel),
        1 => worker.prop_map(Op::Stop),
    ]
}

/// The model of one worker.
#[derive(Debug, Default)]
struct Model {
    stopped: bool,
    current: Option<u64>,
    queue: VecDeque<u64>,
    next_turn: u64,
    transcript: Vec<(Role, Option<u64>)>,
}

impl Model {
    fn state(&self) -> WorkerState {
        match (self.stopped, self.current) {
            (true, _) => WorkerState::Stopped,
            (false, Some(_)) => WorkerState::Busy,
            (false, None) => WorkerState::Idle,
        }
    }

    fn cancel_all(&mut self) -> (Option<u64>, u32) {
        let current = self.current.take();
        if let Some(turn) = current {
            // A running turn has written `working `, which is kept as its partial reply.
            self.transcript.push((Role::Assistant, Some(turn)));
            self.transcript.push((Role::Notice, Some(turn)));
        }
        let dropped = self.queue.len() as u32;
        for turn in self.queue.drain(..) {
            self.transcript.push((Role::Notice, Some(turn)));
        }
        (current, dropped)
    }
}

async fn check(ops: Vec<Op>) {
    let executor = Arc::new(ScriptedExecutor::default());
    let mut config = RuntimeConfig::new(RuntimeId::parse("model").unwrap(), "Model");
    config.queue_capacity = QUEUE;
    let mut profiles = ProfileSet::builtin();
    profiles.insert(Profile::new("scripted", "scripted", executor.clone()));
    let runtime = embedded(config, profiles, Arc::new(MemoryStore::new())).await;
    let mut ids = Vec::new();
    let mut models: Vec<Model> = Vec::new();
    for _ in 0..WORKERS {
        let request = CreateWorkerRequest { profile: Some("scripted".into()), ..Default::default() };
        ids.push(runtime.create(request).await.unwrap().summary.worker_id);
        models.push(Model { next_turn: 1, ..Default::default() });
    }

    for (step, op) in ops.into_iter().enumerate() {
        let context = format!("step {step}: {op:?}");
        match op {
            Op::Input(w, policy) => input(&*runtime, &executor, &ids[w], &mut models[w], policy, &context).await,
            Op::Finish(w, fail) => finish(&*runtime, &executor, &ids[w], &mut models[w], fail).await,
            Op::Cancel(w) => {
                let model = &mut models[w];
                let result = runtime.cancel(&ids[w], LifecycleRequest::default()).await;
                if model.stopped {
                    assert_eq!(result.unwrap_err().code, ErrorCode::WorkerStopped, "{context}");
                } else {
                    let ack = result.unwrap();
                    let (turn, dropped) = model.cancel_all();
                    let outcome =
                        if turn.is_some() { CancelOutcome::Cancelled } else { CancelOutcome::NothingToCancel };
                    assert_eq!((ack.outcome, ack.turn_id, ack.dropped_queued), (outcome, turn, dropped), "{context}");
                }
            }
            Op::Stop(w) => {
                let model = &mut models[w];
                let ack = runtime.stop(&ids[w], LifecycleRequest::default()).await.unwrap();
                if model.stopped {
                    assert_eq!(ack.outcome, StopOutcome::AlreadyStopped, "{context}");
                } else {
                    let (turn, _) = model.cancel_all();
                    model.transcript.push((Role::Notice, None));
                    model.stopped = true;
                    assert_eq!((ack.outcome, ack.cancelled_turn), (StopOutcome::Stopped, turn), "{context}");
                }
            }
        }
        for (id, model) in ids.iter().zip(&models) {
            let detail = runtime.get(id).await.unwrap();
            assert_eq!(detail.summary.state, model.state(), "{context}");
            assert_eq!(detail.current_turn.map(|t| t.turn_id), model.current, "{context}");
            assert_eq!(detail.queued_inputs as usize, model.queue.len(), "{context}");
            let entries = runtime.transcript(id, Default::default()).await.unwrap().entries;
            let shape: Vec<_> = entries.iter().map(|e| (e.role, e.turn_id)).collect();
            assert_eq!(shape, model.transcript, "{context}");
        }
        let counts = runtime.summary().await.unwrap().workers;
        let busy = models.iter().filter(|m| m.state() == WorkerState::Busy).count() as u64;
        let stopped = models.iter().filter(|m| m.stopped).count() as u64;
        assert_eq!((counts.busy, counts.stopped, counts.total), (busy, stopped, WORKERS as u64), "{context}");
    }
}

async fn input(
    runtime: &dyn RuntimeSource,
    executor: &ScriptedExecutor,
    id: &WorkerId,
    model: &mut Model,
    policy: WhenBusy,
    context: &str,
) {
    let result = runtime.input(id, InputRequest::user("go").when_busy(policy)).await;
    if model.stopped {
        assert_eq!(result.unwrap_err().code, ErrorCode::WorkerStopped, "{context}");
        return;
    }
    let disposition = match (model.current, policy) {
        (None, _) => InputDisposition::Started,
        (Some(_), WhenBusy::Reject) => {
            assert_eq!(result.unwrap_err().code, ErrorCode::WorkerBusy, "{context}");
            return;
        }
        (Some(_), WhenBusy::Queue) if model.queue.len() >= QUEUE => {
            assert_eq!(result.unwrap_err().code, ErrorCode::WorkerBusy, "{context}");
            return;
        }
        (Some(_), WhenBusy::Queue) => InputDisposition::Queued,
        (Some(_), WhenBusy::Interrupt) => {
            model.cancel_all();
            InputDisposition::Interrupted
        }
    };
    let turn = model.next_turn;
    model.next_turn += 1;
    model.transcript.push((Role::User, Some(turn)));
    let mut position = None;
    if disposition == InputDisposition::Queued {
        model.queue.push_back(turn);
        position = Some(model.queue.len() as u32);
    } else {
        model.current = Some(turn);
    }
    let ack = result.unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_eq!((ack.turn_id, ack.disposition, ack.queue_position), (turn, disposition, position), "{context}");
    assert_eq!(ack.transcript_seq as usize, model.transcript.len(), "{context}");
    if model.current == Some(turn) {
        // Whether a cancel finds a partial reply must not depend on timing.
        executor.running(id, turn).await;
    }
}

async fn finish(
    runtime: &dyn RuntimeSource,
    executor: &ScriptedExecutor,
    id: &WorkerId,
    model: &mut Model,
    fail: bool,
) {
    let Some(turn) = model.current else { return };
    let outcome = if fail { Outcome::Fail("scripted failure".into()) } else { Outcome::Complete("done".into()) };
    executor.finish(id, turn, outcome).await;
    wait_until(runtime, id, |d| d.current_turn.as_ref().map(|t| t.turn_id) != Some(turn)).await;
    // A failed turn keeps its `working ` partial reply before the notice.
    model.transcript.push((Role::Assistant, Some(turn)));
    if fail {
        model.transcript.push((Role::Notice, Some(turn)));
    }
    model.current = model.queue.pop_front();
    if let Some(next) = model.current {
        executor.running(id, next).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_runtime_follows_the_state_machine(ops in proptest::collection::vec(op(), 1..40)) {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(check(ops));
    }
}
