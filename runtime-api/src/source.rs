//! The one trait every runtime source implements: embedded, remote-http, local-compat and test mocks.

use std::pin::Pin;

use async_trait::async_trait;
use futures_core::Stream;

use crate::command::{Command, CommandAck, IdempotencyKey};
use crate::error::ApiError;
use crate::ids::WorkerId;
use crate::page::{ListQuery, TranscriptPage, TranscriptQuery, WorkerPage};
use crate::runtime::{ProfileList, RuntimeSummary, SourceDescriptor};
use crate::stream::{StreamFrame, SubscribeRequest};
use crate::worker::{CancelAck, CreateWorkerRequest, InputAck, InputRequest, LifecycleRequest, StopAck, WorkerDetail};

/// A subscription: a snapshot frame first, then events and control frames; it ends after a `closed` frame
/// or when the subscriber drops it.
pub type FrameStream = Pin<Box<dyn Stream<Item = StreamFrame> + Send + 'static>>;

/// Everything a Browser can ask of a runtime, whatever serves it.
///
/// Implementations answer for the runtime id [`RuntimeSource::describe`] gives, whatever the runtime behind
/// them calls itself, and with [`ApiError`]s from the SPEC §5 table that never put an endpoint, token, or
/// file path in a message. Cancelling a returned future never leaves a half-applied command: an operation
/// either took effect (and is reported by events) or did not.
#[async_trait]
pub trait RuntimeSource: Send + Sync + 'static {
    /// Id, display name and kind, without I/O.
    fn describe(&self) -> SourceDescriptor;

    /// The runtime's summary.
    async fn summary(&self) -> Result<RuntimeSummary, ApiError>;

    /// A bounded page of workers in creation order.
    async fn list(&self, query: ListQuery) -> Result<WorkerPage, ApiError>;

    /// One worker's detail.
    async fn get(&self, worker_id: &WorkerId) -> Result<WorkerDetail, ApiError>;

    /// Runs a command. With a `key`, a command repeated within the source's retention window returns the
    /// first ack and changes nothing; a source that cannot keep that promise says so in its protocol
    /// features (`commands.idempotency`) and ignores the key.
    async fn command(&self, command: Command, key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError>;

    /// Creates a worker.
    async fn create(&self, request: CreateWorkerRequest) -> Result<WorkerDetail, ApiError> {
        self.command(Command::Create(request), None).await?.into_create()
    }

    /// Sends input; acknowledged once durable.
    async fn input(&self, worker_id: &WorkerId, request: InputRequest) -> Result<InputAck, ApiError> {
        self.command(Command::Input(worker_id.clone(), request), None).await?.into_input()
    }

    /// Stops the worker, cancelling a running turn first; idempotent.
    async fn stop(&self, worker_id: &WorkerId, request: LifecycleRequest) -> Result<StopAck, ApiError> {
        self.command(Command::Stop(worker_id.clone(), request), None).await?.into_stop()
    }

    /// Cancels the running turn, if any; idempotent.
    async fn cancel(&self, worker_id: &WorkerId, request: LifecycleRequest) -> Result<CancelAck, ApiError> {
        self.command(Command::Cancel(worker_id.clone(), request), None).await?.into_cancel()
    }

    /// A bounded page of the worker's transcript.
    async fn transcript(&self, worker_id: &WorkerId, query: TranscriptQuery) -> Result<TranscriptPage, ApiError>;

    /// Opens an event subscription, or fails up front (`cursor_expired`, `worker_not_found`, ...).
    async fn subscribe(&self, request: SubscribeRequest) -> Result<FrameStream, ApiError>;

    /// The profiles workers can be created with (`unsupported` where the source cannot tell).
    async fn profiles(&self) -> Result<ProfileList, ApiError>;
}
