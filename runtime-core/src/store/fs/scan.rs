//! Reading a data directory into a snapshot: the worker and event files first, the journal on top.
//!
//! One pass serves both the owner at open, which also repairs torn tails and learns what the files hold so
//! the checkpointer can append without repeating anything, and read-only readers, which may run while the
//! owner is writing.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File};
use std::io;
use std::sync::Arc;

use runtime_api::{Event, TranscriptEntry, WorkerId};
use serde::Deserialize;

use super::layout::{COMMANDS, EVENTS, JOURNAL, Layout, StoreFile, io_error};
use super::lines::{self, Tail};
use crate::store::{CommandRecord, Commands, Record, SnapshotBuilder, StoreError, StoreSnapshot, WorkerRecord};

/// Whether a scan may change the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Never writes: for readers that do not own the directory.
    ReadOnly,
    /// Cuts torn last lines off the worker and event files: for the owner, before it appends to them.
    Repair,
}

/// What the worker and event files hold, as the checkpointer needs it.
#[derive(Debug)]
pub(super) struct DiskState {
    /// The contents of `store.json`.
    pub(super) store: StoreFile,
    /// Every worker directory.
    pub(super) workers: BTreeMap<WorkerId, WorkerFiles>,
    /// The events files, oldest first; new events go into the last one.
    pub(super) event_files: VecDeque<EventFile>,
    /// Highest event seq in the event files (or evicted from them).
    pub(super) last_event_seq: u64,
    /// Journal segments found, ascending: written by an earlier process and not yet checkpointed.
    pub(super) segments: Vec<u64>,
    /// What `commands.jsonl` holds; a checkpoint that adds to it writes it out whole.
    pub(super) commands: Commands,
}

/// What one worker's directory holds.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct WorkerFiles {
    /// Whether `meta.json` exists.
    pub(super) has_meta: bool,
    /// The seq of the last entry in `transcript.jsonl` (0 when empty or missing).
    pub(super) transcript_len: u64,
}

/// One events file.
#[derive(Debug, Clone, Copy)]
pub(super) struct EventFile {
    /// The seq in its name.
    pub(super) first: u64,
    /// The seq of its last event (0 when it has none).
    pub(super) last: u64,
    /// How many events it holds.
    pub(super) count: usize,
}

/// One journal line: the records of one batch.
#[derive(Deserialize)]
struct JournalBatch {
    records: Vec<Record>,
}

/// Reads the directory into the snapshot a store over it would load, keeping the last `retention` events.
pub(super) fn scan(layout: &Layout, retention: usize, mode: Mode) -> Result<(StoreSnapshot, DiskState), StoreError> {
    // Open the journal before reading anything else. A checkpoint running meanwhile deletes a segment only
    // after its records reached the files read below, and a segment opened here stays readable after it is
    // deleted, so every record is seen at least once; the builder skips what it sees twice.
    let mut segments = Vec::new();
    for number in layout.numbered(JOURNAL)? {
        let rel = Layout::segment(number);
        match File::open(layout.path(&rel)) {
            Ok(file) => segments.push((number, file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(format!("cannot open {rel}"), e)),
        }
    }
    let store = layout.read_store_file()?;
    let mut builder = SnapshotBuilder::new(store.log_id.clone());
    builder.evicted_through(store.evicted_through);
    builder.apply(Record::SeqReserved { through: store.reserved_through })?;

    let workers = read_workers(layout, &mut builder, mode)?;
    let event_files = read_events(layout, &mut builder, mode)?;
    let commands = read_commands(layout, &mut builder)?;
    let last_event_seq = event_files.iter().map(|f| f.last).max().unwrap_or(0).max(store.evicted_through);
    let mut numbers = Vec::with_capacity(segments.len());
    for (number, file) in segments {
        read_segment(file, number, |record| builder.apply(record))?;
        numbers.push(number);
    }

    let mut snapshot = builder.finish();
    if snapshot.events.len() > retention {
        let dropped = snapshot.events.len() - retention;
        snapshot.evicted_through = snapshot.evicted_through.max(snapshot.events[dropped - 1].seq);
        snapshot.events.drain(..dropped);
    }
    let disk = DiskState { store, workers, event_files, last_event_seq, segments: numbers, commands };
    Ok((snapshot, disk))
}

/// Hands every record of every whole line of a journal segment to `each`, batch by batch. A batch is one
/// line, so a torn batch is dropped whole.
pub(super) fn read_segment(
    file: File,
    number: u64,
    mut each: impl FnMut(Record) -> Result<(), StoreError>,
) -> Result<Tail, StoreError> {
    lines::read::<JournalBatch>(file, &Layout::segment(number), |batch| {
        batch.records.into_iter().try_for_each(&mut each)
    })
}

fn read_workers(
    layout: &Layout,
    builder: &mut SnapshotBuilder,
    mode: Mode,
) -> Result<BTreeMap<WorkerId, WorkerFiles>, StoreError> {
    let mut workers = BTreeMap::new();
    for id in layout.worker_ids()? {
        let meta = Layout::meta(&id);
        // A directory without meta.json is one a crashed checkpoint had just created; the journal segment
        // that names the worker is still there and brings it back.
        let record = match fs::read(layout.path(&meta)) {
            Ok(bytes) => {
                let record: WorkerRecord =
                    serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("{meta}: {e}")))?;
                if record.worker_id != id {
                    return Err(StoreError::Corrupt(format!("{meta}: names worker {}", record.worker_id)));
                }
                Some(record)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(format!("cannot read {meta}"), e)),
        };
        let has_meta = record.is_some();
        if let Some(record) = record {
            builder.apply(Record::Worker(record))?;
        }

        let transcript = Layout::transcript(&id);
        let mut transcript_len = 0;
        match File::open(layout.path(&transcript)) {
            Ok(file) => {
                let tail = lines::read::<TranscriptEntry>(file, &transcript, |entry| {
                    transcript_len = entry.seq;
                    if !has_meta {
                        return Ok(());
                    }
                    builder.apply(Record::Transcript { worker_id: id.clone(), entry })
                })?;
                repair(layout, &transcript, tail, mode)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(format!("cannot open {transcript}"), e)),
        }
        workers.insert(id, WorkerFiles { has_meta, transcript_len });
    }
    Ok(workers)
}

fn read_events(layout: &Layout, builder: &mut SnapshotBuilder, mode: Mode) -> Result<VecDeque<EventFile>, StoreError> {
    let mut files = VecDeque::new();
    for first in layout.numbered(EVENTS)? {
        let rel = Layout::events(first);
        let file = match File::open(layout.path(&rel)) {
            Ok(file) => file,
            // Deleted past retention since the directory was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(format!("cannot open {rel}"), e)),
        };
        let mut found = EventFile { first, last: 0, count: 0 };
        let tail = lines::read::<Event>(file, &rel, |event| {
            found.last = event.seq;
            found.count += 1;
            builder.apply(Record::Event(Arc::new(event)))
        })?;
        repair(layout, &rel, tail, mode)?;
        files.push_back(found);
    }
    Ok(files)
}

/// Reads `commands.jsonl`, which is only ever replaced whole, so it holds no torn line to repair.
fn read_commands(layout: &Layout, builder: &mut SnapshotBuilder) -> Result<Commands, StoreError> {
    let mut commands = Commands::default();
    match File::open(layout.path(COMMANDS)) {
        Ok(file) => {
            lines::read::<CommandRecord>(file, COMMANDS, |record| {
                let record = Arc::new(record);
                commands.insert(record.clone());
                builder.apply(Record::Command(record))
            })?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(format!("cannot open {COMMANDS}"), e)),
    }
    Ok(commands)
}

fn repair(layout: &Layout, rel: &str, tail: Tail, mode: Mode) -> Result<(), StoreError> {
    if tail.torn && mode == Mode::Repair {
        tracing::warn!(file = rel, kept_bytes = tail.good_len, "cutting a torn last line left by a crash");
        layout.truncate(rel, tail.good_len)?;
    }
    Ok(())
}
