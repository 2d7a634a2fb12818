//! Where a runtime keeps what must survive: the `Store` trait, its records and the durability ticket.
//!
//! The runtime is the only writer. It hands a store ordered batches of [`Record`]s under its sequencer lock
//! and gets back a [`Durable`] ticket that resolves once the batch is on stable storage. Tickets resolve in
//! the order their batches were appended, which is what lets the runtime publish events in seq order and
//! acknowledge an input only after it is durable.

pub mod fs;
mod memory;
mod snapshot;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use runtime_api::{CommandAck, Event, IdempotencyKey, Timestamp, TranscriptEntry, WorkerId};
use serde::{Deserialize, Serialize};

pub use memory::MemoryStore;
pub use snapshot::{Commands, SnapshotBuilder, StoreSnapshot, StoredWorker, WorkerEnd, WorkerRecord};

/// One durable change, in the order the runtime made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A worker's metadata, written at create and when it ends; replaces the previous one.
    Worker(WorkerRecord),
    /// A transcript entry appended to a worker's transcript.
    Transcript {
        /// The worker.
        worker_id: WorkerId,
        /// The entry.
        entry: TranscriptEntry,
    },
    /// A durable event.
    Event(Arc<Event>),
    /// No event seq up to this one may be handed out again, even if no event with it was stored
    /// (live-only events consume seqs too).
    SeqReserved {
        /// The highest reserved seq.
        through: u64,
    },
    /// A command sent with an idempotency key, and its ack; written in the same batch as the command's
    /// own records, so after a crash both are there or neither is.
    Command(Arc<CommandRecord>),
}

/// A remembered command: what a repeat of its key gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// The client's key.
    pub key: IdempotencyKey,
    /// What the command asked for (see `Command::fingerprint`), so a different request under the same key
    /// is refused rather than answered with this ack.
    pub fingerprint: String,
    /// When it ran; the key is forgotten once this leaves the retention window.
    pub at: Timestamp,
    /// The answer it got.
    pub ack: CommandAck,
}

/// How long and how many idempotency keys a runtime and its store remember.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRetention {
    /// A key older than this is forgotten, and a repeat of it runs again.
    pub window: std::time::Duration,
    /// Beyond this many keys the oldest are forgotten first, which bounds memory and disk.
    pub capacity: usize,
}

impl KeyRetention {
    /// The oldest moment a key remembered now may come from.
    pub fn oldest(&self, now: Timestamp) -> Timestamp {
        let window = jiff::SignedDuration::try_from(self.window).unwrap_or(jiff::SignedDuration::MAX);
        now.checked_sub(window).unwrap_or(Timestamp::MIN)
    }
}

/// A day, like the usual HTTP API idempotency windows, and at most 10,000 keys.
impl Default for KeyRetention {
    fn default() -> Self {
        KeyRetention { window: std::time::Duration::from_secs(24 * 60 * 60), capacity: 10_000 }
    }
}

/// Why a store could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The operating system refused a read, write or sync.
    #[error("{context}: {source}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// Stored data could not be understood.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// Another process holds the store.
    #[error("store is in use by another process")]
    Locked,
    /// The store was closed.
    #[error("store is closed")]
    Closed,
}

/// The backing storage of a runtime.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short name for summaries and logs (`memory`, `fs`).
    fn kind(&self) -> &'static str;

    /// Everything stored so far; called once, before the first append.
    fn load(&self) -> Result<StoreSnapshot, StoreError>;

    /// Queues a batch behind every earlier one and returns at once; the ticket resolves when the batch and
    /// everything appended before it is durable. Called with the runtime's sequencer lock held, so it must
    /// not block. A batch is atomic: after a crash, [`Store::load`] returns all of its records or none.
    fn append(&self, batch: Vec<Record>) -> Durable;

    /// Makes everything appended durable and releases the store.
    async fn close(&self) -> Result<(), StoreError>;
}

/// Resolves when a batch handed to [`Store::append`] is durable; cheap to clone and await many times.
#[derive(Clone)]
pub struct Durable(DurableState);

#[derive(Clone)]
enum DurableState {
    Done(Result<(), StoreError>),
    Waiting(Shared<BoxFuture<'static, Result<(), StoreError>>>),
}

impl Durable {
    /// Already durable (or nothing to persist).
    pub fn done() -> Self {
        Durable(DurableState::Done(Ok(())))
    }

    /// Failed before anything was written.
    pub fn failed(error: StoreError) -> Self {
        Durable(DurableState::Done(Err(error)))
    }

    /// Durable when `future` resolves.
    pub fn when(future: impl Future<Output = Result<(), StoreError>> + Send + 'static) -> Self {
        Durable(DurableState::Waiting(future.boxed().shared()))
    }

    /// Waits until the batch is durable.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            DurableState::Done(result) => result,
            DurableState::Waiting(future) => future.await,
        }
    }

    /// The outcome, if it is already known.
    pub fn peek(&self) -> Option<Result<(), StoreError>> {
        match &self.0 {
            DurableState::Done(result) => Some(result.clone()),
            DurableState::Waiting(future) => future.peek().cloned(),
        }
    }
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.peek().is_some() { "Durable(done)" } else { "Durable(waiting)" })
    }
}
