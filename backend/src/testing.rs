//! Test-only sources for the backend's unit tests.

use async_trait::async_trait;
use runtime_api::{
    ApiError, Capabilities, Command, CommandAck, FrameStream, IdempotencyKey, ListQuery, ProfileList, ProtocolInfo,
    RuntimeId, RuntimeSource, RuntimeStatus, RuntimeSummary, Snapshot, SnapshotState, SourceDescriptor, SourceKind,
    StreamFrame, SubscribeRequest, TranscriptPage, TranscriptQuery, WorkerCounts, WorkerDetail, WorkerId, WorkerPage,
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
            heartbeat_ms: None,
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
    async fn command(&self, command: Command, _key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        Err(ApiError::unsupported(command.name()))
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

/// A source whose summary (and every other read) behaves as a test switches it, counting the calls that
/// reach it: for driving the health monitor and the circuit.
pub(crate) struct SwitchSource {
    id: RuntimeId,
    behaviour: parking_lot::Mutex<Behaviour>,
    calls: std::sync::atomic::AtomicUsize,
}

/// What a [`SwitchSource`] does when called.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Behaviour {
    /// Answers.
    Healthy,
    /// Fails with this error at once.
    Failing(ApiError),
    /// Never answers.
    Hung,
    /// Answers after this long.
    Slow(std::time::Duration),
}

impl SwitchSource {
    pub(crate) fn new(id: &str) -> std::sync::Arc<Self> {
        std::sync::Arc::new(SwitchSource {
            id: RuntimeId::parse(id).unwrap(),
            behaviour: parking_lot::Mutex::new(Behaviour::Healthy),
            calls: Default::default(),
        })
    }

    pub(crate) fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock() = behaviour;
    }

    /// Calls that reached the source so far, probes included.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn behave(&self) -> Result<(), ApiError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let behaviour = self.behaviour.lock().clone();
        match behaviour {
            Behaviour::Healthy => Ok(()),
            Behaviour::Failing(error) => Err(error),
            Behaviour::Hung => std::future::pending().await,
            Behaviour::Slow(delay) => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
        }
    }
}

#[async_trait]
impl RuntimeSource for SwitchSource {
    fn describe(&self) -> SourceDescriptor {
        SourceDescriptor {
            runtime_id: self.id.clone(),
            display_name: self.id.to_string(),
            kind: SourceKind::RemoteHttp,
        }
    }
    async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        self.behave().await?;
        Ok(PendingStreamSource { id: self.id.clone() }.summary_now())
    }
    async fn list(&self, _query: ListQuery) -> Result<WorkerPage, ApiError> {
        self.behave().await?;
        Ok(WorkerPage { workers: Vec::new(), limit: 1, next_after: None })
    }
    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        self.behave().await?;
        Err(ApiError::worker_not_found(worker_id))
    }
    async fn command(&self, command: Command, _key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        self.behave().await?;
        Err(ApiError::unsupported(command.name()))
    }
    async fn transcript(&self, worker_id: &WorkerId, _query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        self.behave().await?;
        Err(ApiError::worker_not_found(worker_id))
    }
    async fn subscribe(&self, _request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        self.behave().await?;
        Ok(Box::pin(futures::stream::pending()))
    }
    async fn profiles(&self) -> Result<ProfileList, ApiError> {
        self.behave().await?;
        Ok(ProfileList::default())
    }
}
