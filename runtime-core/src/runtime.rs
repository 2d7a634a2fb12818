//! The runtime: a cheap handle over shared state, and every operation a source or server calls.

mod commands;
mod culling;
pub(crate) mod recover;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use runtime_api::runtime::feature;
use runtime_api::{
    ApiError, CancelAck, Capabilities, Command, CreateWorkerRequest, ErrorCode, FrameStream, InputAck, InputRequest,
    LifecycleRequest, ListQuery, ProfileList, ProtocolInfo, RuntimeId, RuntimeStatus, RuntimeSummary, Snapshot,
    SnapshotState, StopAck, StreamFrame, SubscribeRequest, TranscriptPage, TranscriptQuery, WhenBusy, WorkerDetail,
    WorkerId, WorkerPage,
};
use tokio_util::sync::CancellationToken;

use crate::events::{EventLog, LogStart, Subscription, count_states};
use crate::executor::ExecutorError;
use crate::idempotency::Remembered;
use crate::ids::WorkerIds;
use crate::profile::ProfileSet;
use crate::store::{Durable, KeyRetention, Store, StoreError};
use crate::turn;
use crate::view;
use crate::worker::Worker;
use crate::worker::machine::{TurnPolicy, TurnStart};

/// Features every runtime built from this library implements.
const FEATURES: &[&str] = &[
    feature::PROFILES,
    feature::WORKERS_READ,
    feature::WORKERS_CREATE,
    feature::WORKERS_INPUT,
    feature::WORKERS_LIFECYCLE,
    feature::TRANSCRIPT,
    feature::EVENTS,
    feature::EVENTS_RESUME,
    feature::IDEMPOTENCY,
];

/// How a runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The runtime's id.
    pub runtime_id: RuntimeId,
    /// Human name.
    pub display_name: String,
    /// Durable events kept for replay.
    pub event_retention: usize,
    /// Events a live subscriber may fall behind before it is told it lagged.
    pub live_buffer: usize,
    /// Quiet time after which a subscription gets a heartbeat.
    pub heartbeat_interval: Duration,
    /// Most inputs queued behind a running turn.
    pub queue_capacity: usize,
    /// How long and how many idempotency keys are remembered.
    pub keys: KeyRetention,
    /// When set, a worker idle this long is stopped with reason `idle_timeout` (Jupyter's culling).
    pub idle_timeout: Option<Duration>,
}

impl RuntimeConfig {
    /// Defaults for everything but identity.
    pub fn new(runtime_id: RuntimeId, display_name: impl Into<String>) -> Self {
        RuntimeConfig {
            runtime_id,
            display_name: display_name.into(),
            event_retention: 10_000,
            live_buffer: 4_096,
            heartbeat_interval: Duration::from_secs(15),
            queue_capacity: 16,
            keys: KeyRetention::default(),
            idle_timeout: None,
        }
    }
}

/// Why a runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be loaded or repaired.
    #[error("cannot load the store: {0}")]
    Store(#[from] StoreError),
}

/// A running runtime; clones share it.
#[derive(Clone)]
pub struct Runtime {
    core: Arc<Core>,
}

/// State shared by the runtime handle and its turn tasks.
pub(crate) struct Core {
    config: RuntimeConfig,
    profiles: ProfileSet,
    pub(crate) log: EventLog,
    workers: RwLock<BTreeMap<WorkerId, Arc<Worker>>>,
    ids: WorkerIds,
    policy: TurnPolicy,
    /// Commands remembered by idempotency key.
    remembered: Remembered,
    /// Cancelled at shutdown; every turn's token is a child of it.
    shutdown: CancellationToken,
}

impl Runtime {
    /// Loads the store, records what a crash interrupted, and starts serving. Must run inside tokio.
    pub async fn start(config: RuntimeConfig, profiles: ProfileSet, store: Arc<dyn Store>) -> Result<Self, StartError> {
        let snapshot = store.load()?;
        let rebuilt: Vec<_> = snapshot.workers.into_iter().map(|w| recover::rebuild(w, &profiles)).collect();
        let counts = count_states(rebuilt.iter().map(|w| w.inner.state));
        let start = LogStart {
            log_id: snapshot.log_id,
            retained: snapshot.events,
            evicted_through: snapshot.evicted_through,
            reserved_through: snapshot.reserved_through,
            counts,
        };
        let log = EventLog::start(store, start, config.event_retention, config.live_buffer);
        let ids = WorkerIds::after(rebuilt.iter().map(|w| &w.inner.record.worker_id));
        let shutdown = CancellationToken::new();
        let policy = TurnPolicy { queue_capacity: config.queue_capacity, turns: shutdown.clone() };

        let mut workers = BTreeMap::new();
        let mut repairs = Vec::new();
        for rebuilt in rebuilt {
            let worker = Worker::new(rebuilt.inner);
            if !rebuilt.unfinished.is_empty() || rebuilt.failure.is_some() {
                repairs.push((worker.clone(), rebuilt.unfinished, rebuilt.failure));
            }
            workers.insert(worker.id.clone(), worker);
        }
        let remembered = Remembered::new(config.keys, snapshot.commands);
        let workers = RwLock::new(workers);
        let core = Arc::new(Core { config, profiles, log, workers, ids, policy, remembered, shutdown });
        let mut last = Durable::done();
        for (worker, unfinished, failure) in repairs {
            let mut inner = worker.inner.lock();
            let mut tx = core.log.begin(&worker.id, Some(inner.state)).map_err(|_| StoreError::Closed)?;
            inner.interrupt_unfinished(&mut tx, &unfinished);
            if let Some(error) = failure {
                inner.fail(&mut tx, error);
            }
            last = inner.commit(tx);
        }
        // Tickets resolve in order, so the last one covers every repair.
        last.wait().await?;
        if let Some(idle) = core.config.idle_timeout {
            culling::spawn(Arc::downgrade(&core), idle);
        }
        Ok(Runtime { core })
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.core.config
    }

    /// The runtime's summary.
    pub fn summary(&self) -> RuntimeSummary {
        self.core.summary().0
    }

    /// A bounded page of workers in creation order; costs O(log n + limit).
    pub async fn list(&self, query: &ListQuery) -> Result<WorkerPage, ApiError> {
        let (page, limit, next_after) = {
            let workers = self.core.workers.read();
            let (page, limit, next_after) = view::page_of(&workers, query);
            (page.into_iter().cloned().collect::<Vec<Arc<Worker>>>(), limit, next_after)
        };
        let mut workers = Vec::with_capacity(page.len());
        let mut pending = Vec::new();
        for worker in &page {
            let inner = worker.inner.lock();
            workers.push(inner.summary(&self.core.config.runtime_id));
            if inner.last_change.peek().is_none() {
                pending.push(inner.last_change.clone());
            }
        }
        for durable in pending {
            self.core.durable(durable).await?;
        }
        Ok(WorkerPage { workers, limit, next_after })
    }

    /// One worker's detail.
    pub async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        let worker = self.core.worker(worker_id)?;
        let (detail, durable) = {
            let inner = worker.inner.lock();
            (inner.detail(&self.core.config.runtime_id), inner.last_change.clone())
        };
        self.core.durable(durable).await?;
        Ok(detail)
    }

    /// A bounded page of a worker's transcript; costs O(limit) whatever the transcript's length.
    pub async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        let worker = self.core.worker(worker_id)?;
        let (page, durable) = {
            let inner = worker.inner.lock();
            (inner.page(query), inner.last_change.clone())
        };
        self.core.durable(durable).await?;
        Ok(page)
    }

    /// Creates a worker with the requested (or the default) profile; returns once it is durable.
    pub async fn create(&self, request: CreateWorkerRequest) -> Result<WorkerDetail, ApiError> {
        self.command(Command::Create(request), None).await?.into_create()
    }

    /// Sends input (SPEC §3); acknowledged once the input is durable.
    pub async fn input(&self, worker_id: &WorkerId, request: InputRequest) -> Result<InputAck, ApiError> {
        self.command(Command::Input(worker_id.clone(), request), None).await?.into_input()
    }

    /// Cancels the running turn (and drops queued inputs); accepted with nothing to do when idle.
    pub async fn cancel(&self, worker_id: &WorkerId, request: LifecycleRequest) -> Result<CancelAck, ApiError> {
        self.command(Command::Cancel(worker_id.clone(), request), None).await?.into_cancel()
    }

    /// Stops the worker, cancelling a running turn first; repeating it is harmless.
    pub async fn stop(&self, worker_id: &WorkerId, request: LifecycleRequest) -> Result<StopAck, ApiError> {
        self.command(Command::Stop(worker_id.clone(), request), None).await?.into_stop()
    }

    /// Opens an event subscription: a snapshot, then (with `after`) every retained durable event after the
    /// cursor, then live events.
    pub fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        let core = &self.core;
        core.check_open()?;
        // Attach before taking the snapshot: everything published from here on reaches the subscriber, and
        // whatever the snapshot already reflects is skipped by seq.
        let newest = Some(core.log.last_seq());
        let attachment = core.log.feed().attach(request.after, newest).map_err(|e| core.scoped(e))?;
        let (state, seq, durable) = match &request.worker_id {
            Some(worker_id) => {
                let worker = core.worker(worker_id)?;
                let inner = worker.inner.lock();
                let seq = core.log.last_seq();
                let worker = inner.detail(&core.config.runtime_id);
                (SnapshotState::Worker { worker }, seq, inner.last_change.clone())
            }
            None => {
                let (runtime, seq, durable) = core.summary();
                (SnapshotState::Runtime { runtime }, seq, durable)
            }
        };
        let snapshot = StreamFrame::Snapshot(Snapshot { seq, log_id: core.log.log_id().to_owned(), state });
        let subscription = Subscription::new(
            core.log.feed().clone(),
            request.worker_id,
            snapshot,
            durable,
            attachment,
            request.after.unwrap_or(seq),
            core.config.heartbeat_interval,
            core.shutdown.child_token(),
        );
        Ok(subscription.into_stream())
    }

    /// The profiles workers can be created with.
    pub fn profiles(&self) -> ProfileList {
        ProfileList { profiles: self.core.profiles.infos() }
    }

    /// Number of open subscriptions.
    pub fn subscribers(&self) -> usize {
        self.core.log.feed().subscribers()
    }

    /// Stops serving: ends subscriptions, aborts running turns without recording anything (a restart
    /// reports them as interrupted) and makes the store durable.
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        // Close the log first: a turn finishing or a command arriving from here on commits nothing.
        self.core.log.close();
        self.core.shutdown.cancel();
        self.core.log.store().close().await
    }
}

impl Core {
    /// The summary with the seq its counts are consistent with, and the ticket that says when that state is
    /// durable.
    fn summary(&self) -> (RuntimeSummary, u64, Durable) {
        let (seq, workers, durable) = self.log.position();
        let status = if self.shutdown.is_cancelled() {
            RuntimeStatus::Unavailable
        } else if self.log.store_failed() {
            RuntimeStatus::Degraded
        } else {
            RuntimeStatus::Ready
        };
        let summary = RuntimeSummary {
            runtime_id: self.config.runtime_id.clone(),
            own_id: None,
            display_name: self.config.display_name.clone(),
            status,
            workers,
            capabilities: Capabilities {
                read: true,
                create: true,
                input: true,
                lifecycle: true,
                transcript: true,
                events: true,
                when_busy: WhenBusy::ALL.to_vec(),
                profiles: self.profiles.infos(),
            },
            protocol: ProtocolInfo::current(FEATURES),
            log_id: self.log.log_id().to_owned(),
            last_event_seq: self.log.feed().last_published(),
            heartbeat_ms: Some(u64::try_from(self.config.heartbeat_interval.as_millis()).unwrap_or(u64::MAX)),
        };
        (summary, seq, durable)
    }

    fn worker(&self, worker_id: &WorkerId) -> Result<Arc<Worker>, ApiError> {
        self.workers.read().get(worker_id).cloned().ok_or_else(|| self.scoped(ApiError::worker_not_found(worker_id)))
    }

    /// Records a finished turn and starts the next queued one.
    pub(crate) fn finish_turn(
        self: &Arc<Self>,
        worker: &Arc<Worker>,
        turn_id: u64,
        outcome: Result<(), ExecutorError>,
    ) {
        let (next, durable) = {
            let mut inner = worker.inner.lock();
            let Ok(mut tx) = self.log.begin(&worker.id, Some(inner.state)) else { return };
            match inner.finish_turn(&mut tx, turn_id, outcome, &self.policy) {
                Some(next) => (next, inner.commit(tx)),
                None => return,
            }
        };
        if let Some(start) = next {
            self.spawn_turn(worker.clone(), start, durable);
        }
    }

    fn spawn_turn(self: &Arc<Self>, worker: Arc<Worker>, start: TurnStart, durable: Durable) {
        turn::spawn(self.clone(), worker, start, durable);
    }

    /// Waits until a change is durable; a failure is the store's, so the runtime is unavailable.
    async fn durable(&self, durable: Durable) -> Result<(), ApiError> {
        durable.wait().await.map_err(|error| {
            tracing::error!(runtime_id = %self.config.runtime_id, %error, "change was not persisted");
            self.scoped(ApiError::new(
                ErrorCode::RuntimeUnavailable,
                "the runtime's store failed to persist the change",
            ))
        })
    }

    fn check_open(&self) -> Result<(), ApiError> {
        if self.shutdown.is_cancelled() {
            return Err(self.scoped(ApiError::new(ErrorCode::RuntimeUnavailable, "the runtime is shutting down")));
        }
        Ok(())
    }

    /// Names this runtime on an error that does not name one yet.
    fn scoped(&self, mut error: ApiError) -> ApiError {
        if error.runtime_id.is_none() {
            error.runtime_id = Some(self.config.runtime_id.clone());
        }
        error
    }
}
