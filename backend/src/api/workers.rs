//! Worker routes: list, create, detail, input, stop, cancel, transcript, and all workers at once.

use std::sync::Arc;

use api_http::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::future::join_all;
use runtime_api::limits::effective_limit;
use runtime_api::params::{LimitParam, SeqParam};
use runtime_api::{
    ApiError, CancelAck, Command, CommandAck, CreateWorkerRequest, DetailAnswer, ErrorEnvelope, IdempotencyKey,
    InputAck, InputRequest, LifecycleRequest, ListQuery, RuntimeId, StopAck, TranscriptPage, TranscriptQuery,
    WorkerDetail, WorkerId, WorkerPage,
};

use super::AppState;
use super::views::{AllWorkersPage, AllWorkersQuery, RuntimeProblem};
use crate::registry::{Registered, view};
use api_http::{ApiJson, ApiPath, ApiQuery, ApiResult, HttpError, IdempotencyHeader, JsonBytes, OptionalJson};

/// The registered runtime named by a path segment.
fn runtime(state: &AppState, runtime_id: &str) -> Result<Arc<Registered>, HttpError> {
    // A registered id is valid, so a match needs no parsing; a miss is an invalid id or an unknown one.
    if let Some(entry) = state.registry.named(runtime_id) {
        return Ok(entry);
    }
    let runtime_id = RuntimeId::parse(runtime_id.to_owned())?;
    Err(ApiError::runtime_not_found(&runtime_id).into())
}

/// The runtime and worker named by two path segments.
fn worker(state: &AppState, (runtime_id, worker_id): (&str, String)) -> Result<(Arc<Registered>, WorkerId), HttpError> {
    let entry = runtime(state, runtime_id)?;
    let worker_id = WorkerId::parse(worker_id).map_err(|e| HttpError(ApiError::from(e)))?;
    Ok((entry, worker_id))
}

/// Checks a command's body here, before any source sees it, then sends it under the client's key.
async fn run(entry: &Registered, command: Command, key: Option<IdempotencyKey>) -> Result<CommandAck, ApiError> {
    command.validate()?;
    entry.command(command, key).await
}

/// A bounded page of a runtime's workers.
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/workers", tag = "workers",
    params(("runtime_id" = RuntimeId, Path), ("after" = Option<WorkerId>, Query), ("limit" = Option<LimitParam>, Query)),
    responses((status = 200, body = WorkerPage), (status = 404, body = ErrorEnvelope)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<WorkerPage>> {
    Ok(Json(runtime(&state, &runtime_id)?.list(query).await?))
}

/// Creates a worker.
#[utoipa::path(post, path = "/api/runtimes/{runtime_id}/workers", tag = "workers",
    params(("runtime_id" = RuntimeId, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the runtime's retention window gets the first answer")),
    request_body(content = CreateWorkerRequest, description = "Optional: no body creates a worker with the default profile"),
    responses((status = 201, body = WorkerDetail), (status = 404, body = ErrorEnvelope)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiPath(runtime_id): ApiPath<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<CreateWorkerRequest>,
) -> ApiResult<(StatusCode, Json<WorkerDetail>)> {
    let entry = runtime(&state, &runtime_id)?;
    let detail = run(&entry, Command::Create(request), key).await?.into_create()?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// One worker.
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/workers/{worker_id}", tag = "workers",
    params(("runtime_id" = RuntimeId, Path), ("worker_id" = WorkerId, Path)),
    responses((status = 200, body = WorkerDetail), (status = 404, body = ErrorEnvelope)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath((runtime_id, worker_id)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    detail(&state, &runtime_id, worker_id).await
}

/// The detail route's answer for two path segments; the direct lane calls it with the runtime id borrowed.
pub(crate) async fn detail(state: &AppState, runtime_id: &str, worker_id: String) -> ApiResult<Response> {
    let (entry, worker_id) = worker(state, (runtime_id, worker_id))?;
    Ok(match entry.get(worker_id).await? {
        DetailAnswer::Decoded(detail) => Json(detail).into_response(),
        // A remote's answer that the stack found needs no change goes on as the bytes it came in.
        DetailAnswer::Verbatim(verbatim) => JsonBytes(verbatim.into_bytes()).into_response(),
    })
}

/// Sends input; answered once the runtime has made it durable.
#[utoipa::path(post, path = "/api/runtimes/{runtime_id}/workers/{worker_id}/input", tag = "workers",
    params(("runtime_id" = RuntimeId, Path), ("worker_id" = WorkerId, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the runtime's retention window gets the first answer")), request_body = InputRequest,
    responses((status = 202, body = InputAck), (status = 409, body = ErrorEnvelope)))]
pub(crate) async fn input(
    State(state): State<AppState>,
    ApiPath(ids): ApiPath<(String, String)>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(request): ApiJson<InputRequest>,
) -> ApiResult<(StatusCode, JsonBytes)> {
    let (entry, worker_id) = worker(&state, (&ids.0, ids.1))?;
    let ack = run(&entry, Command::Input(worker_id, request), key).await?.into_input()?;
    // Written by hand: the same bytes as `Json(ack)`, for the answer sent most (runtime_api::verbatim).
    Ok((StatusCode::ACCEPTED, JsonBytes(runtime_api::verbatim::write_input_ack(&ack).into())))
}

/// Stops a worker.
#[utoipa::path(post, path = "/api/runtimes/{runtime_id}/workers/{worker_id}/stop", tag = "workers",
    params(("runtime_id" = RuntimeId, Path), ("worker_id" = WorkerId, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the runtime's retention window gets the first answer")), request_body(content = LifecycleRequest, description = "Optional: may be left out"),
    responses((status = 200, body = StopAck), (status = 409, body = ErrorEnvelope)))]
pub(crate) async fn stop(
    State(state): State<AppState>,
    ApiPath(ids): ApiPath<(String, String)>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<StopAck>> {
    let (entry, worker_id) = worker(&state, (&ids.0, ids.1))?;
    Ok(Json(run(&entry, Command::Stop(worker_id, request), key).await?.into_stop()?))
}

/// Cancels a worker's running turn.
#[utoipa::path(post, path = "/api/runtimes/{runtime_id}/workers/{worker_id}/cancel", tag = "workers",
    params(("runtime_id" = RuntimeId, Path), ("worker_id" = WorkerId, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the runtime's retention window gets the first answer")), request_body(content = LifecycleRequest, description = "Optional: may be left out"),
    responses((status = 200, body = CancelAck), (status = 409, body = ErrorEnvelope)))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    ApiPath(ids): ApiPath<(String, String)>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<CancelAck>> {
    let (entry, worker_id) = worker(&state, (&ids.0, ids.1))?;
    Ok(Json(run(&entry, Command::Cancel(worker_id, request), key).await?.into_cancel()?))
}

/// A bounded page of a worker's transcript.
#[utoipa::path(get, path = "/api/runtimes/{runtime_id}/workers/{worker_id}/transcript", tag = "workers",
    params(("runtime_id" = RuntimeId, Path), ("worker_id" = WorkerId, Path), ("after" = Option<SeqParam>, Query),
        ("limit" = Option<LimitParam>, Query)),
    responses((status = 200, body = TranscriptPage), (status = 404, body = ErrorEnvelope)))]
pub(crate) async fn transcript(
    State(state): State<AppState>,
    ApiPath(ids): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<TranscriptQuery>,
) -> ApiResult<Json<TranscriptPage>> {
    let (entry, worker_id) = worker(&state, (&ids.0, ids.1))?;
    Ok(Json(entry.transcript(worker_id, query).await?))
}

/// The first workers of every runtime; a runtime that fails adds a diagnostic instead of failing the call.
#[utoipa::path(get, path = "/api/workers", tag = "workers", params(("limit" = Option<LimitParam>, Query)),
    responses((status = 200, body = AllWorkersPage)))]
pub(crate) async fn all(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AllWorkersQuery>,
) -> ApiResult<Json<AllWorkersPage>> {
    let limit = effective_limit(query.limit);
    let entries = state.registry.list();
    let pages = join_all(entries.iter().map(|entry| async move {
        let query = ListQuery { after: None, limit: Some(limit) };
        view::within(entry, view::AGGREGATE_BUDGET, entry.list(query)).await
    }))
    .await;
    let mut page = AllWorkersPage { workers: Vec::new(), limit, more: Vec::new(), diagnostics: Vec::new() };
    for (entry, result) in entries.iter().zip(pages) {
        match result {
            Ok(list) => {
                if list.next_after.is_some() {
                    page.more.push(entry.runtime_id().clone());
                }
                page.workers.extend(list.workers);
            }
            Err(error) => page.diagnostics.push(RuntimeProblem { runtime_id: entry.runtime_id().clone(), error }),
        }
    }
    Ok(Json(page))
}
