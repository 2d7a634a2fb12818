//! Handlers: each parses its request, calls the runtime, and answers JSON (errors in the shared shape).

use api_http::StreamCaps;
use api_http::{ApiJson, ApiPath, ApiQuery, ApiResult, HttpError, IdempotencyHeader, OptionalJson};
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use runtime_api::{
    CancelAck, Command, CreateWorkerRequest, InputAck, InputRequest, LifecycleRequest, ListQuery, ProfileList,
    RuntimeSummary, StopAck, SubscribeRequest, TranscriptPage, TranscriptQuery, WorkerDetail, WorkerId, WorkerPage,
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
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<CreateWorkerRequest>,
) -> ApiResult<(StatusCode, Json<WorkerDetail>)> {
    let detail = runtime.command(Command::Create(request), key).await?.into_create()?;
    Ok((StatusCode::CREATED, Json(detail)))
}

pub(super) async fn get(State(runtime): State<Runtime>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<WorkerDetail>> {
    Ok(Json(runtime.get(&worker_id(id)?).await?))
}

pub(super) async fn input(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(request): ApiJson<InputRequest>,
) -> ApiResult<(StatusCode, Json<InputAck>)> {
    let ack = runtime.command(Command::Input(worker_id(id)?, request), key).await?.into_input()?;
    Ok((StatusCode::ACCEPTED, Json(ack)))
}

pub(super) async fn stop(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<StopAck>> {
    Ok(Json(runtime.command(Command::Stop(worker_id(id)?, request), key).await?.into_stop()?))
}

pub(super) async fn cancel(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<CancelAck>> {
    Ok(Json(runtime.command(Command::Cancel(worker_id(id)?, request), key).await?.into_cancel()?))
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
    Extension(caps): Extension<StreamCaps>,
    ApiQuery(request): ApiQuery<SubscribeRequest>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = api_http::events::upgrade(upgrade)?;
    let permit = caps.admit(None)?;
    let frames = runtime.subscribe(request)?;
    Ok(api_http::events::serve(upgrade, frames, permit))
}
