//! Handlers: each parses its request, calls the runtime, and answers JSON (errors in the shared shape).

use api_http::{ApiJson, ApiPath, ApiQuery, ApiResult, HttpError, OptionalJson};
use axum::Json;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::StatusCode;
use axum::response::Response;
use runtime_api::{
    CancelAck, CreateWorkerRequest, InputAck, InputRequest, LifecycleRequest, ListQuery, ProfileList, RuntimeSummary,
    StopAck, SubscribeRequest, TranscriptPage, TranscriptQuery, WorkerDetail, WorkerId, WorkerPage,
};

use crate::Runtime;

fn worker_id(raw: String) -> Result<WorkerId, HttpError> {
    WorkerId::parse(raw).map_err(HttpError::from)
}

pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

pub(super) async fn summary(State(runtime): State<Runtime>) -> Json<RuntimeSummary> {
    Json(runtime.summary())
}

pub(super) async fn profiles(State(runtime): State<Runtime>) -> Json<ProfileList> {
    Json(runtime.profiles())
}

pub(super) async fn list(
    State(runtime): State<Runtime>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<WorkerPage>> {
    Ok(Json(runtime.list(&query).await?))
}

pub(super) async fn create(
    State(runtime): State<Runtime>,
    OptionalJson(request): OptionalJson<CreateWorkerRequest>,
) -> ApiResult<(StatusCode, Json<WorkerDetail>)> {
    Ok((StatusCode::CREATED, Json(runtime.create(request).await?)))
}

pub(super) async fn get(State(runtime): State<Runtime>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<WorkerDetail>> {
    Ok(Json(runtime.get(&worker_id(id)?).await?))
}

pub(super) async fn input(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<InputRequest>,
) -> ApiResult<(StatusCode, Json<InputAck>)> {
    Ok((StatusCode::ACCEPTED, Json(runtime.input(&worker_id(id)?, request).await?)))
}

pub(super) async fn stop(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<StopAck>> {
    Ok(Json(runtime.stop(&worker_id(id)?, request).await?))
}

pub(super) async fn cancel(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<CancelAck>> {
    Ok(Json(runtime.cancel(&worker_id(id)?, request).await?))
}

pub(super) async fn transcript(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<TranscriptQuery>,
) -> ApiResult<Json<TranscriptPage>> {
    Ok(Json(runtime.transcript(&worker_id(id)?, query).await?))
}

pub(super) async fn events(
    State(runtime): State<Runtime>,
    ApiQuery(request): ApiQuery<SubscribeRequest>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = api_http::events::upgrade(upgrade)?;
    let frames = runtime.subscribe(request)?;
    Ok(api_http::events::serve(upgrade, frames))
}
