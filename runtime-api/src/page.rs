//! Bounded, cursor-paged reads: the query shapes and the pages they return.

use serde::{Deserialize, Serialize};

use crate::ids::WorkerId;
use crate::transcript::TranscriptEntry;
use crate::worker::WorkerSummary;

/// Query of a worker list page: workers after `after` in creation order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Return workers created after this one; the first page when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<WorkerId>,
    /// Requested page size; clamped (see [`crate::limits::effective_limit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One page of workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerPage {
    /// The workers, oldest first.
    pub workers: Vec<WorkerSummary>,
    /// The page size that was applied.
    pub limit: u32,
    /// Pass as `after` to read the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<WorkerId>,
}

/// Query of a transcript page: entries with `seq > after`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TranscriptQuery {
    /// Return entries after this seq; from the start when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Requested page size; clamped (see [`crate::limits::effective_limit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One page of a worker's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranscriptPage {
    /// The worker whose transcript this is.
    pub worker_id: WorkerId,
    /// Entries in seq order.
    pub entries: Vec<TranscriptEntry>,
    /// The page size that was applied.
    pub limit: u32,
    /// Pass as `after` to read the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
    /// The seq of the newest entry at the time of the read (0 when empty).
    pub last_seq: u64,
}
