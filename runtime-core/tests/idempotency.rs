//! Idempotency keys: a command sent again under its key gets the first ack and changes nothing; the same
//! key with another request is refused; a repeat is answered only once the first command is durable.

mod support;

use std::sync::Arc;
use std::time::Duration;

use runtime_api::{
    CancelOutcome, Command, CreateWorkerRequest, ErrorCode, IdempotencyKey, InputRequest, LifecycleRequest, Role,
    StopOutcome, TranscriptEntry, WhenBusy, WorkerId, WorkerState,
};
use runtime_core::store::{CommandRecord, KeyRetention, Record};
use runtime_core::{Runtime, RuntimeConfig};
use support::{Durability, Outcome, ScriptedExecutor, TestStore, config, start, wait_for};

fn key(raw: &str) -> Option<IdempotencyKey> {
    Some(IdempotencyKey::parse(raw).unwrap())
}

fn scripted() -> CreateWorkerRequest {
    CreateWorkerRequest { profile: Some("scripted".into()), ..Default::default() }
}

async fn worker(runtime: &Runtime) -> WorkerId {
    runtime.create(scripted()).await.unwrap().summary.worker_id
}

async fn entries(runtime: &Runtime, worker: &WorkerId) -> Vec<TranscriptEntry> {
    runtime.transcript(worker, Default::default()).await.unwrap().entries
}

/// What a repeat must leave alone: the batches stored, the newest event and the worker counts.
fn footprint(runtime: &Runtime, store: &TestStore) -> (usize, u64, runtime_api::WorkerCounts) {
    let summary = runtime.summary();
    (store.appends(), summary.last_event_seq, summary.workers)
}

struct Fixture {
    store: Arc<TestStore>,
    executor: Arc<ScriptedExecutor>,
    runtime: Runtime,
}

async fn fixture(config: RuntimeConfig) -> Fixture {
    let store = TestStore::new();
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = start(config, &executor, store.clone()).await;
    Fixture { store, executor, runtime }
}

#[tokio::test]
async fn a_repeated_keyed_create_returns_the_first_worker_and_creates_no_other() {
    let Fixture { store, runtime, .. } = fixture(config()).await;
    let request = CreateWorkerRequest { title: Some("once".into()), ..scripted() };
    let first =
        runtime.command(Command::Create(request.clone()), key("create-1")).await.unwrap().into_create().unwrap();
    let before = footprint(&runtime, &store);

    let again =
        runtime.command(Command::Create(request.clone()), key("create-1")).await.unwrap().into_create().unwrap();
    assert_eq!(again, first);
    assert_eq!(footprint(&runtime, &store), before, "a repeat stores, publishes and creates nothing");
    assert_eq!(runtime.list(&Default::default()).await.unwrap().workers.len(), 1);

    // The ack is the one first given, not the worker as it is now.
    let id = first.summary.worker_id.clone();
    runtime.stop(&id, LifecycleRequest::default()).await.unwrap();
    let late = runtime.command(Command::Create(request), key("create-1")).await.unwrap().into_create().unwrap();
    assert_eq!((late.summary.worker_id, late.summary.state), (id, WorkerState::Idle));
    assert_eq!(runtime.summary().workers.total, 1);
}

#[tokio::test]
async fn a_repeated_keyed_input_returns_the_first_ack_and_runs_one_turn() {
    let Fixture { store, executor, runtime } = fixture(config()).await;
    let w = worker(&runtime).await;
    let input = || Command::Input(w.clone(), InputRequest::user("only once"));
    let first = runtime.command(input(), key("input-1")).await.unwrap().into_input().unwrap();
    executor.running(&w, 1).await;
    let (before, transcript) = (footprint(&runtime, &store), entries(&runtime, &w).await);

    // While the turn runs an unkeyed input would be refused `worker_busy`; the repeat gets its first ack.
    let busy = runtime.input(&w, InputRequest::user("only once")).await.unwrap_err();
    assert_eq!(busy.code, ErrorCode::WorkerBusy);
    let again = runtime.command(input(), key("input-1")).await.unwrap().into_input().unwrap();
    assert_eq!(again, first);
    assert_eq!(footprint(&runtime, &store), before);
    assert_eq!(entries(&runtime, &w).await, transcript);

    // Idle again, a new input would start turn 2; the repeat still only answers.
    executor.finish(&w, 1, Outcome::Complete("done".into())).await;
    wait_for(&runtime, &w, |d| d.summary.state == WorkerState::Idle).await;
    let (before, transcript) = (footprint(&runtime, &store), entries(&runtime, &w).await);
    let again = runtime.command(input(), key("input-1")).await.unwrap().into_input().unwrap();
    assert_eq!(again, first);
    assert_eq!(footprint(&runtime, &store), before);
    assert_eq!(entries(&runtime, &w).await, transcript);
    assert_eq!(runtime.get(&w).await.unwrap().summary.state, WorkerState::Idle);
    assert_eq!(transcript.iter().filter(|e| e.role == Role::User).count(), 1);
    assert_eq!(executor.contexts.lock().len(), 1, "the executor ran one turn");
}

/// A store whose appends take a millisecond, so a command's synchronous part (which appends) is long enough
/// for racing requests to overlap in it.
struct SlowAppends(Arc<TestStore>);

#[async_trait::async_trait]
impl runtime_core::Store for SlowAppends {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn load(&self) -> Result<runtime_core::store::StoreSnapshot, runtime_core::store::StoreError> {
        self.0.load()
    }

    fn append(&self, batch: Vec<Record>) -> runtime_core::store::Durable {
        std::thread::sleep(Duration::from_millis(1));
        self.0.append(batch)
    }

    async fn close(&self) -> Result<(), runtime_core::store::StoreError> {
        self.0.close().await
    }
}

/// Keyed commands run side by side on several threads, each key behind its own lock: requests racing under
/// one key still land once and all get the first ack, while the other keys' commands each land.
// Eight threads: a command holds the event log's lock through its append, so with two a second thread is
// soon waiting on it, and fewer requests under the raced key overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn racing_requests_under_one_key_land_once_beside_other_keys() {
    let executor = Arc::new(ScriptedExecutor::default());
    let runtime = Arc::new(start(config(), &executor, Arc::new(SlowAppends(TestStore::new()))).await);
    let mut workers = Vec::new();
    for _ in 0..8 {
        workers.push(worker(&runtime).await);
    }
    // Even calls race under one key to the first worker; odd ones go under their own keys to the other seven,
    // a few each, within a worker's queue.
    let calls: Vec<_> = (0..64)
        .map(|n| {
            let (target, text, key) = if n % 2 == 0 {
                (workers[0].clone(), "shared".to_owned(), key("raced"))
            } else {
                (workers[1 + n % 7].clone(), format!("own {n}"), key(&format!("own-{n}")))
            };
            let command = Command::Input(target, InputRequest::user(text).when_busy(WhenBusy::Queue));
            let runtime = runtime.clone();
            tokio::spawn(async move { (n, runtime.command(command, key).await.unwrap().into_input().unwrap()) })
        })
        .collect();
    let mut shared = Vec::new();
    for call in calls {
        let (n, ack) = call.await.unwrap();
        if n % 2 == 0 {
            shared.push(ack);
        }
    }
    assert_eq!(shared.len(), 32);
    assert!(shared.windows(2).all(|pair| pair[0] == pair[1]), "every request under one key got the first ack");
    let mut texts = Vec::new();
    for w in &workers {
        texts.extend(entries(&runtime, w).await.into_iter().filter(|e| e.role == Role::User).map(|e| e.content));
    }
    assert_eq!(texts.iter().filter(|t| *t == "shared").count(), 1, "the raced key landed once");
    assert_eq!(texts.iter().filter(|t| t.starts_with("own ")).count(), 32, "every other key landed");
}

#[tokio::test]
async fn a_repeated_keyed_stop_returns_the_first_ack_not_already_stopped() {
    let Fixture { store, executor, runtime } = fixture(config()).await;
    let w = worker(&runtime).await;
    runtime.input(&w, InputRequest::user("hi")).await.unwrap();
    executor.running(&w, 1).await;
    let stop = || Command::Stop(w.clone(), LifecycleRequest { reason: Some("bye".into()) });
    let first = runtime.command(stop(), key("stop-1")).await.unwrap().into_stop().unwrap();
    assert_eq!((first.outcome, first.cancelled_turn), (StopOutcome::Stopped, Some(1)));
    let (before, transcript) = (footprint(&runtime, &store), entries(&runtime, &w).await);

    let again = runtime.command(stop(), key("stop-1")).await.unwrap().into_stop().unwrap();
    assert_eq!(again, first);
    assert_eq!(footprint(&runtime, &store), before);
    assert_eq!(entries(&runtime, &w).await, transcript);
    // An unkeyed stop runs again and says so, which is how the keyed repeat is known to be the first ack.
    let unkeyed = runtime.stop(&w, LifecycleRequest { reason: Some("bye".into()) }).await.unwrap();
    assert_eq!(unkeyed.outcome, StopOutcome::AlreadyStopped);
}

#[tokio::test]
async fn a_repeated_keyed_cancel_returns_the_first_ack_and_cancels_nothing_more() {
    let Fixture { store, executor, runtime } = fixture(config()).await;
    let w = worker(&runtime).await;
    runtime.input(&w, InputRequest::user("hi")).await.unwrap();
    runtime.input(&w, InputRequest::user("queued").when_busy(WhenBusy::Queue)).await.unwrap();
    executor.running(&w, 1).await;
    let cancel = || Command::Cancel(w.clone(), LifecycleRequest::default());
    let first = runtime.command(cancel(), key("cancel-1")).await.unwrap().into_cancel().unwrap();
    assert_eq!((first.outcome, first.turn_id, first.dropped_queued), (CancelOutcome::Cancelled, Some(1), 1));
    let (before, transcript) = (footprint(&runtime, &store), entries(&runtime, &w).await);

    let again = runtime.command(cancel(), key("cancel-1")).await.unwrap().into_cancel().unwrap();
    assert_eq!(again, first);
    assert_eq!(footprint(&runtime, &store), before);
    assert_eq!(entries(&runtime, &w).await, transcript);
    let unkeyed = runtime.cancel(&w, LifecycleRequest::default()).await.unwrap();
    assert_eq!(unkeyed.outcome, CancelOutcome::NothingToCancel);
}

#[tokio::test]
async fn a_key_sent_with_another_request_is_refused_and_changes_nothing() {
    let Fixture { store, executor, runtime } = fixture(config()).await;
    let w = worker(&runtime).await;
    let other = worker(&runtime).await;
    let first = runtime.command(Command::Input(w.clone(), InputRequest::user("a")), key("k")).await.unwrap();
    executor.running(&w, 1).await;
    let (before, transcript) = (footprint(&runtime, &store), entries(&runtime, &w).await);

    let others = [
        Command::Input(w.clone(), InputRequest::user("b")),
        Command::Input(w.clone(), InputRequest::user("a").when_busy(WhenBusy::Interrupt)),
        Command::Input(other.clone(), InputRequest::user("a")),
        Command::Stop(w.clone(), LifecycleRequest::default()),
        Command::Cancel(w.clone(), LifecycleRequest::default()),
        Command::Create(scripted()),
    ];
    for command in others {
        let name = format!("{command:?}");
        let error = runtime.command(command, key("k")).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{name}");
        assert_eq!(error.field.as_deref(), Some("Idempotency-Key"), "{name}");
        assert_eq!(error.runtime_id, Some(config().runtime_id), "{name}");
    }
    assert_eq!(footprint(&runtime, &store), before);
    assert_eq!(entries(&runtime, &w).await, transcript);
    assert_eq!(runtime.get(&w).await.unwrap().summary.state, WorkerState::Busy);
    assert!(entries(&runtime, &other).await.is_empty());
    // A refusal does not replace what the key remembers.
    let again = runtime.command(Command::Input(w.clone(), InputRequest::user("a")), key("k")).await.unwrap();
    assert_eq!(again, first);
}

#[tokio::test]
async fn a_repeat_waits_until_the_first_command_is_durable() {
    let Fixture { store, runtime, .. } = fixture(config()).await;
    store.set_mode(Durability::Gated);
    let appends = store.appends();
    let send = || {
        let runtime = runtime.clone();
        tokio::spawn(async move { runtime.command(Command::Create(scripted()), key("create-gated")).await })
    };
    let first = send();
    store.wait_appends(appends + 1).await;
    let second = send();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!first.is_finished() && !second.is_finished(), "neither is acknowledged before the create is durable");

    store.release();
    let first = first.await.unwrap().unwrap().into_create().unwrap();
    let second = second.await.unwrap().unwrap().into_create().unwrap();
    assert_eq!(first, second);
    assert_eq!(store.appends(), appends + 1, "the second request stored nothing");
    assert_eq!(runtime.summary().workers.total, 1);
}

#[tokio::test]
async fn a_refused_command_is_not_remembered_so_its_retry_runs() {
    let Fixture { executor, runtime, .. } = fixture(config()).await;
    let w = worker(&runtime).await;
    runtime.input(&w, InputRequest::user("first")).await.unwrap();
    let retry = || Command::Input(w.clone(), InputRequest::user("second"));
    let busy = runtime.command(retry(), key("retry-1")).await.unwrap_err();
    assert_eq!(busy.code, ErrorCode::WorkerBusy);

    executor.finish(&w, 1, Outcome::Complete("done".into())).await;
    wait_for(&runtime, &w, |d| d.summary.state == WorkerState::Idle).await;
    let ack = runtime.command(retry(), key("retry-1")).await.unwrap().into_input().unwrap();
    assert_eq!(ack.turn_id, 2, "the retry after worker_busy ran");
}

#[tokio::test]
async fn keys_beyond_the_capacity_are_forgotten_oldest_first() {
    let mut config = config();
    config.keys = KeyRetention { capacity: 2, ..KeyRetention::default() };
    let Fixture { runtime, .. } = fixture(config).await;
    let mut created = Vec::new();
    for n in 1..=3 {
        let request = CreateWorkerRequest { title: Some(format!("worker {n}")), ..scripted() };
        let detail = runtime.command(Command::Create(request), key(&format!("c{n}"))).await.unwrap();
        created.push(detail.into_create().unwrap().summary.worker_id);
    }
    // The oldest key is forgotten, so another request under it runs rather than being refused.
    let reused = runtime.command(Command::Create(scripted()), key("c1")).await.unwrap().into_create().unwrap();
    assert!(!created.contains(&reused.summary.worker_id));
    let request = CreateWorkerRequest { title: Some("worker 3".into()), ..scripted() };
    let kept = runtime.command(Command::Create(request), key("c3")).await.unwrap().into_create().unwrap();
    assert_eq!(kept.summary.worker_id, created[2]);
    assert_eq!(runtime.summary().workers.total, 4);
}

#[tokio::test]
async fn a_reloaded_key_that_was_used_again_after_its_window_answers_with_its_newer_command() {
    // A store that saw the key used, saw it leave the one-hour window, and saw it used again.
    let w = WorkerId::parse("w-gone").unwrap();
    let cancel = Command::Cancel(w.clone(), LifecycleRequest { reason: Some("second".into()) });
    let ack = |turn_id| {
        runtime_api::CommandAck::Cancel(runtime_api::CancelAck {
            worker_id: w.clone(),
            outcome: CancelOutcome::Cancelled,
            turn_id: Some(turn_id),
            dropped_queued: 0,
            state: WorkerState::Idle,
        })
    };
    let used = |fingerprint: String, hours_ago: f64, turn_id| {
        let age = jiff::SignedDuration::from_secs_f64(hours_ago * 3600.0);
        let at = runtime_api::Timestamp::now().checked_sub(age).unwrap();
        let key = IdempotencyKey::parse("k").unwrap();
        Record::Command(Arc::new(CommandRecord { key, fingerprint, at, ack: ack(turn_id) }))
    };
    let store = TestStore::with_records(vec![used("first request".into(), 2.0, 1), used(cancel.fingerprint(), 0.5, 2)]);
    let mut config = config();
    config.keys = KeyRetention { window: Duration::from_secs(3600), ..KeyRetention::default() };
    let runtime = start(config, &Arc::new(ScriptedExecutor::default()), store).await;

    // Run again, the cancel would fail: the worker is gone. Remembered, it gets the second command's ack.
    assert_eq!(runtime.command(cancel, key("k")).await, Ok(ack(2)));
}
