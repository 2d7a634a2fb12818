//! The journal writer: one thread that appends batches to the journal with group commit.
//!
//! `append` only sends a batch down a channel, so it never blocks the runtime's sequencer. This thread takes
//! the first waiting batch and every batch already queued behind it, writes them with one `write_all`,
//! syncs once, and then resolves their tickets in append order. Concurrent writers share one fsync, which is
//! what keeps durable acks cheap.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use serde::Serialize;
use tokio::sync::oneshot;

use super::checkpoint::ToCheckpointer;
use super::layout::{JOURNAL, Layout, io_error, push_line};
use crate::store::{Record, StoreError};

/// Stop adding batches to a group once its lines reach this size, so one write stays bounded.
const MAX_GROUP_BYTES: usize = 8 << 20;

/// Resolves one batch's [`crate::store::Durable`] ticket.
pub(super) type Ticket = oneshot::Sender<Result<(), StoreError>>;

/// What the store sends its writer.
pub(super) enum ToWriter {
    /// Persist a batch, then resolve its ticket.
    Batch(Vec<Record>, Ticket),
    /// Everything before this is written: hand over for the final checkpoint, then stop.
    Close(Ticket),
}

/// Work counted for tests and benchmarks.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) batches: AtomicU64,
    pub(super) syncs: AtomicU64,
    pub(super) checkpoints: AtomicU64,
}

/// One journal line.
#[derive(Serialize)]
struct JournalLine<'a> {
    records: &'a [Record],
}

/// The writer thread's state.
pub(super) struct Writer {
    layout: Layout,
    group_commit: bool,
    checkpoint_bytes: u64,
    segment: u64,
    file: File,
    written: u64,
    buf: Vec<u8>,
    /// Set by the first failure; the journal may then end in a partial group, so nothing more is written.
    failed: Option<StoreError>,
    counters: Arc<Counters>,
    checkpointer: mpsc::Sender<ToCheckpointer>,
}

impl Writer {
    /// Creates journal segment `segment` (durably) and a writer that appends to it.
    pub(super) fn create(
        layout: Layout,
        segment: u64,
        group_commit: bool,
        checkpoint_bytes: u64,
        counters: Arc<Counters>,
        checkpointer: mpsc::Sender<ToCheckpointer>,
    ) -> Result<Self, StoreError> {
        let file = create_segment(&layout, segment)?;
        Ok(Writer {
            layout,
            group_commit,
            checkpoint_bytes,
            segment,
            file,
            written: 0,
            buf: Vec::new(),
            failed: None,
            counters,
            checkpointer,
        })
    }

    /// Serves the channel until the store closes it or is dropped.
    pub(super) fn run(mut self, from_store: mpsc::Receiver<ToWriter>) {
        while let Ok(first) = from_store.recv() {
            let mut tickets = Vec::new();
            let mut close = None;
            // Index of the first batch that could not be serialized, if one could not.
            let mut unwritable = None;
            self.buf.clear();
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    ToWriter::Batch(records, ticket) => {
                        if self.failed.is_none() && unwritable.is_none() && !self.serialize(&records) {
                            unwritable = Some(tickets.len());
                        }
                        tickets.push(ticket);
                    }
                    ToWriter::Close(reply) => close = Some(reply),
                }
                if close.is_none() && self.group_commit && self.buf.len() < MAX_GROUP_BYTES {
                    next = from_store.try_recv().ok();
                }
            }
            self.commit(tickets, unwritable);
            if let Some(reply) = close {
                self.hand_over(reply);
                return;
            }
        }
        // The store was dropped without being closed: stop as a crash would, leaving the journal for the
        // next open to replay.
    }

    /// Appends one batch's line to the group; false when it cannot be serialized.
    fn serialize(&mut self, records: &[Record]) -> bool {
        if records.is_empty() {
            return true;
        }
        let start = self.buf.len();
        match push_line(&mut self.buf, &JournalLine { records }) {
            Ok(()) => true,
            Err(error) => {
                self.buf.truncate(start);
                tracing::error!(%error, "cannot serialize a batch for the journal");
                self.failed = Some(error);
                false
            }
        }
    }

    /// Writes and syncs the group, then resolves its tickets in order.
    fn commit(&mut self, tickets: Vec<Ticket>, unwritable: Option<usize>) {
        self.counters.batches.fetch_add(tickets.len() as u64, Ordering::Relaxed);
        let failed_before = self.failed.is_some() && unwritable.is_none();
        // Batches before this index are in the buffer; the rest fail.
        let mut durable_until = if failed_before { 0 } else { unwritable.unwrap_or(tickets.len()) };
        if durable_until > 0
            && let Err(error) = self.write_group()
        {
            tracing::error!(%error, "cannot write the journal; failing this and every later batch");
            self.failed = Some(error);
            durable_until = 0;
        }
        for (i, ticket) in tickets.into_iter().enumerate() {
            let result =
                if i < durable_until { Ok(()) } else { Err(self.failed.clone().unwrap_or(StoreError::Closed)) };
            // A ticket nobody waits for any more is fine to drop.
            let _ = ticket.send(result);
        }
        if self.failed.is_none() && self.written >= self.checkpoint_bytes {
            self.rotate();
        }
    }

    fn write_group(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let rel = Layout::segment(self.segment);
        self.counters.syncs.fetch_add(1, Ordering::Relaxed);
        self.file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error(format!("cannot write {rel}"), e))?;
        self.written += self.buf.len() as u64;
        Ok(())
    }

    /// Starts a new segment and hands the full one to the checkpointer. If the new segment cannot be
    /// created, the writer keeps appending to the current one and tries again after the next group.
    fn rotate(&mut self) {
        let next = self.segment + 1;
        match create_segment(&self.layout, next) {
            Ok(file) => {
                let full = std::mem::replace(&mut self.segment, next);
                self.file = file;
                self.written = 0;
                // A checkpointer that is gone leaves the segment for the next open; nothing is lost.
                let _ = self.checkpointer.send(ToCheckpointer::Segment(full));
            }
            Err(error) => tracing::warn!(%error, "cannot start a new journal segment; the current one grows on"),
        }
    }

    /// Passes the last segment to the checkpointer, which finishes the close.
    fn hand_over(self, reply: Ticket) {
        let message = ToCheckpointer::Final { segment: self.segment, writer_error: self.failed, reply };
        if let Err(mpsc::SendError(ToCheckpointer::Final { reply, .. })) = self.checkpointer.send(message) {
            let _ = reply.send(Err(StoreError::Closed));
        }
    }
}

/// Creates a journal segment and makes its directory entry durable before anything acknowledged goes in.
fn create_segment(layout: &Layout, number: u64) -> Result<File, StoreError> {
    let rel = Layout::segment(number);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.path(&rel))
        .map_err(|e| io_error(format!("cannot create {rel}"), e))?;
    layout.sync_dir(JOURNAL)?;
    Ok(file)
}
