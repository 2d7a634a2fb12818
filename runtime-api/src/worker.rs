//! Workers on the wire: states, summaries, and the create / input / stop / cancel requests and acks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::ApiError;
use crate::ids::{RuntimeId, WorkerId};
use crate::limits::{self, check_text};
use crate::turn::Usage;

/// Where a worker is in its life (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Waiting for input.
    Idle,
    /// Running a turn.
    Busy,
    /// Terminal, by request.
    Stopped,
    /// Terminal, by fault.
    Failed,
}

impl WorkerState {
    /// Whether the worker will never run another turn.
    pub const fn is_terminal(self) -> bool {
        matches!(self, WorkerState::Stopped | WorkerState::Failed)
    }
}

/// A worker as it appears in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerSummary {
    /// The runtime hosting the worker.
    pub runtime_id: RuntimeId,
    /// The worker's id in that runtime.
    pub worker_id: WorkerId,
    /// Optional human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Current state.
    pub state: WorkerState,
    /// The profile the worker runs with.
    pub profile: String,
    /// The executor behind that profile (`echo` is never a model).
    pub executor: String,
    /// The model the profile asks for, for executors that call one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// When the worker was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When its state or transcript last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// Number of transcript entries (the seq of the newest one).
    pub transcript_len: u64,
}

/// The turn a busy worker is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TurnInfo {
    /// Per-worker turn number.
    pub turn_id: u64,
    /// When it started running.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
}

/// Everything about one worker.
// Read through a flat mirror: `flatten` makes serde buffer the whole object first, and detail is read on
// every proxied request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "WireDetail")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerDetail {
    /// The list fields.
    #[serde(flatten)]
    pub summary: WorkerSummary,
    /// Client-supplied labels given at create.
    pub metadata: BTreeMap<String, String>,
    /// The running turn, when busy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_turn: Option<TurnInfo>,
    /// Inputs accepted with `when_busy = queue` that have not started yet.
    pub queued_inputs: u32,
    /// Why the worker stopped or failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Tokens counted over all of the worker's turns, as far as providers reported them.
    pub usage: Usage,
}

/// [`WorkerDetail`] as read from the wire: the same fields, without `flatten`.
#[derive(Deserialize)]
struct WireDetail {
    runtime_id: RuntimeId,
    worker_id: WorkerId,
    #[serde(default)]
    title: Option<String>,
    state: WorkerState,
    profile: String,
    executor: String,
    #[serde(default)]
    model: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    transcript_len: u64,
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    current_turn: Option<TurnInfo>,
    queued_inputs: u32,
    #[serde(default)]
    end_reason: Option<String>,
    // Runtimes that predate usage counting do not send it.
    #[serde(default)]
    usage: Usage,
}

impl From<WireDetail> for WorkerDetail {
    fn from(w: WireDetail) -> Self {
        WorkerDetail {
            summary: WorkerSummary {
                runtime_id: w.runtime_id,
                worker_id: w.worker_id,
                title: w.title,
                state: w.state,
                profile: w.profile,
                executor: w.executor,
                model: w.model,
                created_at: w.created_at,
                updated_at: w.updated_at,
                transcript_len: w.transcript_len,
            },
            metadata: w.metadata,
            current_turn: w.current_turn,
            queued_inputs: w.queued_inputs,
            end_reason: w.end_reason,
            usage: w.usage,
        }
    }
}

/// Body of a create request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWorkerRequest {
    /// Profile name; `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$"))]
    pub profile: Option<String>,
    /// Optional human title: one line, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub title: Option<String>,
    /// Optional string labels: at most 32, keys of 1–64 and values of up to 1,024 characters, one line each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = metadata_schema))]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The schema of [`CreateWorkerRequest::metadata`], which the derive cannot bound: entry count, key and value
/// lengths, no control characters.
#[cfg(feature = "openapi")]
fn metadata_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
    let one_line = |min: usize, max: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(min))
            .max_length(Some(max))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*$"))
            .build()
    };
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(limits::MAX_METADATA_ENTRIES))
        .property_names(Some(one_line(1, limits::MAX_METADATA_KEY_CHARS)))
        .additional_properties(Some(Schema::Object(one_line(0, limits::MAX_METADATA_VALUE_CHARS))))
        .build()
}

impl CreateWorkerRequest {
    /// Checks every field against [`crate::limits`].
    pub fn validate(&self) -> Result<(), ApiError> {
        if let Some(profile) = &self.profile {
            if profile.is_empty() {
                return Err(ApiError::invalid("profile must not be empty"));
            }
            check_text("profile", profile, limits::MAX_PROFILE_NAME_CHARS, false)?;
        }
        if let Some(title) = &self.title {
            check_text("title", title, limits::MAX_TITLE_CHARS, false)?;
        }
        if let Some(metadata) = &self.metadata {
            if metadata.len() > limits::MAX_METADATA_ENTRIES {
                return Err(ApiError::invalid(format!(
                    "metadata must have at most {} entries",
                    limits::MAX_METADATA_ENTRIES
                )));
            }
            for (key, value) in metadata {
                if key.is_empty() {
                    return Err(ApiError::invalid("metadata keys must not be empty"));
                }
                check_text("metadata key", key, limits::MAX_METADATA_KEY_CHARS, false)?;
                check_text("metadata value", value, limits::MAX_METADATA_VALUE_CHARS, false)?;
            }
        }
        Ok(())
    }
}

/// Who an input speaks as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A user message.
    #[default]
    User,
    /// A system instruction.
    System,
}

/// What input does when the worker is already running a turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WhenBusy {
    /// Refuse with `worker_busy`; nothing is appended.
    #[default]
    Reject,
    /// Accept into the bounded queue; run after the current turn.
    Queue,
    /// Cancel the running turn (and drop the queue), then run this input.
    Interrupt,
}

impl WhenBusy {
    /// Every policy.
    pub const ALL: [WhenBusy; 3] = [WhenBusy::Reject, WhenBusy::Queue, WhenBusy::Interrupt];
}

/// Body of an input request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InputRequest {
    /// The message text: not blank; line breaks and tabs but no other control characters; at most 65,536
    /// bytes of UTF-8 (as many characters when ASCII).
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 65536,
            pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
        )
    )]
    pub content: String,
    /// Who speaks; `user` when absent.
    #[serde(default)]
    pub kind: InputKind,
    /// The busy policy; `reject` when absent.
    #[serde(default)]
    pub when_busy: WhenBusy,
}

impl InputRequest {
    /// A user input with the default busy policy.
    pub fn user(content: impl Into<String>) -> Self {
        InputRequest { content: content.into(), kind: InputKind::User, when_busy: WhenBusy::Reject }
    }

    /// The same input with another busy policy.
    pub fn when_busy(mut self, policy: WhenBusy) -> Self {
        self.when_busy = policy;
        self
    }

    /// Checks the content: not blank, within [`limits::MAX_INPUT_BYTES`], no stray control characters.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.content.trim().is_empty() {
            return Err(ApiError::invalid("content must not be empty"));
        }
        if self.content.len() > limits::MAX_INPUT_BYTES {
            return Err(ApiError::invalid(format!("content must be at most {} bytes", limits::MAX_INPUT_BYTES)));
        }
        check_text("content", &self.content, usize::MAX, true)
    }
}

/// How an accepted input was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InputDisposition {
    /// Its turn started at once.
    Started,
    /// It waits in the queue behind the running turn.
    Queued,
    /// The running turn was cancelled and this input's turn started.
    Interrupted,
}

/// Acknowledgement of an accepted input; sent only once the input is durable in the runtime's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InputAck {
    /// The worker.
    pub worker_id: WorkerId,
    /// The turn this input starts (or will start).
    pub turn_id: u64,
    /// What happened to it.
    pub disposition: InputDisposition,
    /// Position in the queue (1 = next), when queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u32>,
    /// Transcript seq of the input entry.
    pub transcript_seq: u64,
    /// Seq of the `input_accepted` event.
    pub event_seq: u64,
}

/// Body of a stop or cancel request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LifecycleRequest {
    /// Optional human reason, recorded in the transcript notice: one line, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 500, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub reason: Option<String>,
}

impl LifecycleRequest {
    /// Checks the reason's length and characters.
    pub fn validate(&self) -> Result<(), ApiError> {
        match &self.reason {
            Some(reason) => check_text("reason", reason, limits::MAX_REASON_CHARS, false),
            None => Ok(()),
        }
    }
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CancelOutcome {
    /// A running turn was aborted.
    Cancelled,
    /// No turn was running; nothing changed.
    NothingToCancel,
}

/// Acknowledgement of a cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelAck {
    /// The worker.
    pub worker_id: WorkerId,
    /// What happened.
    pub outcome: CancelOutcome,
    /// The aborted turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<u64>,
    /// Queued inputs that were dropped with it (their turns are recorded as cancelled).
    pub dropped_queued: u32,
    /// The worker's state afterwards.
    pub state: WorkerState,
}

/// What a stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopOutcome {
    /// The worker is now stopped.
    Stopped,
    /// It was already stopped; nothing changed.
    AlreadyStopped,
}

/// Acknowledgement of a stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StopAck {
    /// The worker.
    pub worker_id: WorkerId,
    /// What happened.
    pub outcome: StopOutcome,
    /// The turn that was cancelled on the way, if one was running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_turn: Option<u64>,
    /// The worker's state afterwards: `stopped`.
    pub state: WorkerState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_round_trips_through_its_flat_wire_form() {
        let detail = WorkerDetail {
            summary: WorkerSummary {
                runtime_id: RuntimeId::parse("r").unwrap(),
                worker_id: WorkerId::parse("w-1").unwrap(),
                title: Some("t".into()),
                state: WorkerState::Busy,
                profile: "default".into(),
                executor: "echo".into(),
                model: Some("m".into()),
                created_at: Timestamp::UNIX_EPOCH,
                updated_at: Timestamp::UNIX_EPOCH,
                transcript_len: 3,
            },
            metadata: BTreeMap::from([("k".into(), "v".into())]),
            current_turn: Some(TurnInfo { turn_id: 2, started_at: Timestamp::UNIX_EPOCH }),
            queued_inputs: 1,
            end_reason: None,
            usage: Usage { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
        };
        let json = serde_json::to_value(&detail).unwrap();
        assert_eq!(json["worker_id"], "w-1", "summary fields sit at the top level");
        assert_eq!(serde_json::from_value::<WorkerDetail>(json).unwrap(), detail);
    }

    #[test]
    fn input_defaults_to_user_and_reject() {
        let req: InputRequest = serde_json::from_str(r#"{"content":"hi"}"#).unwrap();
        assert_eq!(req, InputRequest::user("hi"));
        let bad = serde_json::from_str::<InputRequest>(r#"{"content":"hi","when_busy":"later"}"#);
        assert!(bad.is_err());
        let unknown = serde_json::from_str::<InputRequest>(r#"{"content":"hi","extra":1}"#);
        assert!(unknown.is_err());
    }

    #[test]
    fn input_validation_bounds_content() {
        assert!(InputRequest::user("  ").validate().is_err());
        assert!(InputRequest::user("x".repeat(limits::MAX_INPUT_BYTES)).validate().is_ok());
        assert!(InputRequest::user("x".repeat(limits::MAX_INPUT_BYTES + 1)).validate().is_err());
        assert!(InputRequest::user("line\nline").validate().is_ok());
        assert!(InputRequest::user("nul\0").validate().is_err());
    }

    #[test]
    fn create_validation_bounds_every_field() {
        assert!(CreateWorkerRequest::default().validate().is_ok());
        let many: BTreeMap<_, _> = (0..=limits::MAX_METADATA_ENTRIES).map(|i| (i.to_string(), String::new())).collect();
        let req = CreateWorkerRequest { metadata: Some(many), ..Default::default() };
        assert!(req.validate().unwrap_err().message.contains("metadata"));
        let req = CreateWorkerRequest { title: Some("t\u{1b}[31m".into()), ..Default::default() };
        assert!(req.validate().is_err());
        let req = CreateWorkerRequest { profile: Some(String::new()), ..Default::default() };
        assert!(req.validate().is_err());
    }
}
