//! Renaming the runtime an answer speaks for: a source is addressed by the id it is registered under,
//! whatever the runtime behind it calls itself.

use crate::command::CommandAck;
use crate::event::{Event, EventBody};
use crate::ids::RuntimeId;
use crate::page::WorkerPage;
use crate::runtime::RuntimeSummary;
use crate::stream::{Snapshot, SnapshotState, StreamFrame};
use crate::worker::{WorkerDetail, WorkerSummary};

/// A value that names its runtime.
pub trait Relabel {
    /// Names `runtime_id` wherever the value names a runtime.
    fn relabel(&mut self, runtime_id: &RuntimeId);
}

impl Relabel for RuntimeSummary {
    /// Keeps the id the runtime gave itself in `own_id`, so a connection test can point out the difference.
    fn relabel(&mut self, runtime_id: &RuntimeId) {
        if &self.runtime_id != runtime_id {
            let own = std::mem::replace(&mut self.runtime_id, runtime_id.clone());
            self.own_id.get_or_insert(own);
        }
    }
}

impl Relabel for CommandAck {
    /// Only a create's ack names a runtime (in the worker it created).
    fn relabel(&mut self, runtime_id: &RuntimeId) {
        if let CommandAck::Create(detail) = self {
            detail.relabel(runtime_id);
        }
    }
}

impl Relabel for WorkerSummary {
    fn relabel(&mut self, runtime_id: &RuntimeId) {
        self.runtime_id = runtime_id.clone();
    }
}

impl Relabel for WorkerDetail {
    fn relabel(&mut self, runtime_id: &RuntimeId) {
        self.summary.relabel(runtime_id);
    }
}

impl Relabel for WorkerPage {
    fn relabel(&mut self, runtime_id: &RuntimeId) {
        self.workers.iter_mut().for_each(|w| w.relabel(runtime_id));
    }
}

impl Relabel for Event {
    fn relabel(&mut self, runtime_id: &RuntimeId) {
        if let EventBody::WorkerCreated { worker } = &mut self.body {
            worker.relabel(runtime_id);
        }
    }
}

impl Relabel for StreamFrame {
    fn relabel(&mut self, runtime_id: &RuntimeId) {
        match self {
            StreamFrame::Snapshot(Snapshot { state: SnapshotState::Runtime { runtime }, .. }) => {
                runtime.relabel(runtime_id)
            }
            StreamFrame::Snapshot(Snapshot { state: SnapshotState::Worker { worker }, .. }) => {
                worker.relabel(runtime_id)
            }
            StreamFrame::Event { event } => event.relabel(runtime_id),
            StreamFrame::Heartbeat { .. } | StreamFrame::Lagged { .. } | StreamFrame::Closed { .. } => {}
        }
    }
}
