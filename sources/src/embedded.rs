//! The embedded source: a runtime living in this process, called directly.

use async_trait::async_trait;
use runtime_api::{
    ApiError, CancelAck, CreateWorkerRequest, FrameStream, InputAck, InputRequest, LifecycleRequest, ListQuery,
    RuntimeSource, RuntimeSummary, SourceDescriptor, SourceKind, StopAck, SubscribeRequest, TranscriptPage,
    TranscriptQuery, WorkerDetail, WorkerId, WorkerPage,
};
use runtime_core::Runtime;

/// A [`RuntimeSource`] over a runtime owned by this process: no endpoint, token or socket.
#[derive(Clone)]
pub struct EmbeddedSource {
    runtime: Runtime,
}

impl EmbeddedSource {
    /// Serves `runtime` under its own id and display name.
    pub fn new(runtime: Runtime) -> Self {
        EmbeddedSource { runtime }
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
        Ok(self.runtime.list(&query))
    }

    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        self.runtime.get(worker_id)
    }

    async fn create(&self, request: CreateWorkerRequest) -> Result<WorkerDetail, ApiError> {
        self.runtime.create(request).await
    }

    async fn input(&self, worker_id: &WorkerId, request: InputRequest) -> Result<InputAck, ApiError> {
        self.runtime.input(worker_id, request).await
    }

    async fn stop(&self, worker_id: &WorkerId, request: LifecycleRequest) -> Result<StopAck, ApiError> {
        self.runtime.stop(worker_id, request).await
    }

    async fn cancel(&self, worker_id: &WorkerId, request: LifecycleRequest) -> Result<CancelAck, ApiError> {
        self.runtime.cancel(worker_id, request).await
    }

    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        self.runtime.transcript(worker_id, query)
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        self.runtime.subscribe(request)
    }
}
