//! Test-only sources for the backend's unit tests.

use async_trait::async_trait;
use runtime_api::{
    ApiError, CancelAck, Capabilities, CreateWorkerRequest, FrameStream, InputAck, InputRequest, LifecycleRequest,
    ListQuery, ProfileList, ProtocolInfo, RuntimeId, RuntimeSource, RuntimeStatus, RuntimeSummary, Snapshot,
    SnapshotState, SourceDescriptor, SourceKind, StopAck, StreamFrame, SubscribeRequest, TranscriptPage,
    TranscriptQuery, WorkerCounts, WorkerDetail, WorkerId, WorkerPage,
};

/// A read-only source whose subscriptions send a snapshot and then stay open forever.
pub(crate) struct PendingStreamSource {
    id: RuntimeId,
}

impl PendingStreamSource {
    pub(crate) fn new(id: &str) -> Self {
        PendingStreamSource { id: RuntimeId::parse(id).unwrap() }
    }

    fn summary_now(&self) -> RuntimeSummary {
        RuntimeSummary {
            runtime_id: self.id.clone(),
            own_id: None,
            display_name: self.id.to_string(),
            status: RuntimeStatus::Ready,
            workers: WorkerCounts::default(),
            capabilities: Capabilities::read_only(),
            protocol: ProtocolInfo::current(&[]),
            log_id: "test".into(),
            last_event_seq: 0,
        }
    }
}

#[async_trait]
impl RuntimeSource for PendingStreamSource {
    fn describe(&self) -> SourceDescriptor {
        SourceDescriptor { runtime_id: self.id.clone(), display_name: self.id.to_string(), kind: SourceKind::Embedded }
    }
    async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        Ok(self.summary_now())
    }
    async fn list(&self, _query: ListQuery) -> Result<WorkerPage, ApiError> {
        Ok(WorkerPage { workers: Vec::new(), limit: 1, next_after: None })
    }
    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        Err(ApiError::worker_not_found(worker_id))
    }
    async fn create(&self, _request: CreateWorkerRequest) -> Result<WorkerDetail, ApiError> {
        Err(ApiError::unsupported("create"))
    }
    async fn input(&self, _worker_id: &WorkerId, _request: InputRequest) -> Result<InputAck, ApiError> {
        Err(ApiError::unsupported("input"))
    }
    async fn stop(&self, _worker_id: &WorkerId, _request: LifecycleRequest) -> Result<StopAck, ApiError> {
        Err(ApiError::unsupported("stop"))
    }
    async fn cancel(&self, _worker_id: &WorkerId, _request: LifecycleRequest) -> Result<CancelAck, ApiError> {
        Err(ApiError::unsupported("cancel"))
    }
    async fn transcript(&self, worker_id: &WorkerId, _query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        Err(ApiError::worker_not_found(worker_id))
    }
    async fn subscribe(&self, _request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        let snapshot = StreamFrame::Snapshot(Snapshot {
            seq: 0,
            log_id: "test".into(),
            state: SnapshotState::Runtime { runtime: self.summary_now() },
        });
        Ok(Box::pin(futures::StreamExt::chain(futures::stream::iter([snapshot]), futures::stream::pending())))
    }
    async fn profiles(&self) -> Result<ProfileList, ApiError> {
        Ok(ProfileList::default())
    }
}
