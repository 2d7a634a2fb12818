//! The runtime contract shared by every runtime, source, server and client.
//!
//! This crate holds data and one trait only: it performs no I/O and depends on no async runtime or HTTP
//! stack, so the same definitions serve the embedded runtime, the runtime process, the backend and its
//! remote client without any of them pulling in another's machinery.

pub mod command;
pub mod error;
pub mod event;
pub mod ids;
pub mod limits;
pub mod page;
#[cfg(feature = "openapi")]
pub mod params;
pub mod relabel;
pub mod runtime;
pub mod source;
pub mod stream;
pub mod transcript;
pub mod turn;
pub mod verbatim;
pub mod worker;

pub use command::{Command, CommandAck, IDEMPOTENCY_KEY_HEADER, IdempotencyKey};
pub use error::{ApiError, ErrorCode, ErrorEnvelope, FieldProblem};
pub use event::{Event, EventBody};
pub use ids::{IdError, RuntimeId, WorkerId, WorkerRef};
pub use page::{ListQuery, TranscriptPage, TranscriptQuery, WorkerPage};
pub use relabel::Relabel;
pub use runtime::{
    Capabilities, ProfileInfo, ProfileList, ProtocolInfo, RuntimeStatus, RuntimeSummary, SourceDescriptor, SourceKind,
    WorkerCounts,
};
pub use source::{DetailAnswer, FrameStream, RuntimeSource};
pub use stream::{CloseReason, Snapshot, SnapshotState, StreamFrame, SubscribeRequest};
pub use transcript::{Role, TranscriptEntry};
pub use turn::{FailureReason, TurnOutcome, Usage};
pub use verbatim::VerbatimDetail;
pub use worker::{
    CancelAck, CancelOutcome, CreateWorkerRequest, InputAck, InputDisposition, InputKind, InputRequest,
    LifecycleRequest, StopAck, StopOutcome, TurnInfo, WhenBusy, WorkerDetail, WorkerState, WorkerSummary,
};

/// A point in time, serialized as an RFC 3339 string in UTC.
pub type Timestamp = jiff::Timestamp;

#[cfg(all(test, feature = "openapi"))]
mod openapi_tests;
