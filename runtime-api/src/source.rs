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
use crate::verbatim::VerbatimDetail;
use crate::worker::{CancelAck, CreateWorkerRequest, InputAck, InputRequest, LifecycleRequest, StopAck, WorkerDetail};

/// One worker's detail as a source can give it: decoded, or as the bytes it received when those can be handed
/// on unchanged.
#[derive(Debug, Clone)]
// Made once per call and moved a few times; a box would cost the embedded runtime an allocation per detail.
#[allow(clippy::large_enum_variant)]
pub enum DetailAnswer {
    /// The detail as a value.
    Decoded(WorkerDetail),
    /// The detail as the JSON a remote sent, checked by [`VerbatimDetail::check`].
    Verbatim(VerbatimDetail),
}

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

    /// One worker's detail, as bytes to forward where the source has them (a remote's answer) and they pass
    /// [`VerbatimDetail::check`]; otherwise decoded, as [`RuntimeSource::get`] gives it.
    async fn get_verbatim(&self, worker_id: &WorkerId) -> Result<DetailAnswer, ApiError> {
        self.get(worker_id).await.map(DetailAnswer::Decoded)
    }

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
