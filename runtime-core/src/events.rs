//! The runtime's event log: one seq counter, publication in seq order once durable, a retention window
//! for replay, and live fan-out to subscribers.
//!
//! Every state change goes through a [`Tx`]: it holds the sequencer lock while it allocates seqs, hands
//! the change's records to the store and queues its events for publication, so seq order, store order and
//! publication order are one and the same. A single publisher waits for each batch's durability ticket in
//! turn and only then publishes, so no subscriber ever sees an event that a crash could take back.

mod feed;
mod subscription;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};
use runtime_api::{ApiError, ErrorCode, Event, EventBody, Timestamp, WorkerCounts, WorkerId, WorkerState};
use tokio::sync::mpsc;

use crate::store::{Durable, Record, Store, StoreError};

pub(crate) use feed::Feed;
pub(crate) use subscription::Subscription;

/// How many seqs one reservation record covers; a restart skips at most this many.
const RESERVE_BLOCK: u64 = 1 << 16;

/// Allocates seqs, keeps worker counts, and feeds committed batches to the store and the publisher.
pub(crate) struct EventLog {
    sequencer: Mutex<Sequencer>,
    store: Arc<dyn Store>,
    feed: Arc<Feed>,
    to_publisher: mpsc::UnboundedSender<Batch>,
    /// Batches handed to the publisher and not yet published; zero lets a commit publish inline.
    in_flight: Arc<AtomicUsize>,
    store_failed: Arc<AtomicBool>,
    log_id: String,
}

struct Sequencer {
    next: u64,
    reserved_through: u64,
    counts: WorkerCounts,
    /// The ticket of the newest commit; it resolves once everything committed so far is durable.
    last: Durable,
    /// Set at shutdown: nothing more may be committed to the store being closed.
    closed: bool,
}

/// Events of one commit with the ticket that says when they may be published.
struct Batch {
    events: Vec<Arc<Event>>,
    durable: Durable,
}

/// Where the log starts after a restart.
pub(crate) struct LogStart {
    pub(crate) log_id: String,
    pub(crate) retained: Vec<Event>,
    pub(crate) evicted_through: u64,
    pub(crate) reserved_through: u64,
    pub(crate) counts: WorkerCounts,
}

impl EventLog {
    /// Starts the log and its publisher task; must run inside a tokio runtime.
    pub(crate) fn start(store: Arc<dyn Store>, start: LogStart, retention: usize, live_buffer: usize) -> Self {
        let last_stored = start.retained.last().map_or(start.evicted_through, |e| e.seq);
        let next = last_stored.max(start.reserved_through) + 1;
        let feed = Arc::new(Feed::new(retention, live_buffer, start.retained, start.evicted_through, last_stored));
        let (to_publisher, rx) = mpsc::unbounded_channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let store_failed = Arc::new(AtomicBool::new(false));
        tokio::spawn(publish_in_order(rx, feed.clone(), in_flight.clone(), store_failed.clone()));
        EventLog {
            sequencer: Mutex::new(Sequencer {
                next,
                reserved_through: start.reserved_through,
                counts: start.counts,
                last: Durable::done(),
                closed: false,
            }),
            store,
            feed,
            to_publisher,
            in_flight,
            store_failed,
            log_id: start.log_id,
        }
    }

    /// Opens a transaction for one worker whose state is `state` (`None` while it is being created).
    pub(crate) fn begin(&self, worker_id: &WorkerId, state: Option<WorkerState>) -> Result<Tx<'_>, ApiError> {
        if self.store_failed.load(Ordering::Acquire) {
            return Err(ApiError::new(
                ErrorCode::RuntimeUnavailable,
                "the runtime's store is failing; changes are refused until the runtime restarts",
            ));
        }
        let sequencer = self.sequencer.lock();
        if sequencer.closed {
            return Err(ApiError::new(ErrorCode::RuntimeUnavailable, "the runtime is shutting down"));
        }
        let first_seq = sequencer.next;
        Ok(Tx {
            log: self,
            sequencer,
            first_seq,
            worker_id: worker_id.clone(),
            initial: state,
            state,
            at: Timestamp::now(),
            records: Vec::new(),
            events: Vec::new(),
            committed: false,
        })
    }

    /// The newest seq handed out, the worker counts consistent with it, and the ticket that says when
    /// everything up to it is durable.
    pub(crate) fn position(&self) -> (u64, WorkerCounts, Durable) {
        let s = self.sequencer.lock();
        (s.next - 1, s.counts, s.last.clone())
    }

    /// Refuses every later commit; called at shutdown before the store is closed.
    pub(crate) fn close(&self) {
        self.sequencer.lock().closed = true;
    }

    /// The newest seq handed out.
    pub(crate) fn last_seq(&self) -> u64 {
        self.sequencer.lock().next - 1
    }

    /// Publication, retention and subscriber attachment.
    pub(crate) fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// The log's identity (see `RuntimeSummary::log_id`).
    pub(crate) fn log_id(&self) -> &str {
        &self.log_id
    }

    /// Whether a durability failure has been seen.
    pub(crate) fn store_failed(&self) -> bool {
        self.store_failed.load(Ordering::Acquire)
    }

    fn mark_store_failed(&self, error: &StoreError) {
        mark_store_failed(&self.store_failed, error);
    }

    /// The store behind the log.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// Publishes committed batches in commit order, each once its records are durable.
async fn publish_in_order(
    mut rx: mpsc::UnboundedReceiver<Batch>,
    feed: Arc<Feed>,
    in_flight: Arc<AtomicUsize>,
    store_failed: Arc<AtomicBool>,
) {
    // Nothing after a failed batch may be published: the store lacks it, and perhaps the reservation that
    // covered later seqs.
    let mut failed = false;
    while let Some(batch) = rx.recv().await {
        if !failed {
            match batch.durable.wait().await {
                Ok(()) => feed.publish(&batch.events),
                Err(error) => {
                    failed = true;
                    mark_store_failed(&store_failed, &error);
                }
            }
        }
        in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

fn mark_store_failed(flag: &AtomicBool, error: &StoreError) {
    if !flag.swap(true, Ordering::AcqRel) {
        tracing::error!(%error, "store failed to persist a batch; refusing further changes");
    }
}

/// One atomic change of one worker: its events, its records and its state transition.
///
/// Dropping a transaction without committing hands its seqs back, as if it never happened.
pub(crate) struct Tx<'a> {
    log: &'a EventLog,
    sequencer: MutexGuard<'a, Sequencer>,
    first_seq: u64,
    worker_id: WorkerId,
    initial: Option<WorkerState>,
    state: Option<WorkerState>,
    at: Timestamp,
    records: Vec<Record>,
    events: Vec<(u64, EventBody)>,
    committed: bool,
}

impl Tx<'_> {
    /// The time every event and entry of this change is stamped with.
    pub(crate) fn at(&self) -> Timestamp {
        self.at
    }

    /// Adds an event and returns its seq.
    pub(crate) fn event(&mut self, body: EventBody) -> u64 {
        let seq = self.sequencer.next;
        self.sequencer.next += 1;
        self.events.push((seq, body));
        seq
    }

    /// Adds a record to persist with the change.
    pub(crate) fn record(&mut self, record: Record) {
        self.records.push(record);
    }

    /// Sets the worker's state after the change; every event of the change carries it.
    pub(crate) fn set_state(&mut self, state: WorkerState) {
        self.state = Some(state);
    }

    /// Persists and publishes the change; the ticket says when it is durable.
    pub(crate) fn commit(mut self) -> Durable {
        self.committed = true;
        let state = self.state.expect("a committed change leaves the worker in some state");
        let last = self.sequencer.next - 1;
        let mut records = Vec::with_capacity(self.records.len() + self.events.len() + 1);
        if last > self.sequencer.reserved_through {
            let through = last + RESERVE_BLOCK;
            self.sequencer.reserved_through = through;
            records.push(Record::SeqReserved { through });
        }
        let events: Vec<Arc<Event>> = std::mem::take(&mut self.events)
            .into_iter()
            .map(|(seq, body)| Arc::new(Event { seq, at: self.at, worker_id: self.worker_id.clone(), state, body }))
            .collect();
        records.append(&mut self.records);
        records.extend(events.iter().filter(|e| e.is_durable()).map(|e| Record::Event(e.clone())));
        if self.initial != Some(state) {
            adjust(&mut self.sequencer.counts, self.initial, -1);
            adjust(&mut self.sequencer.counts, Some(state), 1);
        }

        let log = self.log;
        let durable = if records.is_empty() { Durable::done() } else { log.store.append(records) };
        if durable.peek().is_none() {
            self.sequencer.last = durable.clone();
        }
        if events.is_empty() || log.store_failed() {
            return durable;
        }
        // With nothing queued ahead and the batch already durable, publishing here keeps order (we still
        // hold the sequencer lock) and saves live events a trip through the publisher task.
        if log.in_flight.load(Ordering::Acquire) == 0 {
            match durable.peek() {
                Some(Ok(())) => {
                    log.feed.publish(&events);
                    return durable;
                }
                Some(Err(error)) => {
                    log.mark_store_failed(&error);
                    return durable;
                }
                None => {}
            }
        }
        log.in_flight.fetch_add(1, Ordering::AcqRel);
        if log.to_publisher.send(Batch { events, durable: durable.clone() }).is_err() {
            log.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
        durable
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.sequencer.next = self.first_seq;
        }
    }
}

fn adjust(counts: &mut WorkerCounts, state: Option<WorkerState>, delta: i64) {
    let Some(state) = state else { return };
    let slot = match state {
        WorkerState::Idle => &mut counts.idle,
        WorkerState::Busy => &mut counts.busy,
        WorkerState::Stopped => &mut counts.stopped,
        WorkerState::Failed => &mut counts.failed,
    };
    *slot = slot.wrapping_add_signed(delta);
    counts.total = counts.idle + counts.busy + counts.stopped + counts.failed;
}

/// Worker counts from a list of states.
pub(crate) fn count_states(states: impl IntoIterator<Item = WorkerState>) -> WorkerCounts {
    let mut counts = WorkerCounts::default();
    for state in states {
        adjust(&mut counts, Some(state), 1);
    }
    counts
}
