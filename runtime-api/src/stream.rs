//! Frames of an event subscription: a snapshot first, then events, heartbeats and control frames.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::event::Event;
use crate::ids::WorkerId;
use crate::runtime::RuntimeSummary;
use crate::worker::WorkerDetail;

/// What to subscribe to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// Resume: also deliver every durable event with a seq above this one, exactly once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Only this worker's events; the whole runtime when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<WorkerId>,
}

/// One frame of a subscription, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamFrame {
    /// Always the first frame: current state and the seq it is consistent with.
    Snapshot(Snapshot),
    /// An event.
    Event {
        /// The event.
        event: Event,
    },
    /// Sent when nothing else was for a while, so idle streams stay alive.
    Heartbeat {
        /// The newest seq published when the heartbeat was sent.
        seq: u64,
        /// When it was sent.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        at: Timestamp,
    },
    /// The subscriber fell behind; live-only events were skipped, durable ones are replayed next.
    Lagged {
        /// How many events the subscriber missed live.
        missed: u64,
        /// Delivery resumes with durable events after this seq.
        resume_after: u64,
    },
    /// The last frame: the stream ends, and why.
    Closed {
        /// Why.
        reason: CloseReason,
        /// Human text without internals.
        message: String,
        /// For `cursor_expired`: where the retained events begin.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        earliest_seq: Option<u64>,
    },
}

/// State at subscription time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// Every event up to this seq is reflected in `state`; later events follow the snapshot.
    pub seq: u64,
    /// The event log these seqs belong to (see [`RuntimeSummary::log_id`]).
    pub log_id: String,
    /// The runtime's or the worker's state.
    #[serde(flatten)]
    pub state: SnapshotState,
}

/// The subject of a snapshot, tagged by `scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum SnapshotState {
    /// A runtime-wide subscription.
    Runtime {
        /// The runtime's summary.
        runtime: RuntimeSummary,
    },
    /// A subscription to one worker.
    Worker {
        /// The worker's detail.
        worker: WorkerDetail,
    },
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The subscriber fell so far behind that the events it needs are no longer retained.
    CursorExpired,
    /// The runtime was removed from the registry.
    SourceRemoved,
    /// The runtime or backend is shutting down.
    Shutdown,
    /// The source can no longer deliver events (for example, its runtime became incompatible).
    SourceFailed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventBody;
    use crate::worker::WorkerState;

    #[test]
    fn event_frames_have_a_flat_readable_shape() {
        let frame = StreamFrame::Event {
            event: Event {
                seq: 7,
                at: "2026-01-01T00:00:00Z".parse().unwrap(),
                worker_id: WorkerId::parse("w-1").unwrap(),
                state: WorkerState::Busy,
                body: EventBody::TurnDelta { turn_id: 2, delta: "hel".into() },
            },
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "event", "event": {
                "seq": 7, "at": "2026-01-01T00:00:00Z", "worker_id": "w-1", "state": "busy",
                "kind": "turn_delta", "turn_id": 2, "delta": "hel"
            }})
        );
        assert_eq!(serde_json::from_value::<StreamFrame>(json).unwrap(), frame);
    }

    #[test]
    fn control_frames_round_trip() {
        let frames = [
            StreamFrame::Heartbeat { seq: 3, at: "2026-01-01T00:00:00Z".parse().unwrap() },
            StreamFrame::Lagged { missed: 10, resume_after: 4 },
            StreamFrame::Closed { reason: CloseReason::CursorExpired, message: "gone".into(), earliest_seq: Some(9) },
        ];
        for frame in frames {
            let text = serde_json::to_string(&frame).unwrap();
            assert_eq!(serde_json::from_str::<StreamFrame>(&text).unwrap(), frame, "{text}");
        }
    }
}
