//! A mock [`RuntimeSource`] with canned answers: every call fails with one error, or succeeds with values
//! carrying planted text (to prove the backend scrubs what it must), or passes every call to a real source
//! (so the mock's own plumbing is held to the contract suite like every other source).

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use runtime_api::{
    ApiError, CancelAck, CancelOutcome, Capabilities, CloseReason, Command, CommandAck, Event, EventBody,
    FailureReason, FrameStream, IdempotencyKey, InputAck, InputDisposition, ListQuery, ProfileInfo, ProfileList,
    ProtocolInfo, Role, RuntimeId, RuntimeSource, RuntimeStatus, RuntimeSummary, Snapshot, SnapshotState,
    SourceDescriptor, SourceKind, StopAck, StopOutcome, StreamFrame, SubscribeRequest, Timestamp, TranscriptEntry,
    TranscriptPage, TranscriptQuery, WorkerCounts, WorkerDetail, WorkerId, WorkerPage, WorkerState, WorkerSummary,
};

/// What every call answers.
#[derive(Clone)]
pub enum Answer {
    /// Fail with this error.
    Fail(ApiError),
    /// Succeed, with this text planted in every free-text field (titles, content, reasons, errors, names).
    Succeed {
        /// The planted text.
        planted: String,
    },
    /// Never answer.
    Hang,
    /// Pass every call to this source.
    Pass(Arc<dyn RuntimeSource>),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Fail(error) => f.debug_tuple("Fail").field(error).finish(),
            Answer::Succeed { planted } => f.debug_struct("Succeed").field("planted", planted).finish(),
            Answer::Hang => f.write_str("Hang"),
            Answer::Pass(inner) => f.debug_tuple("Pass").field(&inner.describe().runtime_id).finish(),
        }
    }
}

/// The mock.
pub struct MockSource {
    descriptor: SourceDescriptor,
    answer: Answer,
}

impl MockSource {
    /// A mock registered as `id`, answering `answer`.
    pub fn new(id: &str, answer: Answer) -> Self {
        let runtime_id = RuntimeId::parse(id).expect("valid id");
        let descriptor =
            SourceDescriptor { runtime_id, display_name: format!("Mock {id}"), kind: SourceKind::RemoteHttp };
        MockSource { descriptor, answer }
    }

    /// A mock that passes every call to `inner`, describing itself as `inner` does.
    pub fn passing(inner: Arc<dyn RuntimeSource>) -> Self {
        MockSource { descriptor: inner.describe(), answer: Answer::Pass(inner) }
    }

    fn inner(&self) -> Option<&Arc<dyn RuntimeSource>> {
        match &self.answer {
            Answer::Pass(inner) => Some(inner),
            _ => None,
        }
    }

    /// What to put in text fields, after waiting forever if this mock hangs.
    async fn answer(&self) -> Result<&str, ApiError> {
        match &self.answer {
            Answer::Fail(error) => Err(error.clone()),
            Answer::Succeed { planted } => Ok(planted),
            Answer::Hang => std::future::pending().await,
            Answer::Pass(_) => unreachable!("a passing mock answers through its inner source"),
        }
    }

    fn worker_id() -> WorkerId {
        WorkerId::parse("w-mock").unwrap()
    }

    fn summary_with(&self, planted: &str) -> WorkerSummary {
        WorkerSummary {
            runtime_id: self.descriptor.runtime_id.clone(),
            worker_id: Self::worker_id(),
            title: Some(format!("title {planted}")),
            state: WorkerState::Idle,
            profile: "default".into(),
            executor: "echo".into(),
            model: Some(format!("model {planted}")),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            transcript_len: 2,
        }
    }

    fn detail_with(&self, planted: &str) -> WorkerDetail {
        WorkerDetail {
            summary: self.summary_with(planted),
            metadata: [("note".to_owned(), planted.to_owned())].into(),
            current_turn: None,
            queued_inputs: 0,
            end_reason: Some(format!("ended because {planted}")),
            usage: Default::default(),
        }
    }

    fn runtime_with(&self, planted: &str) -> RuntimeSummary {
        RuntimeSummary {
            runtime_id: self.descriptor.runtime_id.clone(),
            own_id: None,
            display_name: format!("runtime {planted}"),
            status: RuntimeStatus::Ready,
            workers: WorkerCounts { total: 1, idle: 1, ..Default::default() },
            capabilities: Capabilities { events: true, ..Capabilities::read_only() },
            protocol: ProtocolInfo::current(&[]),
            log_id: "mock".into(),
            last_event_seq: 1,
            heartbeat_ms: None,
        }
    }
}

#[async_trait]
impl RuntimeSource for MockSource {
    fn describe(&self) -> SourceDescriptor {
        self.descriptor.clone()
    }

    async fn summary(&self) -> Result<RuntimeSummary, ApiError> {
        if let Some(inner) = self.inner() {
            return inner.summary().await;
        }
        Ok(self.runtime_with(self.answer().await?))
    }

    async fn list(&self, query: ListQuery) -> Result<WorkerPage, ApiError> {
        if let Some(inner) = self.inner() {
            return inner.list(query).await;
        }
        Ok(WorkerPage { workers: vec![self.summary_with(self.answer().await?)], limit: 50, next_after: None })
    }

    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError> {
        if let Some(inner) = self.inner() {
            return inner.get(worker_id).await;
        }
        Ok(self.detail_with(self.answer().await?))
    }

    async fn command(&self, command: Command, key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
        if let Some(inner) = self.inner() {
            return inner.command(command, key).await;
        }
        let planted = self.answer().await?;
        let worker_id = Self::worker_id();
        Ok(match command {
            Command::Create(_) => CommandAck::Create(Box::new(self.detail_with(planted))),
            Command::Input(..) => CommandAck::Input(InputAck {
                worker_id,
                turn_id: 1,
                disposition: InputDisposition::Started,
                queue_position: None,
                transcript_seq: 1,
                event_seq: 1,
            }),
            Command::Stop(..) => CommandAck::Stop(StopAck {
                worker_id,
                outcome: StopOutcome::Stopped,
                cancelled_turn: None,
                state: WorkerState::Stopped,
            }),
            Command::Cancel(..) => CommandAck::Cancel(CancelAck {
                worker_id,
                outcome: CancelOutcome::NothingToCancel,
                turn_id: None,
                dropped_queued: 0,
                state: WorkerState::Idle,
            }),
        })
    }

    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError> {
        if let Some(inner) = self.inner() {
            return inner.transcript(worker_id, query).await;
        }
        let planted = self.answer().await?;
        let entry =
            |seq, role, content: String| TranscriptEntry::new(seq, role, content, Timestamp::UNIX_EPOCH, Some(1));
        Ok(TranscriptPage {
            worker_id: Self::worker_id(),
            entries: vec![
                entry(1, Role::User, format!("user says {planted}")),
                entry(2, Role::Notice, format!("turn 1 failed: {planted}")),
                TranscriptEntry {
                    model: Some(format!("model {planted}")),
                    finish_reason: Some(format!("finish {planted}")),
                    ..entry(3, Role::Assistant, format!("partial {planted}"))
                },
            ],
            limit: 50,
            next_after: None,
            last_seq: 3,
        })
    }

    async fn profiles(&self) -> Result<ProfileList, ApiError> {
        if let Some(inner) = self.inner() {
            return inner.profiles().await;
        }
        let planted = self.answer().await?;
        let profile = ProfileInfo {
            model: Some(format!("model {planted}")),
            description: Some(format!("described {planted}")),
            ..ProfileInfo::new(format!("profile-{planted}"), "openai")
        };
        Ok(ProfileList { profiles: vec![profile] })
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError> {
        if let Some(inner) = self.inner() {
            return inner.subscribe(request).await;
        }
        let planted = self.answer().await?.to_owned();
        let event = |seq, body| StreamFrame::Event {
            event: Event {
                seq,
                at: Timestamp::UNIX_EPOCH,
                worker_id: Self::worker_id(),
                state: WorkerState::Idle,
                body,
            },
        };
        let frames = vec![
            StreamFrame::Snapshot(Snapshot {
                seq: 0,
                log_id: "mock".into(),
                state: SnapshotState::Runtime { runtime: self.runtime_with(&planted) },
            }),
            event(1, EventBody::TurnDelta { turn_id: 1, delta: format!("delta {planted}") }),
            event(
                2,
                EventBody::TurnFailed {
                    turn_id: 1,
                    transcript_seq: 2,
                    reason: FailureReason::ProviderError,
                    error: format!("failed: {planted}"),
                    reply_seq: Some(3),
                },
            ),
            event(
                3,
                EventBody::TurnCancelled {
                    turn_id: 2,
                    transcript_seq: 4,
                    reason: Some(format!("cancelled because {planted}")),
                    reply_seq: None,
                },
            ),
            event(
                4,
                EventBody::WorkerStopped { transcript_seq: 5, reason: Some(format!("stopped because {planted}")) },
            ),
            StreamFrame::Closed {
                reason: CloseReason::SourceFailed,
                message: format!("gone: {planted}"),
                earliest_seq: None,
            },
        ];
        Ok(futures::stream::iter(frames).boxed())
    }
}
