//! `/api/settings/runtime-connections`: the runtime connections an operator manages (SPEC §8).

use api_http::Json;
use axum::extract::State;
use axum::http::StatusCode;
use runtime_api::{ApiError, ErrorEnvelope, RuntimeId};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::connections::negotiate::TestReport;
use crate::connections::{Added, ConnectionDraft, ConnectionList, Removed};
use api_http::{ApiJson, ApiPath, ApiResult};

/// Every connection and how it maps to the live registry.
#[utoipa::path(get, path = "/api/settings/runtime-connections", tag = "settings",
    responses((status = 200, body = ConnectionList), (status = 422, body = ErrorEnvelope)))]
pub(crate) async fn list(State(state): State<AppState>) -> ApiResult<Json<ConnectionList>> {
    Ok(Json(state.connections.list().await?))
}

/// Adds a remote connection: written to the config file, then registered.
#[utoipa::path(post, path = "/api/settings/runtime-connections", tag = "settings",
    request_body = ConnectionDraft,
    responses((status = 201, body = Added), (status = 400, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub(crate) async fn add(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<Added>)> {
    let added = state.connections.add(draft(body)?).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Removes a remote connection: taken out of the config file, then unregistered.
#[utoipa::path(delete, path = "/api/settings/runtime-connections/{id}", tag = "settings",
    params(("id" = String, Path, description = "Connection id")),
    responses((status = 200, body = Removed), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub(crate) async fn remove(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Removed>> {
    Ok(Json(state.connections.remove(&id).await?))
}

/// Tests a saved connection; nothing is written.
#[utoipa::path(post, path = "/api/settings/runtime-connections/{id}/test", tag = "settings",
    params(("id" = String, Path, description = "Connection id")),
    responses((status = 200, body = TestReport), (status = 404, body = ErrorEnvelope)))]
pub(crate) async fn test_saved(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TestReport>> {
    Ok(Json(state.connections.test_saved(&id).await?))
}

/// Tests a connection before it is saved; nothing is written.
#[utoipa::path(post, path = "/api/settings/runtime-connections/test", tag = "settings",
    request_body = ConnectionDraft,
    responses((status = 200, body = TestReport), (status = 400, body = ErrorEnvelope)))]
pub(crate) async fn test_candidate(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<TestReport>> {
    Ok(Json(state.connections.test_candidate(draft(body)?).await?))
}

/// What reloading the configuration did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReloadReport {
    /// Whether settings changed that only a restart applies (`[server]`, `[embedded]`).
    pub restart_required: bool,
    /// Runtimes registered (new, or replaced because their entry changed).
    pub added: Vec<RuntimeId>,
    /// Runtimes unregistered (gone, or replaced).
    pub removed: Vec<RuntimeId>,
    /// Runtimes that could not be registered, and why.
    pub failed: Vec<NotRegistered>,
}

/// A configured runtime that could not be registered.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotRegistered {
    /// Its id.
    pub runtime_id: RuntimeId,
    /// Why.
    pub reason: String,
}

/// Reads the configuration again and applies it, as SIGHUP does; a configuration that does not load
/// changes nothing.
#[utoipa::path(post, path = "/api/settings/reload", tag = "settings",
    responses((status = 200, body = ReloadReport), (status = 422, body = ErrorEnvelope)))]
pub(crate) async fn reload(State(state): State<AppState>) -> ApiResult<Json<ReloadReport>> {
    let reloaded = state.connections.reload().await?;
    let changes = reloaded.changes;
    let failed = changes.failed.into_iter().map(|(runtime_id, reason)| NotRegistered { runtime_id, reason }).collect();
    Ok(Json(ReloadReport {
        restart_required: reloaded.restart_required,
        added: changes.added,
        removed: changes.removed,
        failed,
    }))
}

/// The body as a draft; a missing or unknown field is named, so a form can mark it.
fn draft(body: serde_json::Value) -> Result<ConnectionDraft, ApiError> {
    serde_json::from_value(body).map_err(|error| {
        let message = error.to_string();
        let named = |marker: &str| {
            let rest = message.split_once(marker)?.1;
            Some(rest.split('`').next()?.to_owned())
        };
        let field = named("missing field `").or_else(|| named("unknown field `"));
        let error = ApiError::invalid(format!("invalid connection: {message}"));
        match field {
            Some(field) => error.with_field(field),
            None => error,
        }
    })
}
