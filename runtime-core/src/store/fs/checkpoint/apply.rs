//! One checkpoint: fold journal segments into the worker and event files, sync, then delete the segments.
//!
//! Replaying a segment is idempotent: a transcript entry or event whose seq is already in its file is
//! skipped, and `meta.json` is replaced whole. A checkpoint cut short by a crash is therefore simply done
//! again from the start at the next open, and segments are deleted only after everything they hold is
//! synced and `store.json` records their reservations.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use runtime_api::WorkerId;

use super::super::layout::{COMMANDS, EVENTS, JOURNAL, Layout, WORKERS, io_error, push_line, to_json};
use super::super::scan::{DiskState, EventFile, read_segment};
use crate::store::{KeyRetention, Record, StoreError, WorkerRecord};

/// Pending lines are written out once they reach this size, so a checkpoint's memory stays bounded
/// whatever the segment size.
const FLUSH_BYTES: usize = 4 << 20;

/// What shapes the files a checkpoint writes.
#[derive(Debug, Clone, Copy)]
pub(in super::super) struct Settings {
    /// Durable events kept on disk at least.
    pub(in super::super) retention: usize,
    /// Events per events file.
    pub(in super::super) events_per_file: usize,
    /// Idempotency keys kept.
    pub(in super::super) keys: KeyRetention,
}

/// Applies `segments` (ascending) and deletes them; false when `abort` stopped it first.
pub(super) fn run(
    layout: &Layout,
    disk: &mut DiskState,
    segments: &[u64],
    settings: Settings,
    abort: &AtomicBool,
) -> Result<bool, StoreError> {
    let mut run = Run {
        layout,
        disk,
        settings,
        metas: BTreeMap::new(),
        transcripts: BTreeMap::new(),
        events: Vec::new(),
        pending: 0,
        reserved_through: 0,
        commands_changed: false,
        synced_files: BTreeSet::new(),
        synced_dirs: BTreeSet::new(),
    };
    for &number in segments {
        if abort.load(Ordering::Acquire) {
            return Ok(false);
        }
        let rel = Layout::segment(number);
        let file = match File::open(layout.path(&rel)) {
            Ok(file) => file,
            // Deleted by a checkpoint whose deletions were not all durable yet; it was applied then.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(format!("cannot open {rel}"), e)),
        };
        read_segment(file, number, |record| run.fold(record))?;
    }
    if abort.load(Ordering::Acquire) {
        return Ok(false);
    }
    run.finish(segments)?;
    Ok(true)
}

/// A worker's newest metadata in this checkpoint.
struct PendingMeta {
    record: WorkerRecord,
    /// Whether `meta.json` already holds it.
    written: bool,
}

struct Run<'a> {
    layout: &'a Layout,
    disk: &'a mut DiskState,
    settings: Settings,
    metas: BTreeMap<WorkerId, PendingMeta>,
    /// Transcript lines not yet written, per worker.
    transcripts: BTreeMap<WorkerId, Vec<u8>>,
    /// Event lines not yet written, with their seqs.
    events: Vec<(u64, Vec<u8>)>,
    /// Bytes in `transcripts` and `events`.
    pending: usize,
    reserved_through: u64,
    /// Whether a remembered command was added, so `commands.jsonl` is written again.
    commands_changed: bool,
    /// Files written since their last sync.
    synced_files: BTreeSet<String>,
    /// Directories whose entries changed.
    synced_dirs: BTreeSet<String>,
}

impl Run<'_> {
    /// Takes in one journal record, skipping what the files already hold.
    fn fold(&mut self, record: Record) -> Result<(), StoreError> {
        match record {
            Record::Worker(record) => {
                let id = record.worker_id.clone();
                self.disk.workers.entry(id.clone()).or_default();
                self.metas.insert(id, PendingMeta { record, written: false });
            }
            Record::Transcript { worker_id, entry } => {
                let known = self.metas.contains_key(&worker_id);
                let Some(files) = self.disk.workers.get_mut(&worker_id).filter(|f| known || f.has_meta) else {
                    // Like `SnapshotBuilder`: an entry whose worker never reached the disk was never acknowledged.
                    return Ok(());
                };
                if entry.seq <= files.transcript_len {
                    return Ok(());
                }
                if entry.seq > files.transcript_len + 1 {
                    return Err(StoreError::Corrupt(format!(
                        "journal: transcript of worker {worker_id} jumps from seq {} to {}",
                        files.transcript_len, entry.seq
                    )));
                }
                files.transcript_len = entry.seq;
                let lines = self.transcripts.entry(worker_id).or_default();
                let before = lines.len();
                push_line(lines, &entry)?;
                self.pending += lines.len() - before;
            }
            Record::Event(event) => {
                if event.seq > self.disk.last_event_seq {
                    self.disk.last_event_seq = event.seq;
                    let mut line = Vec::new();
                    push_line(&mut line, &*event)?;
                    self.pending += line.len();
                    self.events.push((event.seq, line));
                }
            }
            Record::SeqReserved { through } => self.reserved_through = self.reserved_through.max(through),
            Record::Command(command) => {
                self.disk.commands.insert(command);
                self.commands_changed = true;
            }
        }
        if self.pending >= FLUSH_BYTES { self.flush() } else { Ok(()) }
    }

    /// Appends the pending lines to their files, unsynced.
    fn flush(&mut self) -> Result<(), StoreError> {
        for (id, lines) in std::mem::take(&mut self.transcripts) {
            // meta.json goes first, so a worker directory never holds a transcript without its worker.
            if !self.disk.workers.get(&id).is_some_and(|f| f.has_meta) {
                self.write_meta(&id)?;
            }
            let rel = Layout::transcript(&id);
            let (mut file, created) = self.layout.open_append(&rel)?;
            file.write_all(&lines).map_err(|e| io_error(format!("cannot write {rel}"), e))?;
            if created {
                self.synced_dirs.insert(Layout::worker(&id));
            }
            self.synced_files.insert(rel);
        }
        let mut current: Option<(String, BufWriter<File>)> = None;
        for (seq, line) in std::mem::take(&mut self.events) {
            let full = self.disk.event_files.back().is_none_or(|f| f.count >= self.settings.events_per_file);
            if full {
                // Sync the full file before starting the next: a later file must never survive a crash
                // that tore an earlier one, or replay would skip the torn events as already stored.
                if let Some((rel, writer)) = current.take() {
                    close_events(rel, writer, true)?;
                } else if let Some(last) = self.disk.event_files.back() {
                    self.layout.sync_file(&Layout::events(last.first))?;
                }
                self.disk.event_files.push_back(EventFile { first: seq, last: 0, count: 0 });
                self.synced_dirs.insert(EVENTS.to_owned());
            }
            let newest = self.disk.event_files.len() - 1;
            let file = &mut self.disk.event_files[newest];
            let rel = Layout::events(file.first);
            if current.as_ref().is_none_or(|(open, _)| *open != rel) {
                let (opened, _) = self.layout.open_append(&rel)?;
                current = Some((rel.clone(), BufWriter::with_capacity(1 << 16, opened)));
            }
            if let Some((_, writer)) = current.as_mut() {
                writer.write_all(&line).map_err(|e| io_error(format!("cannot write {rel}"), e))?;
            }
            file.last = seq;
            file.count += 1;
            self.synced_files.insert(rel);
        }
        if let Some((rel, writer)) = current {
            close_events(rel, writer, false)?;
        }
        self.pending = 0;
        Ok(())
    }

    /// Replaces a worker's meta.json with its newest record in this checkpoint.
    fn write_meta(&mut self, id: &WorkerId) -> Result<(), StoreError> {
        let Some(pending) = self.metas.get_mut(id) else { return Ok(()) };
        let dir = Layout::worker(id);
        if self.layout.ensure_dir(&dir)? {
            self.synced_dirs.insert(WORKERS.to_owned());
        }
        self.layout.replace(&Layout::meta(id), &to_json(&pending.record)?)?;
        pending.written = true;
        self.synced_dirs.insert(dir);
        self.disk.workers.entry(id.clone()).or_default().has_meta = true;
        Ok(())
    }

    /// Writes what is left, syncs every file and directory touched, records the checkpoint in
    /// `store.json`, and only then deletes old event files and the applied segments.
    fn finish(mut self, segments: &[u64]) -> Result<(), StoreError> {
        self.flush()?;
        let unwritten: Vec<WorkerId> =
            self.metas.iter().filter(|(_, meta)| !meta.written).map(|(id, _)| id.clone()).collect();
        for id in &unwritten {
            self.write_meta(id)?;
        }
        for rel in &self.synced_files {
            self.layout.sync_file(rel)?;
        }
        for rel in &self.synced_dirs {
            self.layout.sync_dir(rel)?;
        }
        if self.commands_changed {
            // Replaced before store.json, whose write syncs the directory and so makes this rename durable too.
            let keys = self.settings.keys;
            self.disk.commands.prune(keys.oldest(runtime_api::Timestamp::now()), keys.capacity);
            let mut lines = Vec::new();
            for record in self.disk.commands.oldest_first() {
                push_line(&mut lines, &*record)?;
            }
            self.layout.replace(COMMANDS, &lines)?;
        }

        // Drop whole old files while the newer ones still hold at least `retention` events.
        let files = &mut self.disk.event_files;
        let mut kept: usize = files.iter().map(|f| f.count).sum();
        let mut evicted = Vec::new();
        while files.len() > 1 && files.front().is_some_and(|f| kept - f.count >= self.settings.retention) {
            if let Some(file) = files.pop_front() {
                kept -= file.count;
                evicted.push(file);
            }
        }
        let store = &mut self.disk.store;
        store.reserved_through = store.reserved_through.max(self.reserved_through);
        store.evicted_through = evicted.iter().map(|f| f.last).fold(store.evicted_through, u64::max);
        self.layout.write_store_file(store)?;

        for file in &evicted {
            self.layout.remove(&Layout::events(file.first))?;
        }
        if !evicted.is_empty() {
            self.layout.sync_dir(EVENTS)?;
        }
        for &number in segments {
            self.layout.remove(&Layout::segment(number))?;
        }
        self.layout.sync_dir(JOURNAL)
    }
}

/// Flushes an events file's buffer, and syncs it when a newer file is about to start.
fn close_events(rel: String, writer: BufWriter<File>, sync: bool) -> Result<(), StoreError> {
    let file = writer.into_inner().map_err(|e| io_error(format!("cannot write {rel}"), e.into_error()))?;
    if sync {
        file.sync_all().map_err(|e| io_error(format!("cannot sync {rel}"), e))?;
    }
    Ok(())
}
