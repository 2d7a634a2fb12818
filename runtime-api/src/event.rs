//! Numbered notifications from a runtime.
//!
//! Every event carries a runtime-wide, strictly increasing `seq`. Durable events are stored and can be
//! replayed from a cursor; `turn_delta` is live-only and is never replayed.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::WorkerId;
use crate::turn::{FailureReason, Usage};
use crate::worker::{InputDisposition, InputKind, WorkerState, WorkerSummary};

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Runtime-wide position; strictly increasing, never reused.
    pub seq: u64,
    /// When it happened.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The worker it concerns.
    pub worker_id: WorkerId,
    /// The worker's state right after this event.
    pub state: WorkerState,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// What an event reports, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// A worker was created.
    WorkerCreated {
        /// The new worker.
        worker: WorkerSummary,
    },
    /// An input was accepted and appended to the transcript.
    InputAccepted {
        /// The turn it starts or will start.
        turn_id: u64,
        /// Its transcript entry.
        transcript_seq: u64,
        /// User or system.
        input_kind: InputKind,
        /// Started at once, queued, or interrupted the running turn.
        disposition: InputDisposition,
    },
    /// A turn began running.
    TurnStarted {
        /// The turn.
        turn_id: u64,
    },
    /// A piece of a running turn's output (live-only).
    TurnDelta {
        /// The turn.
        turn_id: u64,
        /// The text to append.
        delta: String,
    },
    /// A turn finished and its output was appended to the transcript.
    TurnCompleted {
        /// The turn.
        turn_id: u64,
        /// The assistant entry.
        transcript_seq: u64,
        /// Tokens the provider counted, when it reported them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// A turn was cancelled (running, or queued and never started).
    TurnCancelled {
        /// The turn.
        turn_id: u64,
        /// The notice entry.
        transcript_seq: u64,
        /// The reason given with the cancel, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The assistant entry keeping the output produced before the cancel, when there was any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_seq: Option<u64>,
    },
    /// A turn's executor failed.
    TurnFailed {
        /// The turn.
        turn_id: u64,
        /// The notice entry.
        transcript_seq: u64,
        /// Why, as a stable code.
        #[serde(default)]
        reason: FailureReason,
        /// What went wrong, in words, without internals.
        error: String,
        /// The assistant entry keeping the output produced before the failure, when there was any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_seq: Option<u64>,
    },
    /// A turn was cut off because the runtime stopped while it ran; recorded when the runtime restarts.
    TurnInterrupted {
        /// The turn.
        turn_id: u64,
        /// The notice entry.
        transcript_seq: u64,
    },
    /// The worker was stopped.
    WorkerStopped {
        /// The notice entry.
        transcript_seq: u64,
        /// The reason given with the stop, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The worker failed and will take no more input.
    WorkerFailed {
        /// The notice entry.
        transcript_seq: u64,
        /// What went wrong, without internals.
        error: String,
    },
}

impl EventBody {
    /// Whether the event is stored and replayable (everything but deltas).
    pub const fn is_durable(&self) -> bool {
        !matches!(self, EventBody::TurnDelta { .. })
    }

    /// The event's `kind` as it appears on the wire.
    pub const fn kind(&self) -> &'static str {
        match self {
            EventBody::WorkerCreated { .. } => "worker_created",
            EventBody::InputAccepted { .. } => "input_accepted",
            EventBody::TurnStarted { .. } => "turn_started",
            EventBody::TurnDelta { .. } => "turn_delta",
            EventBody::TurnCompleted { .. } => "turn_completed",
            EventBody::TurnCancelled { .. } => "turn_cancelled",
            EventBody::TurnFailed { .. } => "turn_failed",
            EventBody::TurnInterrupted { .. } => "turn_interrupted",
            EventBody::WorkerStopped { .. } => "worker_stopped",
            EventBody::WorkerFailed { .. } => "worker_failed",
        }
    }
}

impl Event {
    /// Whether the event is stored and replayable.
    pub const fn is_durable(&self) -> bool {
        self.body.is_durable()
    }
}
