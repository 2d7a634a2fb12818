//! `/api/runtimes`: every registered runtime, and one.

use api_http::Json;
use axum::extract::State;
use futures::future::join_all;
use runtime_api::{ProfileList, RuntimeId};

use super::AppState;
use super::views::RuntimeView;
use crate::registry::view::{AGGREGATE_BUDGET, Freshness, view};
use api_http::{ApiPath, ApiResult, HttpError};

/// Every registered runtime; a runtime that fails to answer is listed as unavailable, not an error.
#[utoipa::path(get, path = "/api/runtimes", tag = "runtimes",
    responses((status = 200, description = "Every registered runtime", body = [RuntimeView])))]
pub(crate) async fn list(State(state): State<AppState>) -> Json<Vec<RuntimeView>> {
    let entries = state.registry.list();
    Json(join_all(entries.iter().map(|entry| view(entry, Freshness::Live(Some(AGGREGATE_BUDGET))))).await)
}

/// One runtime.
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}", tag = "runtimes",
    params(("runtime_id" = RuntimeId, Path, description = "Runtime id")),
    responses((status = 200, body = RuntimeView), (status = 404, body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
) -> ApiResult<Json<RuntimeView>> {
    let runtime_id = RuntimeId::parse(runtime_id).map_err(HttpError::from)?;
    let entry = state.registry.get(&runtime_id)?;
    Ok(Json(view(&entry, Freshness::Live(None)).await))
}

/// The profiles workers of a runtime can be created with: name, executor, model and description, never
/// where a model lives or its key.
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/profiles", tag = "runtimes",
    params(("runtime_id" = RuntimeId, Path, description = "Runtime id")),
    responses((status = 200, body = ProfileList), (status = 404, body = runtime_api::ErrorEnvelope),
        (status = 501, description = "The runtime cannot list profiles", body = runtime_api::ErrorEnvelope)))]
pub(crate) async fn profiles(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
) -> ApiResult<Json<ProfileList>> {
    let runtime_id = RuntimeId::parse(runtime_id).map_err(HttpError::from)?;
    Ok(Json(state.registry.get(&runtime_id)?.profiles().await?))
}
