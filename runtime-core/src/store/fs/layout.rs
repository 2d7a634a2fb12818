//! Where each file of an fs store lives, and the file operations every part shares.
//!
//! Every path is handled as text relative to the data directory, so error messages can name a file without
//! revealing where the directory is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use runtime_api::WorkerId;
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// The on-disk format this build reads and writes.
pub(super) const FORMAT: u32 = 1;
/// The lock file, held by the process that owns the directory.
pub(super) const LOCK: &str = "LOCK";
/// The store's own metadata.
pub(super) const STORE_FILE: &str = "store.json";
/// Write-ahead journal segments.
pub(super) const JOURNAL: &str = "journal";
/// One directory per worker.
pub(super) const WORKERS: &str = "workers";
/// Durable events, in files of consecutive seqs.
pub(super) const EVENTS: &str = "events";
/// Commands remembered by idempotency key, replaced whole at each checkpoint.
pub(super) const COMMANDS: &str = "commands.jsonl";

/// The contents of `store.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoreFile {
    /// On-disk format version.
    pub(super) format: u32,
    /// The event log's identity, fixed when the directory was created.
    pub(super) log_id: String,
    /// Highest seq reserved by a journal segment that has been checkpointed.
    pub(super) reserved_through: u64,
    /// Highest seq of an event whose file was deleted past retention.
    pub(super) evicted_through: u64,
}

impl StoreFile {
    /// Metadata of a brand-new directory with a fresh log id.
    pub(super) fn fresh() -> Self {
        StoreFile {
            format: FORMAT,
            log_id: format!("fs-{}", ulid::Ulid::new().to_string().to_lowercase()),
            reserved_through: 0,
            evicted_through: 0,
        }
    }
}

/// The data directory and the names inside it.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of the data directory `root`.
    pub(super) fn new(root: &Path) -> Self {
        Layout { root: root.to_path_buf() }
    }

    /// The absolute path of a relative name.
    pub(super) fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() { self.root.clone() } else { self.root.join(rel) }
    }

    /// A journal segment.
    pub(super) fn segment(number: u64) -> String {
        format!("{JOURNAL}/{number:020}.jsonl")
    }

    /// A worker's directory. Only a parsed [`WorkerId`] ever becomes a path.
    pub(super) fn worker(id: &WorkerId) -> String {
        format!("{WORKERS}/{id}")
    }

    /// A worker's metadata file.
    pub(super) fn meta(id: &WorkerId) -> String {
        format!("{WORKERS}/{id}/meta.json")
    }

    /// A worker's transcript file.
    pub(super) fn transcript(id: &WorkerId) -> String {
        format!("{WORKERS}/{id}/transcript.jsonl")
    }

    /// The events file whose first event has seq `first`.
    pub(super) fn events(first: u64) -> String {
        format!("{EVENTS}/{first:020}.jsonl")
    }

    /// Reads `store.json`.
    pub(super) fn read_store_file(&self) -> Result<StoreFile, StoreError> {
        let bytes = fs::read(self.path(STORE_FILE)).map_err(|e| io_error(format!("cannot read {STORE_FILE}"), e))?;
        let file: StoreFile =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("{STORE_FILE}: {e}")))?;
        if file.format != FORMAT {
            return Err(StoreError::Corrupt(format!("{STORE_FILE}: unsupported format {}", file.format)));
        }
        Ok(file)
    }

    /// Replaces `store.json` atomically and makes the replacement durable.
    pub(super) fn write_store_file(&self, file: &StoreFile) -> Result<(), StoreError> {
        self.replace(STORE_FILE, &to_json(file)?)?;
        self.sync_dir("")
    }

    /// Replaces a file atomically: writes a temporary file, syncs it and renames it over `rel`. The caller
    /// syncs the parent directory to make the rename itself durable.
    pub(super) fn replace(&self, rel: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp = self.path(&format!("{rel}.tmp"));
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, self.path(rel))
        };
        write().map_err(|e| io_error(format!("cannot replace {rel}"), e))
    }

    /// Makes the entries of a directory (created, renamed or deleted files) durable.
    pub(super) fn sync_dir(&self, rel: &str) -> Result<(), StoreError> {
        let name = if rel.is_empty() { "the data directory" } else { rel };
        File::open(self.path(rel))
            .and_then(|dir| dir.sync_all())
            .map_err(|e| io_error(format!("cannot sync {name}"), e))
    }

    /// Creates a directory unless it exists; says whether it was created.
    pub(super) fn ensure_dir(&self, rel: &str) -> Result<bool, StoreError> {
        match fs::create_dir(self.path(rel)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error(format!("cannot create {rel}"), e)),
        }
    }

    /// Opens a file for appending, creating it when missing; says whether it was created.
    pub(super) fn open_append(&self, rel: &str) -> Result<(File, bool), StoreError> {
        let path = self.path(rel);
        let created = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_error(format!("cannot open {rel}"), e))?;
        Ok((file, created))
    }

    /// Syncs a file written through another handle (the sync covers the file, not the handle).
    pub(super) fn sync_file(&self, rel: &str) -> Result<(), StoreError> {
        OpenOptions::new()
            .append(true)
            .open(self.path(rel))
            .and_then(|file| file.sync_all())
            .map_err(|e| io_error(format!("cannot sync {rel}"), e))
    }

    /// Cuts a file back to its first `len` bytes (a torn last line) and syncs it.
    pub(super) fn truncate(&self, rel: &str, len: u64) -> Result<(), StoreError> {
        let cut = || -> io::Result<()> {
            let file = OpenOptions::new().write(true).open(self.path(rel))?;
            file.set_len(len)?;
            file.sync_all()
        };
        cut().map_err(|e| io_error(format!("cannot repair {rel}"), e))
    }

    /// Deletes a file; one that is already gone counts as deleted.
    pub(super) fn remove(&self, rel: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.path(rel)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(format!("cannot delete {rel}"), e)),
            _ => Ok(()),
        }
    }

    /// The numbers of the `<20 digits>.jsonl` files in a directory, ascending; none when it is missing.
    pub(super) fn numbered(&self, dir: &str) -> Result<Vec<u64>, StoreError> {
        let entries = match fs::read_dir(self.path(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(format!("cannot list {dir}"), e)),
        };
        let mut numbers = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(format!("cannot list {dir}"), e))?;
            let name = entry.file_name();
            let Some(digits) = name.to_str().and_then(|n| n.strip_suffix(".jsonl")) else { continue };
            if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
                numbers.extend(digits.parse::<u64>().ok());
            }
        }
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// The worker directories, as parsed ids in id order. Other entries (none are written) are skipped.
    pub(super) fn worker_ids(&self) -> Result<Vec<WorkerId>, StoreError> {
        let entries = match fs::read_dir(self.path(WORKERS)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(format!("cannot list {WORKERS}"), e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(format!("cannot list {WORKERS}"), e))?;
            match entry.file_name().to_str().map(WorkerId::parse) {
                Some(Ok(id)) => ids.push(id),
                _ => {
                    tracing::warn!(entry = ?entry.file_name(), "skipping an entry of workers/ that is not a worker id")
                }
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }
}

/// Wraps an I/O error with what the store was doing.
pub(super) fn io_error(context: impl Into<String>, error: io::Error) -> StoreError {
    StoreError::Io { context: context.into(), source: Arc::new(error) }
}

/// Serializes a whole-file document (`store.json`, `meta.json`) as one line, like every other file.
pub(super) fn to_json(value: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    push_line(&mut bytes, value)?;
    Ok(bytes)
}

/// Appends a value as one JSON line.
pub(super) fn push_line(buf: &mut Vec<u8>, value: &impl Serialize) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *buf, value).map_err(|e| StoreError::Corrupt(format!("cannot serialize: {e}")))?;
    buf.push(b'\n');
    Ok(())
}
