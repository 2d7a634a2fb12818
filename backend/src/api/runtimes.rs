//! `/api/runtimes`: every registered runtime, and one.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use futures::future::join_all;
use runtime_api::{ProfileList, RuntimeId, RuntimeStatus};

use super::AppState;
use super::views::{RuntimeDiagnostics, RuntimeView};
use crate::registry::Registered;
use api_http::{ApiPath, ApiResult, HttpError};

/// How long one runtime may take to answer for a listing of every runtime; a slower one is reported as not
/// answering, so one hung runtime does not hold up the view of all the others.
pub(crate) const AGGREGATE_BUDGET: Duration = Duration::from_secs(2);

/// Every registered runtime; a runtime that fails to answer is listed as unavailable, not an error.
#[utoipa::path(get, path = "/api/runtimes", tag = "runtimes",
    responses((status = 200, description = "Every registered runtime", body = [RuntimeView])))]
pub(crate) async fn list(State(state): State<AppState>) -> Json<Vec<RuntimeView>> {
    let entries = state.registry.list();
    Json(join_all(entries.iter().map(|entry| view(entry, Some(AGGREGATE_BUDGET)))).await)
}

/// One runtime.
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}", tag = "runtimes",
    params(("runtime_id" = String, Path, description = "Runtime id")),
    responses((status = 200, body = RuntimeView), (status = 404, body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
) -> ApiResult<Json<RuntimeView>> {
    let runtime_id = RuntimeId::parse(runtime_id).map_err(HttpError::from)?;
    let entry = state.registry.get(&runtime_id)?;
    Ok(Json(view(&entry, None).await))
}

/// The profiles workers of a runtime can be created with: name, executor, model and description, never
/// where a model lives or its key.
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/profiles", tag = "runtimes",
    params(("runtime_id" = String, Path, description = "Runtime id")),
    responses((status = 200, body = ProfileList), (status = 404, body = runtime_api::ErrorEnvelope),
        (status = 501, description = "The runtime cannot list profiles", body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn profiles(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
) -> ApiResult<Json<ProfileList>> {
    let runtime_id = RuntimeId::parse(runtime_id).map_err(HttpError::from)?;
    Ok(Json(state.registry.get(&runtime_id)?.profiles().await?))
}

/// Asks a runtime for its summary (within `budget`, if given) and describes it with the result.
pub(crate) async fn view(entry: &Registered, budget: Option<Duration>) -> RuntimeView {
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
            Err(_) => {
                notes.push(format!("did not answer within {}s", budget.as_secs()));
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
