//! The durable record of a worker's messages.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::turn::{TurnOutcome, Usage};

/// Who a transcript entry is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Input from a user.
    User,
    /// Output of a turn.
    Assistant,
    /// Input given as a system instruction.
    System,
    /// Written by the runtime: cancelled, failed, interrupted, stopped.
    Notice,
}

/// One transcript entry; `seq` is per worker, starts at 1 and has no gaps.
///
/// Assistant entries also say how their turn ended and, when known, what produced them (the fields after
/// `turn_id`); other entries leave those out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranscriptEntry {
    /// Position in the worker's transcript.
    pub seq: u64,
    /// Who it is from.
    pub role: Role,
    /// The text.
    pub content: String,
    /// When it was recorded.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The turn it belongs to, when it belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<u64>,
    /// How the turn ended: an entry of a cancelled, interrupted or failed turn holds its partial output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<TurnOutcome>,
    /// The executor that wrote it (`echo` is never a model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
    /// The model that wrote it, as the provider named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why the provider ended the reply (`stop`, `length`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Tokens the provider counted for the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Milliseconds from the turn's start to its first piece of output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token_ms: Option<u64>,
    /// Milliseconds from the turn's start to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl TranscriptEntry {
    /// An entry with no reply facts (input, notices, or an assistant entry whose facts are set after).
    pub fn new(seq: u64, role: Role, content: String, at: Timestamp, turn_id: Option<u64>) -> Self {
        TranscriptEntry {
            seq,
            role,
            content,
            at,
            turn_id,
            outcome: None,
            executor: None,
            model: None,
            finish_reason: None,
            usage: None,
            first_token_ms: None,
            duration_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_without_reply_facts_keep_the_original_shape() {
        let entry = TranscriptEntry::new(1, Role::User, "hi".into(), Timestamp::UNIX_EPOCH, Some(1));
        let json = serde_json::to_value(&entry).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["at", "content", "role", "seq", "turn_id"]);
        assert_eq!(serde_json::from_value::<TranscriptEntry>(json).unwrap(), entry);
    }
}
