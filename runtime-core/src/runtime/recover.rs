//! Rebuilding workers from what a store loaded, and the repairs a crash leaves to be made.

use std::collections::{BTreeSet, VecDeque};

use runtime_api::{Role, WorkerState};

use crate::profile::ProfileSet;
use crate::store::{Durable, StoredWorker};
use crate::worker::WorkerInner;

/// A worker as loaded, with what must be recorded before it serves again.
pub(crate) struct Rebuilt {
    pub(crate) inner: WorkerInner,
    /// Turns whose input was accepted but which never ended: they were running or queued at the crash.
    pub(crate) unfinished: Vec<u64>,
    /// Why the worker cannot continue, when it cannot.
    pub(crate) failure: Option<String>,
}

/// Rebuilds one worker. A live worker always comes back idle; its busy or queued turns are reported as
/// unfinished so the caller can record them as interrupted.
pub(crate) fn rebuild(stored: StoredWorker, profiles: &ProfileSet) -> Rebuilt {
    let StoredWorker { record, transcript } = stored;
    let state = record.end.as_ref().map_or(WorkerState::Idle, |end| end.state);

    let mut started = BTreeSet::new();
    let mut ended = BTreeSet::new();
    for entry in &transcript {
        let Some(turn) = entry.turn_id else { continue };
        match entry.role {
            Role::User | Role::System => started.insert(turn),
            Role::Assistant | Role::Notice => ended.insert(turn),
        };
    }
    let unfinished: Vec<u64> = started.difference(&ended).copied().collect();
    let next_turn = started.iter().chain(&ended).max().map_or(1, |t| t + 1);

    let profile = profiles.get(&record.profile);
    let failure = match (&profile, state.is_terminal()) {
        (None, false) => Some(format!("profile {} is no longer configured", record.profile)),
        _ => None,
    };
    let updated_at = transcript.last().map_or(record.created_at, |e| e.at);
    let usage = transcript.iter().filter_map(|e| e.usage.as_ref()).sum();
    let inner = WorkerInner {
        record,
        profile,
        state,
        updated_at,
        transcript,
        next_turn,
        current: None,
        queue: VecDeque::new(),
        usage,
        last_change: Durable::done(),
        // A restart gives every worker a fresh idle period: the monotonic clock does not survive it.
        last_activity: tokio::time::Instant::now(),
    };
    Rebuilt { inner, unfinished, failure }
}
