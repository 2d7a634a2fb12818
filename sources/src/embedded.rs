//! The embedded source: a runtime living in this process, called directly.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use runtime_api::RuntimeId;
use runtime_api::{
    ApiError, Command, CommandAck, FrameStream, IdempotencyKey, ListQuery, ProfileList, RuntimeSource, RuntimeSummary,
    SourceDescriptor, SourceKind, SubscribeRequest, TranscriptPage, TranscriptQuery, WorkerDetail, WorkerId,
    WorkerPage,
};
use runtime_core::store::fs::{FsOptions, FsStore};
use runtime_core::{MemoryStore, ProfileSet, Runtime, RuntimeConfig, Store};

/// A [`RuntimeSource`] over a runtime owned by this process: no endpoint, token or socket.
#[derive(Clone)]
pub struct EmbeddedSource {
    runtime: Runtime,
}

/// Where the embedded runtime keeps its workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddedStore {
    /// In memory: workers end with the process.
    Memory,
    /// In a data directory, surviving restarts.
    Fs(PathBuf),
}

/// How to start an embedded runtime.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Its id.
    pub runtime_id: RuntimeId,
    /// Its display name.
    pub display_name: String,
    /// The profiles file; the built-in `default` echo profile only when absent.
    pub profiles_file: Option<PathBuf>,
    /// Where it keeps its workers.
    pub store: EmbeddedStore,
    /// When set, an idle worker is stopped after this long (reason `idle_timeout`).
    pub idle_timeout: Option<std::time::Duration>,
}

/// Why an embedded runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedStartError {
    /// The profiles file is unreadable or invalid.
    #[error(transparent)]
    Profiles(#[from] runtime_core::ProfileError),
    /// The store could not be opened or loaded.
    #[error(transparent)]
    Runtime(#[from] runtime_core::StartError),
    /// The fs store's data directory cannot be opened (or another process holds it).
    #[error("cannot open the data directory: {0}")]
    Store(runtime_core::store::StoreError),
}

impl EmbeddedSource {
    /// Serves `runtime` under its own id and display name.
    pub fn new(runtime: Runtime) -> Self {
        EmbeddedSource { runtime }
    }

    /// Starts a runtime in this process as `options` say.
    pub async fn start(options: EmbeddedOptions) -> Result<Self, EmbeddedStartError> {
        let profiles = match &options.profiles_file {
            Some(path) => ProfileSet::load(path)?,
            None => ProfileSet::builtin(),
        };
        let mut config = RuntimeConfig::new(options.runtime_id, options.display_name);
        config.idle_timeout = options.idle_timeout;
        let store: Arc<dyn Store> = match options.store {
            EmbeddedStore::Memory => Arc::new(MemoryStore::new()),
            EmbeddedStore::Fs(dir) => {
                let fs_options =
                    FsOptions { event_retention: config.event_retention, keys: config.keys, ..FsOptions::default() };
                Arc::new(FsStore::open(&dir, fs_options).map_err(EmbeddedStartError::Store)?)
            }
        };
        Ok(EmbeddedSource::new(Runtime::start(config, profiles, store).await?))
    }

    /// Stops the runtime: streams end, running turns stop, the store is flushed.
    pub async fn shutdown(&self) -> Result<(), runtime_core::store::StoreError> {
        self.runtime.shutdown().await
    }

    /// The runtime behind the source.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

#[async_trait]
impl RuntimeSource for EmbeddedSource {
    fn describe(&self) -> SourceDescriptor {
        let config = self.runtime.config();
        SourceDescriptor {
            runtime_id: config.runtime_id.clone(),
            display_name: config.display_name.clone(),
            kind: SourceKind::Embedded,
        }
    }

    async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        Ok(self.runtime.summary())
    }

    async fn list(&self, query: ListQuery) -> Result<WorkerPage, ApiError> {
        self.runtime.list(&query).await
    }

    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        self.runtime.get(worker_id).await
    }

    async fn command(&self, command: Command, key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        self.runtime.command(command, key).await
    }

    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        self.runtime.transcript(worker_id, query).await
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        self.runtime.subscribe(request)
    }

    async fn profiles(&self) -> Result<ProfileList, ApiError> {
        Ok(self.runtime.profiles())
    }
}
