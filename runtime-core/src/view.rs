//! A read-only view of stored workers that answers reads exactly as a running runtime does: the same
//! worker projections (summary, detail, transcript pages), the same paging and the same counts, because it
//! is built from the same rebuilt worker state. A local-compat source serves one over a data directory.

use std::collections::BTreeMap;
use std::ops::Bound;

use runtime_api::limits::effective_limit;
use runtime_api::runtime::feature;
use runtime_api::{
    ApiError, Capabilities, ListQuery, ProtocolInfo, RuntimeId, RuntimeStatus, RuntimeSummary, TranscriptPage,
    TranscriptQuery, WorkerDetail, WorkerId, WorkerPage,
};

use crate::events::count_states;
use crate::profile::ProfileSet;
use crate::runtime::recover;
use crate::store::StoreSnapshot;
use crate::worker::WorkerInner;

/// Features a read-only view implements.
const FEATURES: &[&str] = &[feature::WORKERS_READ, feature::TRANSCRIPT];

/// Stored workers, as a runtime started over them would show them (before it records what a crash
/// interrupted), for reading only.
pub struct StoredView {
    runtime_id: RuntimeId,
    display_name: String,
    log_id: String,
    last_event_seq: u64,
    workers: BTreeMap<WorkerId, WorkerInner>,
}

impl StoredView {
    /// The view of `snapshot`, answering as `runtime_id`.
    pub fn new(snapshot: StoreSnapshot, runtime_id: RuntimeId, display_name: impl Into<String>) -> Self {
        // No profiles: a view runs nothing, and what workers were created with is in their records.
        let profiles = ProfileSet::empty();
        let last_event_seq = snapshot.events.last().map_or(snapshot.evicted_through, |e| e.seq);
        let workers = snapshot
            .workers
            .into_iter()
            .map(|stored| recover::rebuild(stored, &profiles).inner)
            .map(|inner| (inner.record.worker_id.clone(), inner))
            .collect();
        StoredView { runtime_id, display_name: display_name.into(), log_id: snapshot.log_id, last_event_seq, workers }
    }

    /// The summary: read-only capabilities, counts by state.
    pub fn summary(&self) -> RuntimeSummary {
        RuntimeSummary {
            runtime_id: self.runtime_id.clone(),
            own_id: None,
            display_name: self.display_name.clone(),
            status: RuntimeStatus::Ready,
            workers: count_states(self.workers.values().map(|w| w.state)),
            capabilities: Capabilities::read_only(),
            protocol: ProtocolInfo::current(FEATURES),
            log_id: self.log_id.clone(),
            last_event_seq: self.last_event_seq,
            heartbeat_ms: None,
        }
    }

    /// A bounded page of workers in creation order, paged as [`crate::Runtime::list`] pages.
    pub fn list(&self, query: &ListQuery) -> WorkerPage {
        let (page, limit, next_after) = page_of(&self.workers, query);
        WorkerPage { workers: page.into_iter().map(|w| w.summary(&self.runtime_id)).collect(), limit, next_after }
    }

    /// One worker's detail.
    pub fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        Ok(self.worker(worker_id)?.detail(&self.runtime_id))
    }

    /// A bounded page of a worker's transcript.
    pub fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        Ok(self.worker(worker_id)?.page(query))
    }

    /// `(profile, executor, model)` of every worker, in creation order.
    pub fn profiles_named(&self) -> impl Iterator<Item = (&str, &str, Option<&str>)> {
        self.workers.values().map(|w| {
            let record = &w.record;
            (record.profile.as_str(), record.executor.as_str(), record.model.as_deref())
        })
    }

    fn worker(&self, worker_id: &WorkerId) -> Result<&WorkerInner, ApiError> {
        self.workers.get(worker_id).ok_or_else(|| ApiError::worker_not_found(worker_id))
    }
}

/// The workers after `query.after`, at most the effective limit of them, with the applied limit and the
/// cursor of the next page; costs O(log n + limit). Shared by the runtime and its read-only views.
pub(crate) fn page_of<'m, T>(
    workers: &'m BTreeMap<WorkerId, T>,
    query: &ListQuery,
) -> (Vec<&'m T>, u32, Option<WorkerId>) {
    let limit = effective_limit(query.limit);
    let lower = query.after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut page: Vec<(&WorkerId, &T)> =
        workers.range::<WorkerId, _>((lower, Bound::Unbounded)).take(limit as usize + 1).collect();
    let next_after = (page.len() > limit as usize).then(|| {
        page.truncate(limit as usize);
        page.last().map(|(id, _)| (*id).clone())
    });
    (page.into_iter().map(|(_, w)| w).collect(), limit, next_after.flatten())
}
