//! The fs store: a data directory that survives `kill -9` with nothing acknowledged lost.
//!
//! Every batch becomes one line of a write-ahead journal and is acknowledged once that line is synced;
//! batches that queue up while a sync runs share the next one (group commit). A background checkpoint folds
//! full journal segments into one directory per worker and a series of event files, which is also what a
//! closed store leaves behind. `docs/fs-store.md` describes the layout and recovery rules for operators and
//! for read-only readers such as the local-compat source.

mod checkpoint;
mod layout;
mod lines;
mod scan;
#[cfg(test)]
mod tests;
mod writer;

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use self::checkpoint::{Checkpointer, Settings};
use self::layout::{EVENTS, JOURNAL, LOCK, Layout, STORE_FILE, StoreFile, WORKERS, io_error};
use self::scan::Mode;
use self::writer::{Counters, ToWriter, Writer};
use super::{Durable, KeyRetention, Record, Store, StoreError, StoreSnapshot};

/// How an fs store behaves; `Default` suits a runtime with default settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsOptions {
    /// Durable events kept for replay; give the runtime's `event_retention`. The disk keeps at least this
    /// many (whole event files are dropped), and a load returns exactly the newest this many.
    pub event_retention: usize,
    /// Size at which a journal segment is closed and checkpointed into the worker and event files.
    pub checkpoint_bytes: u64,
    /// Whether batches that queue up during a sync share the next one. `false` syncs every batch on its
    /// own: the one-fsync-per-ack baseline that benchmarks compare against.
    pub group_commit: bool,
    /// Events per events file; retention deletes whole files.
    pub events_per_file: usize,
    /// Idempotency keys kept on disk; give the runtime's own.
    pub keys: KeyRetention,
}

/// What a store has done so far, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStats {
    /// Batches appended and resolved.
    pub batches: u64,
    /// Journal syncs (each one acknowledges a whole group of batches).
    pub syncs: u64,
    /// Checkpoints completed.
    pub checkpoints: u64,
}

/// A store in a data directory, owned by one process at a time.
pub struct FsStore {
    dir: PathBuf,
    options: FsOptions,
    /// Taken by `close`; later appends fail with [`StoreError::Closed`].
    to_writer: Mutex<Option<mpsc::Sender<ToWriter>>>,
    /// What the directory held at open, until `load` takes it.
    loaded: Mutex<Option<StoreSnapshot>>,
    counters: Arc<Counters>,
    abort: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// Reads a data directory the way [`FsStore::load`](Store::load) would, without writing anything or taking
/// the lock. Safe while a runtime writes to it: torn last lines are ignored, and records written but not yet
/// acknowledged may be included.
pub fn read_snapshot(dir: &Path, event_retention: usize) -> Result<StoreSnapshot, StoreError> {
    scan::scan(&Layout::new(dir), event_retention, Mode::ReadOnly).map(|(snapshot, _)| snapshot)
}

const fn default_event_retention() -> usize {
    10_000
}

const fn default_checkpoint_bytes() -> u64 {
    64 << 20
}

const fn default_events_per_file() -> usize {
    4_096
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            event_retention: default_event_retention(),
            checkpoint_bytes: default_checkpoint_bytes(),
            group_commit: true,
            events_per_file: default_events_per_file(),
            keys: KeyRetention::default(),
        }
    }
}

impl FsStore {
    /// Opens (creating if needed) the data directory, takes its lock, repairs what a crash left (torn last
    /// lines, and a journal not yet checkpointed), reads what it holds for [`Store::load`], and starts the
    /// writer and checkpointer threads.
    ///
    /// Fails with [`StoreError::Locked`] when another store, in this process or another, holds it.
    pub fn open(dir: &Path, options: FsOptions) -> Result<FsStore, StoreError> {
        create_root(dir)?;
        let lock = lock(dir)?;
        let layout = Layout::new(dir);
        prepare(&layout)?;
        let (snapshot, mut disk) = scan::scan(&layout, options.event_retention, Mode::Repair)?;
        tracing::info!(
            log_id = %snapshot.log_id,
            workers = snapshot.workers.len(),
            events = snapshot.events.len(),
            journal_segments = disk.segments.len(),
            "fs store opened"
        );

        let settings = Settings {
            retention: options.event_retention,
            events_per_file: options.events_per_file.max(1),
            keys: options.keys,
        };
        let segment = disk.segments.last().map_or(1, |last| last + 1);
        checkpoint::recover(&layout, &mut disk, settings)?;

        let counters = Arc::new(Counters::default());
        let abort = Arc::new(AtomicBool::new(false));
        let (to_checkpointer, from_writer) = mpsc::channel();
        let writer = Writer::create(
            layout.clone(),
            segment,
            options.group_commit,
            options.checkpoint_bytes,
            counters.clone(),
            to_checkpointer,
        )?;
        let checkpointer = Checkpointer::new(layout, disk, settings, lock, abort.clone(), counters.clone());
        let (to_writer, from_store) = mpsc::channel();
        let mut threads = vec![spawn("fs-store-checkpoint", move || checkpointer.run(from_writer))?];
        // If this spawn fails the writer is dropped, which stops the checkpointer and releases the lock.
        threads.push(spawn("fs-store-writer", move || writer.run(from_store))?);

        Ok(FsStore {
            dir: dir.to_path_buf(),
            options,
            to_writer: Mutex::new(Some(to_writer)),
            loaded: Mutex::new(Some(snapshot)),
            counters,
            abort,
            threads: Mutex::new(threads),
        })
    }

    /// The options it was opened with.
    pub fn options(&self) -> &FsOptions {
        &self.options
    }

    /// Counts of batches, journal syncs and checkpoints so far.
    pub fn stats(&self) -> FsStats {
        FsStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            syncs: self.counters.syncs.load(Ordering::Relaxed),
            checkpoints: self.counters.checkpoints.load(Ordering::Relaxed),
        }
    }

    /// Waits for the threads, which are stopping or about to.
    fn join_threads(&self) {
        for thread in std::mem::take(&mut *self.threads.lock()) {
            if thread.join().is_err() {
                tracing::error!("an fs store thread panicked");
            }
        }
    }
}

#[async_trait]
impl Store for FsStore {
    fn kind(&self) -> &'static str {
        "fs"
    }

    fn load(&self) -> Result<StoreSnapshot, StoreError> {
        let loaded = self.loaded.lock().take();
        match loaded {
            Some(snapshot) => Ok(snapshot),
            None => read_snapshot(&self.dir, self.options.event_retention),
        }
    }

    fn append(&self, batch: Vec<Record>) -> Durable {
        let (ticket, done) = oneshot::channel();
        let sent = self.to_writer.lock().as_ref().is_some_and(|to| to.send(ToWriter::Batch(batch, ticket)).is_ok());
        if !sent {
            return Durable::failed(StoreError::Closed);
        }
        Durable::when(async move { done.await.unwrap_or(Err(StoreError::Closed)) })
    }

    /// Syncs everything appended, checkpoints the whole journal into the worker and event files, stops the
    /// threads and releases the lock. Closing again does nothing.
    async fn close(&self) -> Result<(), StoreError> {
        let to_writer = self.to_writer.lock().take();
        let Some(to_writer) = to_writer else { return Ok(()) };
        let (reply, done) = oneshot::channel();
        let sent = to_writer.send(ToWriter::Close(reply)).is_ok();
        drop(to_writer);
        let result = if sent { done.await.unwrap_or(Err(StoreError::Closed)) } else { Err(StoreError::Closed) };
        self.join_threads();
        result
    }
}

impl Drop for FsStore {
    /// Without `close`, stops the way a crash would: queued batches are still written, but a running
    /// checkpoint stops at its next safe point and the journal stays for the next open to replay.
    fn drop(&mut self) {
        self.abort.store(true, Ordering::Release);
        drop(self.to_writer.get_mut().take());
        self.join_threads();
    }
}

impl std::fmt::Debug for FsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsStore").field("options", &self.options).field("stats", &self.stats()).finish_non_exhaustive()
    }
}

/// Creates the data directory if it is missing, durably.
fn create_root(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create the data directory", e))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent)
            .and_then(|p| p.sync_all())
            .map_err(|e| io_error("cannot sync the data directory's parent", e))?;
    }
    Ok(())
}

/// Takes the directory's lock, and notes the holder's process id in it for operators.
fn lock(dir: &Path) -> Result<File, StoreError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK))
        .map_err(|e| io_error(format!("cannot open {LOCK}"), e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(StoreError::Locked),
        Err(TryLockError::Error(e)) => return Err(io_error(format!("cannot lock {LOCK}"), e)),
    }
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| io_error(format!("cannot write {LOCK}"), e))?;
    Ok(file)
}

/// Makes sure `store.json` and the three directories exist. A directory that holds data but lost its
/// `store.json` is refused: a new log id and reservation would hand out seqs a client may have seen.
fn prepare(layout: &Layout) -> Result<(), StoreError> {
    let exists = layout.path(STORE_FILE).try_exists().map_err(|e| io_error(format!("cannot read {STORE_FILE}"), e))?;
    if exists {
        layout.read_store_file()?;
    } else {
        for dir in [JOURNAL, WORKERS, EVENTS] {
            if holds_entries(&layout.path(dir)).map_err(|e| io_error(format!("cannot list {dir}"), e))? {
                return Err(StoreError::Corrupt(format!("{STORE_FILE} is missing but {dir} holds data")));
            }
        }
    }
    let mut created = false;
    for dir in [JOURNAL, WORKERS, EVENTS] {
        created |= layout.ensure_dir(dir)?;
    }
    if !exists {
        layout.write_store_file(&StoreFile::fresh())
    } else if created {
        layout.sync_dir("")
    } else {
        Ok(())
    }
}

fn holds_entries(dir: &Path) -> io::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(run)
        .map_err(|e| io_error(format!("cannot start {name}"), e))
}
