//! The checkpointer: a thread that folds full journal segments into the worker and event files, so the
//! journal stays short and a stopped runtime's directory holds each worker in one place.
//!
//! It runs beside the writer and shares nothing with it but the journal directory: the writer only appends
//! to the newest segment, the checkpointer only reads and deletes older ones. Acks therefore never wait for
//! a checkpoint. This thread also owns the directory lock, because it is the last to stop.

mod apply;

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::layout::Layout;
use super::scan::DiskState;
use super::writer::{Counters, Ticket};
use crate::store::StoreError;

pub(super) use apply::Settings;

/// What the writer sends the checkpointer.
pub(super) enum ToCheckpointer {
    /// A segment is full and synced; the writer has moved on to the next one.
    Segment(u64),
    /// The store is closing: checkpoint everything including the writer's last segment, release the lock
    /// and answer `reply`.
    Final {
        /// The writer's last segment.
        segment: u64,
        /// Set when the writer failed; its last segment may then end in a partial group and stays put.
        writer_error: Option<StoreError>,
        /// Answers the store's `close`.
        reply: Ticket,
    },
}

/// Checkpoints the segments an earlier process left, before the store serves: after a crash, `open`
/// returns with the journal applied and deleted, so no torn line is left anywhere and the directory is
/// quiet until the next segment fills.
pub(super) fn recover(layout: &Layout, disk: &mut DiskState, settings: Settings) -> Result<(), StoreError> {
    let segments = std::mem::take(&mut disk.segments);
    if segments.is_empty() {
        return Ok(());
    }
    tracing::info!(segments = segments.len(), "checkpointing the journal a previous process left");
    apply::run(layout, disk, &segments, settings, &AtomicBool::new(false)).map(|_| ())
}

/// The checkpointer thread's state.
pub(super) struct Checkpointer {
    layout: Layout,
    disk: DiskState,
    settings: Settings,
    /// Held for as long as this thread runs; dropping it releases the directory.
    lock: File,
    /// Set when the store is dropped without closing: stop at the next safe point, as a crash would.
    abort: Arc<AtomicBool>,
    counters: Arc<Counters>,
    /// Set by the first failure. The files may then differ from `disk`, so checkpoints stop until a
    /// restart scans the directory again; the journal keeps every record meanwhile.
    failed: Option<StoreError>,
}

impl Checkpointer {
    /// A checkpointer over the files described by `disk`.
    pub(super) fn new(
        layout: Layout,
        disk: DiskState,
        settings: Settings,
        lock: File,
        abort: Arc<AtomicBool>,
        counters: Arc<Counters>,
    ) -> Self {
        Checkpointer { layout, disk, settings, lock, abort, counters, failed: None }
    }

    /// Serves the writer until it closes or goes away.
    pub(super) fn run(mut self, from_writer: mpsc::Receiver<ToCheckpointer>) {
        let mut queued = Vec::new();
        loop {
            self.checkpoint(&mut queued);
            let Ok(first) = from_writer.recv() else { return };
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    ToCheckpointer::Segment(number) => {
                        queued.push(number);
                        next = from_writer.try_recv().ok();
                    }
                    ToCheckpointer::Final { segment, writer_error, reply } => {
                        let result = match writer_error {
                            Some(error) => Err(error),
                            None => {
                                queued.push(segment);
                                self.checkpoint(&mut queued);
                                self.failed.clone().map_or(Ok(()), Err)
                            }
                        };
                        // Release the lock before `close` returns, so the directory can be opened again at once.
                        drop(self.lock);
                        let _ = reply.send(result);
                        return;
                    }
                }
            }
        }
    }

    /// Checkpoints the queued segments; they leave the queue once deleted.
    fn checkpoint(&mut self, queued: &mut Vec<u64>) {
        if queued.is_empty() || self.failed.is_some() {
            return;
        }
        match apply::run(&self.layout, &mut self.disk, queued, self.settings, &self.abort) {
            Ok(true) => {
                self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(segments = queued.len(), "checkpointed the journal");
                queued.clear();
            }
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, "checkpoint failed; the journal keeps every record until a restart");
                self.failed = Some(error);
            }
        }
    }
}
