//! The local-compat source: a read-only view of an fs-store data directory, such as that of a runtime that
//! is not running. Reads work; every command answers `unsupported`; no file path ever appears in an answer.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use parking_lot::Mutex;
use runtime_api::limits::effective_limit;
use runtime_api::runtime::feature;
use runtime_api::{
    ApiError, CancelAck, Capabilities, CreateWorkerRequest, ErrorCode, FrameStream, InputAck, InputRequest,
    LifecycleRequest, ListQuery, ProfileInfo, ProfileList, ProtocolInfo, RuntimeId, RuntimeSource, RuntimeStatus,
    RuntimeSummary, SourceDescriptor, SourceKind, StopAck, SubscribeRequest, TranscriptPage, TranscriptQuery,
    WorkerCounts, WorkerDetail, WorkerId, WorkerPage, WorkerState, WorkerSummary,
};
use runtime_core::store::StoredWorker;
use runtime_core::store::fs::read_snapshot;

pub mod spec;

/// Events read for the view's summary; the view serves no event stream, so few are needed.
const EVENTS_READ: usize = 1;

/// A read-only view of a runtime's data directory.
pub struct LocalCompatSource {
    descriptor: SourceDescriptor,
    dir: PathBuf,
    /// The last view read, with the fingerprint of the files it was read from.
    cache: Mutex<Option<(Fingerprint, Arc<View>)>>,
}

/// What was read from the directory.
struct View {
    log_id: String,
    last_event_seq: u64,
    workers: BTreeMap<WorkerId, StoredWorker>,
}

/// Sizes and modification times of the files whose change means the view is stale.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

impl LocalCompatSource {
    /// A view of the data directory `dir`, registered as `runtime_id`.
    pub fn new(runtime_id: RuntimeId, display_name: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        let descriptor =
            SourceDescriptor { runtime_id, display_name: display_name.into(), kind: SourceKind::LocalCompat };
        LocalCompatSource { descriptor, dir: dir.into(), cache: Mutex::new(None) }
    }

    /// The current view, read again only when the directory changed.
    async fn view(&self) -> Result<Arc<View>, ApiError> {
        let dir = self.dir.clone();
        let cached = self.cache.lock().clone();
        let fresh = tokio::task::spawn_blocking(move || -> Result<Option<(Fingerprint, View)>, String> {
            let fingerprint = fingerprint(&dir);
            if cached.as_ref().is_some_and(|(seen, _)| *seen == fingerprint) {
                return Ok(None);
            }
            let snapshot = read_snapshot(&dir, EVENTS_READ).map_err(|e| e.to_string())?;
            let view = View {
                log_id: snapshot.log_id,
                last_event_seq: snapshot.events.last().map_or(snapshot.evicted_through, |e| e.seq),
                workers: snapshot.workers.into_iter().map(|w| (w.record.worker_id.clone(), w)).collect(),
            };
            Ok(Some((fingerprint, view)))
        })
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| {
            // The error may name files inside the directory; it goes to the log, not to the Browser.
            tracing::warn!(runtime_id = %self.descriptor.runtime_id, %error, "local-compat view cannot be read");
            ApiError::new(
                ErrorCode::RuntimeUnavailable,
                format!("the data of runtime {} cannot be read", self.descriptor.runtime_id),
            )
        })?;
        let mut cache = self.cache.lock();
        if let Some((fingerprint, view)) = fresh {
            *cache = Some((fingerprint, Arc::new(view)));
        }
        Ok(cache.as_ref().map(|(_, view)| view.clone()).expect("a view was read or cached"))
    }

    fn worker<'v>(&self, view: &'v View, worker_id: &WorkerId) -> Result<&'v StoredWorker, ApiError> {
        view.workers.get(worker_id).ok_or_else(|| ApiError::worker_not_found(worker_id))
    }

    fn unsupported(&self, operation: &str) -> ApiError {
        let id = &self.descriptor.runtime_id;
        ApiError::new(ErrorCode::Unsupported, format!("runtime {id} is a read-only view; {operation} is not supported"))
    }

    fn summary_of(&self, worker: &StoredWorker) -> WorkerSummary {
        let record = &worker.record;
        WorkerSummary {
            runtime_id: self.descriptor.runtime_id.clone(),
            worker_id: record.worker_id.clone(),
            title: record.title.clone(),
            state: state_of(worker),
            profile: record.profile.clone(),
            executor: record.executor.clone(),
            model: record.model.clone(),
            created_at: record.created_at,
            updated_at: worker.transcript.last().map_or(record.created_at, |e| e.at),
            transcript_len: worker.transcript.len() as u64,
        }
    }
}

/// A worker that has not ended is shown idle: nothing runs in a view.
fn state_of(worker: &StoredWorker) -> WorkerState {
    worker.record.end.as_ref().map_or(WorkerState::Idle, |end| end.state)
}

/// What changes when the runtime writes: its store file and its journal.
fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files = vec![dir.join("store.json")];
    if let Ok(entries) = std::fs::read_dir(dir.join("journal")) {
        files.extend(entries.flatten().map(|e| e.path()));
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (path, len, modified)
        })
        .collect()
}

#[async_trait]
impl RuntimeSource for LocalCompatSource {
    fn describe(&self) -> SourceDescriptor {
        self.descriptor.clone()
    }

    async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        let view = self.view().await?;
        let mut workers = WorkerCounts::default();
        for worker in view.workers.values() {
            workers.total += 1;
            match state_of(worker) {
                WorkerState::Idle | WorkerState::Busy => workers.idle += 1,
                WorkerState::Stopped => workers.stopped += 1,
                WorkerState::Failed => workers.failed += 1,
            }
        }
        Ok(RuntimeSummary {
            runtime_id: self.descriptor.runtime_id.clone(),
            own_id: None,
            display_name: self.descriptor.display_name.clone(),
            status: RuntimeStatus::Ready,
            workers,
            capabilities: Capabilities::read_only(),
            protocol: ProtocolInfo::current(&[feature::WORKERS_READ, feature::TRANSCRIPT]),
            log_id: view.log_id.clone(),
            last_event_seq: view.last_event_seq,
        })
    }

    async fn list(&self, query: ListQuery) -> Result<WorkerPage, ApiError> {
        let view = self.view().await?;
        let limit = effective_limit(query.limit);
        let lower = query.after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
        let mut page: Vec<WorkerSummary> = view
            .workers
            .range::<WorkerId, _>((lower, Bound::Unbounded))
            .take(limit as usize + 1)
            .map(|(_, w)| self.summary_of(w))
            .collect();
        let next_after = (page.len() > limit as usize).then(|| {
            page.truncate(limit as usize);
            page.last().map(|w| w.worker_id.clone())
        });
        Ok(WorkerPage { workers: page, limit, next_after: next_after.flatten() })
    }

    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        let view = self.view().await?;
        let worker = self.worker(&view, worker_id)?;
        Ok(WorkerDetail {
            summary: self.summary_of(worker),
            metadata: worker.record.metadata.clone(),
            current_turn: None,
            queued_inputs: 0,
            end_reason: worker.record.end.as_ref().and_then(|e| e.reason.clone()),
            usage: worker.transcript.iter().filter_map(|e| e.usage.as_ref()).sum(),
        })
    }

    async fn create(&self, _request: CreateWorkerRequest) -> Result<WorkerDetail, ApiError> {
        Err(self.unsupported("create"))
    }

    async fn input(&self, _worker_id: &WorkerId, _request: InputRequest) -> Result<InputAck, ApiError> {
        Err(self.unsupported("input"))
    }

    async fn stop(&self, _worker_id: &WorkerId, _request: LifecycleRequest) -> Result<StopAck, ApiError> {
        Err(self.unsupported("stop"))
    }

    async fn cancel(&self, _worker_id: &WorkerId, _request: LifecycleRequest) -> Result<CancelAck, ApiError> {
        Err(self.unsupported("cancel"))
    }

    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        let view = self.view().await?;
        let worker = self.worker(&view, worker_id)?;
        let limit = effective_limit(query.limit);
        let len = worker.transcript.len();
        let start = usize::try_from(query.after.unwrap_or(0)).unwrap_or(usize::MAX).min(len);
        let end = start.saturating_add(limit as usize).min(len);
        Ok(TranscriptPage {
            worker_id: worker_id.clone(),
            entries: worker.transcript[start..end].to_vec(),
            limit,
            next_after: (end < len).then_some(end as u64),
            last_seq: len as u64,
        })
    }

    async fn subscribe(&self, _request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        Err(self.unsupported("the event stream"))
    }

    /// The profiles the view's workers were created with (as their records name them; the newest worker's
    /// executor and model win when a profile changed). The view cannot create workers, so these tell what
    /// the data holds, not what could be made.
    async fn profiles(&self) -> Result<ProfileList, ApiError> {
        let view = self.view().await?;
        let mut profiles = BTreeMap::new();
        for record in view.workers.values().map(|w| &w.record) {
            let info = ProfileInfo {
                model: record.model.clone(),
                ..ProfileInfo::new(record.profile.clone(), record.executor.clone())
            };
            profiles.insert(record.profile.clone(), info);
        }
        Ok(ProfileList { profiles: profiles.into_values().collect() })
    }
}
