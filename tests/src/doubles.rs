//! Test doubles behind the real traits: a scripted executor and a store that remembers, gates or fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use runtime_api::WorkerId;
use runtime_core::store::{Durable, Record, SnapshotBuilder, StoreError, StoreSnapshot};
use runtime_core::{Executor, ExecutorError, ReplyFacts, Store, TurnContext, TurnOutput};
use tokio::sync::{Notify, oneshot};

/// How long a double waits for the runtime before failing the test.
pub const WAIT: Duration = Duration::from_secs(10);

/// How a scripted turn ends.
#[derive(Debug)]
pub enum Outcome {
    /// The turn completes with this text after a `working ` delta.
    Complete(String),
    /// The same, reporting these facts about the reply first.
    CompleteWith(String, ReplyFacts),
    /// The executor fails with this message.
    Fail(String),
}

/// An executor whose turns end only when the test says so, and which reports when a turn's future is
/// dropped (which is how cancellation reaches an executor).
#[derive(Default)]
pub struct ScriptedExecutor {
    waiting: Mutex<HashMap<(WorkerId, u64), oneshot::Sender<Outcome>>>,
    arrived: Notify,
    /// How many turn futures were dropped (finished or cancelled).
    pub dropped: AtomicUsize,
    /// Every turn context the executor was given, in order.
    pub contexts: Mutex<Vec<TurnContext>>,
}

struct DropFlag<'a>(&'a AtomicUsize);

impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Executor for ScriptedExecutor {
    async fn run(&self, turn: TurnContext, output: &mut dyn TurnOutput) -> Result<(), ExecutorError> {
        let _flag = DropFlag(&self.dropped);
        let (tx, rx) = oneshot::channel();
        self.contexts.lock().push(turn.clone());
        // Written before the turn counts as waiting, so a test that saw it waiting knows it produced output.
        output.delta("working ");
        self.waiting.lock().insert((turn.worker_id.clone(), turn.turn_id), tx);
        self.arrived.notify_waiters();
        match rx.await {
            Ok(Outcome::Complete(text)) => {
                output.delta(&text);
                Ok(())
            }
            Ok(Outcome::CompleteWith(text, facts)) => {
                output.note(facts);
                output.delta(&text);
                Ok(())
            }
            Ok(Outcome::Fail(message)) => Err(ExecutorError::other(message)),
            Err(_) => std::future::pending().await,
        }
    }
}

impl ScriptedExecutor {
    /// Waits until the turn is running in the executor, then ends it.
    pub async fn finish(&self, worker: &WorkerId, turn_id: u64, outcome: Outcome) {
        let key = (worker.clone(), turn_id);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.arrived.notified();
            if let Some(tx) = self.waiting.lock().remove(&key) {
                let _ = tx.send(outcome);
                return;
            }
            tokio::time::timeout_at(deadline, notified).await.expect("turn never reached the executor");
        }
    }

    /// Waits until the turn is running in the executor (and has written its `working ` delta).
    pub async fn running(&self, worker: &WorkerId, turn_id: u64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.arrived.notified();
            if self.is_waiting(worker, turn_id) {
                return;
            }
            tokio::time::timeout_at(deadline, notified).await.expect("turn never reached the executor");
        }
    }

    /// Whether the turn has reached the executor and waits there.
    pub fn is_waiting(&self, worker: &WorkerId, turn_id: u64) -> bool {
        self.waiting.lock().contains_key(&(worker.clone(), turn_id))
    }
}

/// How a [`TestStore`] answers appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Durable at once.
    Immediate,
    /// Durable when the test releases it.
    Gated,
    /// Never durable: every append fails.
    Failing,
}

/// A store that keeps every record (so a new runtime over it recovers like after a crash), and can hold
/// back or fail durability.
pub struct TestStore {
    log_id: String,
    records: Mutex<Vec<Record>>,
    mode: Mutex<Durability>,
    gates: Mutex<Vec<oneshot::Sender<()>>>,
    /// Appends so far, in every mode, and a wake-up for whoever waits on their number.
    appends: AtomicUsize,
    appended: Notify,
    /// Set once the runtime closed the store.
    pub closed: AtomicBool,
}

impl TestStore {
    /// An empty store whose appends are durable at once.
    pub fn new() -> Arc<Self> {
        Arc::new(TestStore {
            log_id: "test-log".into(),
            records: Mutex::new(Vec::new()),
            mode: Mutex::new(Durability::Immediate),
            gates: Mutex::new(Vec::new()),
            appends: AtomicUsize::new(0),
            appended: Notify::new(),
            closed: AtomicBool::new(false),
        })
    }

    /// A store that already holds `records`, as if a runtime had written them.
    pub fn with_records(records: Vec<Record>) -> Arc<Self> {
        let store = Self::new();
        *store.records.lock() = records;
        store
    }

    /// Changes how later appends are answered.
    pub fn set_mode(&self, mode: Durability) {
        *self.mode.lock() = mode;
    }

    /// Makes every gated append so far durable.
    pub fn release(&self) {
        for gate in self.gates.lock().drain(..) {
            let _ = gate.send(());
        }
    }

    /// How many batches were appended so far, whatever became of them.
    pub fn appends(&self) -> usize {
        self.appends.load(Ordering::SeqCst)
    }

    /// Waits until `count` batches have been appended in all (a test's explicit "the runtime got this far").
    pub async fn wait_appends(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let appended = self.appended.notified();
            if self.appends() >= count {
                return;
            }
            tokio::time::timeout_at(deadline, appended).await.expect("the runtime never appended that much");
        }
    }

    /// Every record appended so far.
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().clone()
    }

    /// Keeps the batch (unless failing) and answers as the mode says.
    fn answer(&self, batch: Vec<Record>) -> Durable {
        match *self.mode.lock() {
            Durability::Failing => Durable::failed(StoreError::Corrupt("disk on fire".into())),
            Durability::Immediate => {
                self.records.lock().extend(batch);
                Durable::done()
            }
            Durability::Gated => {
                self.records.lock().extend(batch);
                let (tx, rx) = oneshot::channel();
                self.gates.lock().push(tx);
                Durable::when(async move { rx.await.map_err(|_| StoreError::Closed) })
            }
        }
    }

    /// Drops records as a crash would lose unsynced data: keeps only the first `n`.
    pub fn truncate(&self, n: usize) {
        self.records.lock().truncate(n);
    }
}

#[async_trait]
impl Store for TestStore {
    fn kind(&self) -> &'static str {
        "test"
    }

    fn load(&self) -> Result<StoreSnapshot, StoreError> {
        let mut builder = SnapshotBuilder::new(self.log_id.clone());
        for record in self.records.lock().iter().cloned() {
            builder.apply(record)?;
        }
        Ok(builder.finish())
    }

    fn append(&self, batch: Vec<Record>) -> Durable {
        let durable = self.answer(batch);
        self.appends.fetch_add(1, Ordering::SeqCst);
        self.appended.notify_waiters();
        durable
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Records of `workers` idle workers with `entries` transcript entries each (whole turns when `entries` is
/// even), as a store would hold them.
pub fn preloaded(workers: usize, entries: usize) -> Vec<Record> {
    use runtime_api::{Role, Timestamp, TranscriptEntry};
    use runtime_core::store::WorkerRecord;
    let at = Timestamp::UNIX_EPOCH;
    let mut records = Vec::with_capacity(workers * (entries + 1));
    for w in 0..workers {
        let worker_id = WorkerId::parse(format!("w-{w:08}")).unwrap();
        records.push(Record::Worker(WorkerRecord {
            worker_id: worker_id.clone(),
            title: None,
            profile: "default".into(),
            executor: "echo".into(),
            model: None,
            metadata: Default::default(),
            created_at: at,
            end: None,
        }));
        for seq in 1..=entries as u64 {
            let (role, turn) = if seq % 2 == 1 { (Role::User, seq.div_ceil(2)) } else { (Role::Assistant, seq / 2) };
            let entry = TranscriptEntry::new(seq, role, format!("entry {seq}"), at, Some(turn));
            records.push(Record::Transcript { worker_id: worker_id.clone(), entry });
        }
    }
    records
}
