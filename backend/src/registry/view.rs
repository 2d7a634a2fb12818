//! A registered runtime as the Browser API and the Settings page both show it, and the budget aggregate
//! views give each runtime. It sits below both, so neither reaches into the other for it.

use std::future::Future;
use std::time::Duration;

use runtime_api::{
    ApiError, Capabilities, ProtocolInfo, RuntimeId, RuntimeStatus, RuntimeSummary, SourceKind, WorkerCounts,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Registered;
use crate::health::{HealthState, HealthView};
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
    /// What its health monitor found (absent for a runtime that cannot be called at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthView>,
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

/// `call` to `entry`, or `runtime_timeout` once `budget` has passed — which also tells the runtime's monitor,
/// since the call that was given up on cannot.
pub async fn within<T>(
    entry: &Registered,
    budget: Duration,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(budget, call).await.unwrap_or_else(|_| {
        entry.suspect();
        Err(ApiError::timed_out(entry.runtime_id(), budget))
    })
}

/// How fresh a view must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Ask the runtime now, unless it is known down; within the budget, if one is given.
    Live(Option<Duration>),
    /// Only what the health monitor remembers: no call at all.
    Remembered,
}

/// Describes a runtime: asked now (unless known down), or from what its monitor remembers.
pub async fn view(entry: &Registered, freshness: Freshness) -> RuntimeView {
    let mut notes = Vec::new();
    let Some(monitor) = entry.monitor() else {
        notes.extend(entry.inactive_reason().map(str::to_owned));
        return describe(entry, None, None, notes);
    };
    let (health, summary) = match freshness {
        Freshness::Remembered => (monitor.view(), monitor.last_summary()),
        Freshness::Live(budget) => {
            let started = tokio::time::Instant::now();
            let health = match budget {
                // A runtime just registered is probed at once; waiting for that beats calling it blind.
                Some(budget) => monitor.settled(budget).await,
                None => monitor.view(),
            };
            let left = budget.map(|budget| budget.saturating_sub(started.elapsed()));
            let silent = health.status == HealthState::Unknown && budget.is_some();
            let summary = if health.failing_fast {
                // Known down: nothing to gain from asking.
                None
            } else if silent {
                // Its first probe took the whole budget: asking again would too.
                notes.push(ApiError::timed_out(entry.runtime_id(), budget.unwrap_or_default()).message);
                None
            } else {
                match left {
                    // A failure is recorded in the health record shown below.
                    None => entry.summary().await.ok(),
                    Some(left) => match tokio::time::timeout(left, entry.summary()).await {
                        Ok(result) => result.ok(),
                        // A source's own failure is in the health record; running out of the budget is not,
                        // and the monitor learns of it only from here.
                        Err(_) => {
                            entry.suspect();
                            notes.push(ApiError::timed_out(entry.runtime_id(), budget.unwrap_or(left)).message);
                            None
                        }
                    },
                }
            };
            // The call just made may have taught the monitor something.
            (monitor.view(), summary)
        }
    };
    if health.failing_fast {
        notes.extend(health.reason.clone());
    }
    describe(entry, Some(health), summary, notes)
}

fn describe(
    entry: &Registered,
    health: Option<HealthView>,
    summary: Option<RuntimeSummary>,
    notes: Vec<String>,
) -> RuntimeView {
    let descriptor = entry.descriptor();
    let status = match (&summary, &health) {
        (Some(summary), _) => summary.status,
        (None, Some(health)) => health.status.runtime_status(),
        (None, None) => RuntimeStatus::Unavailable,
    };
    RuntimeView {
        runtime_id: descriptor.runtime_id.clone(),
        display_name: descriptor.display_name.clone(),
        kind: descriptor.kind,
        status,
        active: entry.inactive_reason().is_none(),
        capabilities: summary.as_ref().map(|s| s.capabilities.clone()),
        protocol: summary.as_ref().map(|s| s.protocol.clone()),
        workers: summary.as_ref().map(|s| s.workers),
        log_id: summary.as_ref().map(|s| s.log_id.clone()),
        last_event_seq: summary.map(|s| s.last_event_seq),
        health,
        diagnostics: RuntimeDiagnostics { notes, calls: entry.health().snapshot() },
    }
}
