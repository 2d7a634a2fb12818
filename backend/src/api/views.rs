//! Response types of the Browser API that exist only at this hop.

use runtime_api::{
    ApiError, Capabilities, ProtocolInfo, RuntimeId, RuntimeStatus, SourceKind, WorkerCounts, WorkerSummary,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::stack::diagnostics::HealthRecord;

/// A runtime as the Browser sees it: what it is and how it is doing, never where it lives.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuntimeView {
    /// The runtime's id in this backend.
    pub runtime_id: RuntimeId,
    /// Human name.
    pub display_name: String,
    /// Which kind of source serves it.
    pub kind: SourceKind,
    /// Its condition as of this request.
    pub status: RuntimeStatus,
    /// Whether the backend can call it at all (false for a configured runtime this build cannot reach).
    pub active: bool,
    /// What it accepts, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// What it speaks, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolInfo>,
    /// Workers by state, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<WorkerCounts>,
    /// The event log its seqs belong to, when it answered (see `RuntimeSummary::log_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// The newest event seq it has published, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_seq: Option<u64>,
    /// Sanitized diagnostics.
    pub diagnostics: RuntimeDiagnostics,
}

/// How a runtime has been doing, with nothing that reveals where it lives.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuntimeDiagnostics {
    /// Human notes, such as why a runtime is inactive.
    pub notes: Vec<String>,
    /// Outcomes and latency of recent calls.
    pub calls: HealthRecord,
}

/// Query of `/api/workers`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllWorkersQuery {
    /// Most workers per runtime; clamped like every page.
    pub limit: Option<u32>,
}

/// Workers of every runtime.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AllWorkersPage {
    /// The first workers of each runtime, runtime by runtime in registry order.
    pub workers: Vec<WorkerSummary>,
    /// The page size applied per runtime.
    pub limit: u32,
    /// Runtimes that have more workers than shown; page through them with their own list.
    pub more: Vec<RuntimeId>,
    /// Runtimes whose workers could not be listed, and why.
    pub diagnostics: Vec<RuntimeProblem>,
}

/// A runtime that could not answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuntimeProblem {
    /// The runtime.
    pub runtime_id: RuntimeId,
    /// What went wrong (sanitized).
    pub error: ApiError,
}

/// Answer of `/healthz` and `/readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` or `ready`.
    pub status: &'static str,
}
