//! Helpers for the fs store tests: data directories on a real disk, consistent batches, expected snapshots
//! and directory listings.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use runtime_api::{Event, EventBody, Role, Timestamp, TranscriptEntry, WorkerId, WorkerState};
use runtime_core::Store;
use runtime_core::store::fs::FsStore;
use runtime_core::store::{Record, SnapshotBuilder, StoreSnapshot, WorkerRecord};
use tempfile::TempDir;

/// A fresh data directory under the target directory, on the disk the tests build on: the system temp
/// directory may be a RAM disk, where fsync costs nothing and group commit would never form groups.
pub fn data_dir() -> TempDir {
    tempfile::Builder::new().prefix("fs-store-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// Worker `n`'s id.
pub fn worker(n: usize) -> WorkerId {
    WorkerId::parse(format!("w-{n:04}")).unwrap()
}

/// Produces batches shaped like the runtime's: seqs reserved ahead, one event per change, gap-free
/// transcript seqs per worker.
#[derive(Default)]
pub struct Script {
    last_seq: u64,
    reserved: u64,
    transcripts: BTreeMap<WorkerId, u64>,
}

impl Script {
    pub fn new() -> Self {
        Self::default()
    }

    /// Goes on from a store whose highest used or reserved seq is `seq`.
    pub fn after(seq: u64) -> Self {
        Script { last_seq: seq, reserved: seq, transcripts: BTreeMap::new() }
    }

    /// Creates worker `n`.
    pub fn create(&mut self, n: usize) -> Vec<Record> {
        let id = worker(n);
        let record = WorkerRecord {
            worker_id: id.clone(),
            title: Some(format!("worker {n}")),
            profile: "fast".into(),
            executor: "echo".into(),
            model: None,
            metadata: Default::default(),
            created_at: Timestamp::UNIX_EPOCH,
            end: None,
        };
        self.transcripts.insert(id.clone(), 0);
        let mut batch = vec![Record::Worker(record)];
        batch.extend(self.event(&id));
        batch
    }

    /// Appends `text` to worker `n`'s transcript.
    pub fn input(&mut self, n: usize, text: &str) -> Vec<Record> {
        let id = worker(n);
        let seq = self.transcripts.get_mut(&id).expect("created first");
        *seq += 1;
        let entry = TranscriptEntry::new(*seq, Role::User, text.into(), Timestamp::UNIX_EPOCH, Some(*seq));
        let mut batch = vec![Record::Transcript { worker_id: id.clone(), entry }];
        batch.extend(self.event(&id));
        batch
    }

    /// A batch with just one event about worker `n`.
    pub fn event_only(&mut self, n: usize) -> Vec<Record> {
        self.event(&worker(n))
    }

    fn event(&mut self, id: &WorkerId) -> Vec<Record> {
        self.last_seq += 1;
        let mut records = Vec::new();
        if self.last_seq > self.reserved {
            self.reserved = self.last_seq + 10;
            records.push(Record::SeqReserved { through: self.reserved });
        }
        let body = EventBody::TurnStarted { turn_id: self.last_seq };
        let event = Event {
            seq: self.last_seq,
            at: Timestamp::UNIX_EPOCH,
            worker_id: id.clone(),
            state: WorkerState::Busy,
            body,
        };
        records.push(Record::Event(Arc::new(event)));
        records
    }
}

/// The snapshot a store holding exactly `batches` must load.
pub fn expected(batches: &[Vec<Record>], log_id: &str, retention: usize) -> StoreSnapshot {
    let mut builder = SnapshotBuilder::new(log_id);
    for record in batches.iter().flatten() {
        builder.apply(record.clone()).unwrap();
    }
    let mut snapshot = builder.finish();
    if snapshot.events.len() > retention {
        let dropped = snapshot.events.len() - retention;
        snapshot.evicted_through = snapshot.events[dropped - 1].seq;
        snapshot.events.drain(..dropped);
    }
    snapshot
}

/// Appends each batch and waits until it is durable.
pub async fn append_all(store: &FsStore, batches: &[Vec<Record>]) {
    for batch in batches {
        store.append(batch.clone()).wait().await.expect("batch is durable");
    }
}

/// Every file under `dir` with its size and modification time.
pub fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            }
            files.insert(entry.path().strip_prefix(dir).unwrap().to_path_buf(), (meta.len(), meta.modified().unwrap()));
        }
    }
    files
}

/// The journal segments, oldest first.
pub fn journal(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> =
        std::fs::read_dir(dir.join("journal")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    segments
}

/// The lines of a file.
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
}

/// Appends raw bytes to a file, as a crash in the middle of a write would leave them.
pub fn append_raw(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

/// Every line of every JSON file in the directory parses: nothing torn is left behind.
pub fn every_line_parses(dir: &Path) {
    for (path, _) in listing(dir) {
        let name = path.to_string_lossy().into_owned();
        if name.ends_with(".json") || name.ends_with(".jsonl") {
            for (n, line) in lines(&dir.join(&path)).iter().enumerate() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{name} line {}: {e}", n + 1));
            }
        }
    }
}

/// Whether the journal holds nothing but the writer's empty segment.
pub fn journal_is_fresh(dir: &Path) -> bool {
    matches!(journal(dir).as_slice(), [only] if std::fs::metadata(only).unwrap().len() == 0)
}
