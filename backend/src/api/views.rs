//! Response types of the Browser API that exist only at this hop.

use runtime_api::{ApiError, RuntimeId, WorkerSummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::health::HealthState;

pub use crate::registry::view::{RuntimeDiagnostics, RuntimeView};

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
    /// For `/readyz`: every runtime's health as its monitor last found it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtimes: Vec<RuntimeHealth>,
}

/// One runtime's health, as `/readyz` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuntimeHealth {
    /// The runtime.
    pub runtime_id: RuntimeId,
    /// What its last probe found (`unavailable` for one that cannot be called).
    pub status: HealthState,
}
