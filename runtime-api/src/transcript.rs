//! The durable record of a worker's messages.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

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
}
