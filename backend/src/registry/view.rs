//! A registered runtime as the Browser API and the Settings page both show it, and the budget aggregate
//! views give each runtime. It sits below both, so neither reaches into the other for it.

use std::future::Future;
use std::time::Duration;

use runtime_api::{ApiError, Capabilities, ProtocolInfo, RuntimeId, RuntimeStatus, SourceKind, WorkerCounts};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Registered;
use crate::stack::diagnostics::HealthRecord;

/// How long one runtime may take to answer for a view of every runtime; a slower one is reported as not
/// answering, so one hung runtime does not hold up the view of all the others.
pub const AGGREGATE_BUDGET: Duration = Duration::from_secs(2);

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

/// `call` to `entry`, or `runtime_timeout` once `budget` has passed.
pub async fn within<T>(
    entry: &Registered,
    budget: Duration,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(budget, call).await.unwrap_or_else(|_| Err(ApiError::timed_out(entry.runtime_id(), budget)))
}

/// Asks a runtime for its summary (within `budget`, if given) and describes it with the result.
pub async fn view(entry: &Registered, budget: Option<Duration>) -> RuntimeView {
    let descriptor = entry.descriptor();
    let mut notes = Vec::new();
    let summary = match (entry.inactive_reason(), budget) {
        (Some(reason), _) => {
            notes.push(reason.to_owned());
            None
        }
        // A failure is recorded in the health record shown below.
        (None, None) => entry.summary().await.ok(),
        (None, Some(budget)) => match tokio::time::timeout(budget, entry.summary()).await {
            Ok(result) => result.ok(),
            // A source's own failure is in the health record; running out of the budget is not.
            Err(_) => {
                notes.push(ApiError::timed_out(entry.runtime_id(), budget).message);
                None
            }
        },
    };
    RuntimeView {
        runtime_id: descriptor.runtime_id.clone(),
        display_name: descriptor.display_name.clone(),
        kind: descriptor.kind,
        status: summary.as_ref().map_or(RuntimeStatus::Unavailable, |s| s.status),
        active: entry.inactive_reason().is_none(),
        capabilities: summary.as_ref().map(|s| s.capabilities.clone()),
        protocol: summary.as_ref().map(|s| s.protocol.clone()),
        workers: summary.as_ref().map(|s| s.workers),
        log_id: summary.as_ref().map(|s| s.log_id.clone()),
        last_event_seq: summary.map(|s| s.last_event_seq),
        diagnostics: RuntimeDiagnostics { notes, calls: entry.health().snapshot() },
    }
}
