//! What a store hands back at start: worker records, transcripts and the retained event log.

use std::collections::{BTreeMap, btree_map};
use std::sync::Arc;

use runtime_api::{Event, Timestamp, TranscriptEntry, WorkerId, WorkerState};
use serde::{Deserialize, Serialize};

use super::{CommandRecord, Record, StoreError};

/// A worker's durable metadata. Busy and idle are not stored: they follow from the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// The worker.
    pub worker_id: WorkerId,
    /// Optional human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Profile name at create.
    pub profile: String,
    /// Executor name at create.
    pub executor: String,
    /// The model the profile asked for at create, for executors that call one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Client labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// Set once the worker is stopped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<WorkerEnd>,
}

/// How and when a worker ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerEnd {
    /// `stopped` or `failed`.
    pub state: WorkerState,
    /// Why, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// One worker as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWorker {
    /// Its metadata.
    pub record: WorkerRecord,
    /// Its whole transcript, seq 1 first.
    pub transcript: Vec<TranscriptEntry>,
}

/// Everything a store holds, as loaded at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSnapshot {
    /// Identifies the event log; stays the same for as long as the stored seqs do.
    pub log_id: String,
    /// Every worker, in id order.
    pub workers: Vec<StoredWorker>,
    /// The retained durable events, in seq order.
    pub events: Vec<Event>,
    /// Highest seq of an event that is no longer retained (0 when none was dropped).
    pub evicted_through: u64,
    /// Highest seq ever reserved; seqs up to it are never handed out again.
    pub reserved_through: u64,
    /// Commands remembered by idempotency key, oldest first; the runtime drops those past its retention.
    pub commands: Vec<Arc<CommandRecord>>,
}

impl StoreSnapshot {
    /// A store with nothing in it yet.
    pub fn empty(log_id: impl Into<String>) -> Self {
        StoreSnapshot {
            log_id: log_id.into(),
            workers: Vec::new(),
            events: Vec::new(),
            evicted_through: 0,
            reserved_through: 0,
            commands: Vec::new(),
        }
    }
}

/// Folds a stream of records, in append order, into a [`StoreSnapshot`].
///
/// For stores that replay what they wrote. It tolerates what a crash can leave behind: a record repeated
/// from a batch that was being rewritten is skipped, and transcript lines for a worker whose record never
/// reached the disk are dropped (no such write was ever acknowledged).
#[derive(Debug)]
pub struct SnapshotBuilder {
    log_id: String,
    workers: BTreeMap<WorkerId, StoredWorker>,
    events: Vec<Event>,
    evicted_through: u64,
    reserved_through: u64,
    commands: Commands,
}

impl SnapshotBuilder {
    /// Starts an empty snapshot of the given log.
    pub fn new(log_id: impl Into<String>) -> Self {
        SnapshotBuilder {
            log_id: log_id.into(),
            workers: BTreeMap::new(),
            events: Vec::new(),
            evicted_through: 0,
            reserved_through: 0,
            commands: Commands::default(),
        }
    }

    /// Records that events up to `seq` were dropped from retention.
    pub fn evicted_through(&mut self, seq: u64) {
        self.evicted_through = self.evicted_through.max(seq);
        self.events.retain(|e| e.seq > seq);
    }

    /// Applies one record.
    pub fn apply(&mut self, record: Record) -> Result<(), StoreError> {
        match record {
            Record::Worker(record) => {
                let id = record.worker_id.clone();
                self.workers
                    .entry(id)
                    .and_modify(|w| w.record = record.clone())
                    .or_insert_with(|| StoredWorker { record, transcript: Vec::new() });
            }
            Record::Transcript { worker_id, entry } => {
                let Some(worker) = self.workers.get_mut(&worker_id) else {
                    return Ok(());
                };
                let next = worker.transcript.len() as u64 + 1;
                if entry.seq < next {
                    return Ok(());
                }
                if entry.seq > next {
                    return Err(StoreError::Corrupt(format!(
                        "transcript of worker {worker_id} jumps from seq {} to {}",
                        next - 1,
                        entry.seq
                    )));
                }
                worker.transcript.push(entry);
            }
            Record::Event(event) => {
                if event.seq > self.events.last().map_or(self.evicted_through, |e| e.seq) {
                    self.events.push(Arc::unwrap_or_clone(event));
                }
            }
            Record::SeqReserved { through } => self.reserved_through = self.reserved_through.max(through),
            Record::Command(command) => self.commands.insert(command),
        }
        Ok(())
    }

    /// The snapshot.
    pub fn finish(self) -> StoreSnapshot {
        StoreSnapshot {
            log_id: self.log_id,
            workers: self.workers.into_values().collect(),
            events: self.events,
            evicted_through: self.evicted_through,
            reserved_through: self.reserved_through,
            commands: self.commands.into_oldest_first(),
        }
    }
}

/// Remembered commands by key, each once: a record read twice (from a file and again from the journal) is
/// kept once, and a key used again after its first command left the retention window keeps the newer one.
#[derive(Debug, Default, Clone)]
pub struct Commands {
    by_key: BTreeMap<runtime_api::IdempotencyKey, Arc<CommandRecord>>,
}

impl Commands {
    /// Adds a record unless its key is already known from the same or a later command. Compared by time
    /// rather than by reading order: a reader racing a checkpoint may see a file newer than the journal.
    pub fn insert(&mut self, record: Arc<CommandRecord>) {
        match self.by_key.entry(record.key.clone()) {
            btree_map::Entry::Vacant(slot) => {
                slot.insert(record);
            }
            btree_map::Entry::Occupied(mut slot) => {
                if record.at > slot.get().at {
                    slot.insert(record);
                }
            }
        }
    }

    /// Drops the records older than `oldest`, then the oldest ones beyond `capacity`.
    pub fn prune(&mut self, oldest: Timestamp, capacity: usize) {
        self.by_key.retain(|_, record| record.at >= oldest);
        if self.by_key.len() > capacity {
            let mut ages: Vec<Timestamp> = self.by_key.values().map(|r| r.at).collect();
            ages.sort_unstable();
            let cut = ages[self.by_key.len() - capacity];
            self.by_key.retain(|_, record| record.at >= cut);
        }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Every record, oldest first.
    pub fn into_oldest_first(self) -> Vec<Arc<CommandRecord>> {
        let mut records: Vec<_> = self.by_key.into_values().collect();
        records.sort_by_key(|r| r.at);
        records
    }

    /// Every record, oldest first, without consuming.
    pub fn oldest_first(&self) -> Vec<Arc<CommandRecord>> {
        self.clone().into_oldest_first()
    }
}
