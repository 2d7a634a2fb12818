//! The local-compat source: a read-only view of an fs-store data directory, such as that of a runtime that
//! is not running. Reads work, answered by the runtime's own projections ([`StoredView`]); every command
//! answers `unsupported`; no file path ever appears in an answer.

pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use parking_lot::Mutex;
use runtime_api::{
    ApiError, Command, CommandAck, ErrorCode, FrameStream, IdempotencyKey, ListQuery, ProfileInfo, ProfileList,
    RuntimeId, RuntimeSource, RuntimeSummary, SourceDescriptor, SourceKind, SubscribeRequest, TranscriptPage,
    TranscriptQuery, WorkerDetail, WorkerId, WorkerPage,
};
use runtime_core::StoredView;
use runtime_core::store::fs::read_snapshot;

/// Events read for the view's summary; the view serves no event stream, so few are needed.
const EVENTS_READ: usize = 1;

/// A read-only view of a runtime's data directory.
pub struct LocalCompatSource {
    descriptor: SourceDescriptor,
    dir: PathBuf,
    /// The last view read, with the fingerprint of the files it was read from.
    cache: Mutex<Option<(Fingerprint, Arc<StoredView>)>>,
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
    async fn view(&self) -> Result<Arc<StoredView>, ApiError> {
        let dir = self.dir.clone();
        let cached = self.cache.lock().clone();
        let (runtime_id, display_name) = (self.descriptor.runtime_id.clone(), self.descriptor.display_name.clone());
        let fresh = tokio::task::spawn_blocking(move || -> Result<Option<(Fingerprint, StoredView)>, String> {
            let fingerprint = fingerprint(&dir);
            if cached.as_ref().is_some_and(|(seen, _)| *seen == fingerprint) {
                return Ok(None);
            }
            let snapshot = read_snapshot(&dir, EVENTS_READ).map_err(|e| e.to_string())?;
            Ok(Some((fingerprint, StoredView::new(snapshot, runtime_id, display_name))))
        })
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| {
            // The error may name files inside the directory; it goes to the log, not to the Browser.
            tracing::warn!(runtime_id = %self.descriptor.runtime_id, %error, "local-compat view cannot be read");
            let id = &self.descriptor.runtime_id;
            ApiError::new(ErrorCode::RuntimeUnavailable, format!("the data of runtime {id} cannot be read"))
        })?;
        let mut cache = self.cache.lock();
        if let Some((fingerprint, view)) = fresh {
            *cache = Some((fingerprint, Arc::new(view)));
        }
        Ok(cache.as_ref().map(|(_, view)| view.clone()).expect("a view was read or cached"))
    }

    fn unsupported(&self, operation: &str) -> ApiError {
        let id = &self.descriptor.runtime_id;
        ApiError::new(ErrorCode::Unsupported, format!("runtime {id} is a read-only view; {operation} is not supported"))
    }
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
        Ok(self.view().await?.summary())
    }

    async fn list(&self, query: ListQuery) -> Result<WorkerPage, ApiError> {
        Ok(self.view().await?.list(&query))
    }

    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        self.view().await?.get(worker_id)
    }

    async fn command(&self, command: Command, _key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        Err(self.unsupported(command.name()))
    }

    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        self.view().await?.transcript(worker_id, query)
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
        for (name, executor, model) in view.profiles_named() {
            let info = ProfileInfo { model: model.map(str::to_owned), ..ProfileInfo::new(name, executor) };
            profiles.insert(name.to_owned(), info);
        }
        Ok(ProfileList { profiles: profiles.into_values().collect() })
    }
}
