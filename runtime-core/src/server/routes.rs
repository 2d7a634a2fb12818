//! Handlers: each parses its request, calls the runtime, and answers JSON (errors in the shared shape).

use api_http::StreamCaps;
use api_http::{ApiJson, ApiPath, ApiQuery, ApiResult, HttpError, IdempotencyHeader, JsonBytes, OptionalJson};
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use runtime_api::{
    CancelAck, Command, CreateWorkerRequest, ErrorEnvelope, InputAck, InputRequest, LifecycleRequest, ListQuery,
    ProfileList, RuntimeSummary, StopAck, SubscribeRequest, TranscriptPage, TranscriptQuery, WorkerDetail, WorkerId,
    WorkerPage,
};

use crate::Runtime;
use runtime_api::params::{LimitParam, SeqParam};

fn worker_id(raw: String) -> Result<WorkerId, HttpError> {
    WorkerId::parse(raw).map_err(HttpError::from)
}

/// Liveness: answers while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "meta", operation_id = "healthz",
    responses((status = 200, description = "The process serves", body = Health)))]
pub(super) async fn healthz() -> Json<Health> {
    Json(Health { status: Liveness::Ok })
}

/// What `/healthz` answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    /// Always `ok`: an answer at all is the news.
    status: Liveness,
}

/// The one liveness status.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum Liveness {
    /// The process serves.
    Ok,
}

/// The runtime: id, name, status, worker counts, capabilities and protocol.
#[utoipa::path(get, path = "/v1/runtime", tag = "runtime", operation_id = "summary",
    responses((status = 200, description = "The runtime", body = RuntimeSummary)))]
pub(super) async fn summary(State(runtime): State<Runtime>) -> Json<RuntimeSummary> {
    Json(runtime.summary())
}

/// The profiles workers can be created with.
#[utoipa::path(get, path = "/v1/profiles", tag = "runtime", operation_id = "profiles",
    responses((status = 200, description = "The profiles, by name", body = ProfileList)))]
pub(super) async fn profiles(State(runtime): State<Runtime>) -> Json<ProfileList> {
    Json(runtime.profiles())
}

/// A bounded page of workers, oldest first.
#[utoipa::path(get, path = "/v1/workers", tag = "workers", operation_id = "list_workers",
    params(("after" = Option<WorkerId>, Query, description = "Workers created after this one; the first page when absent"),
        ("limit" = Option<LimitParam>, Query)),
    responses((status = 200, description = "A page", body = WorkerPage), (status = 503, description = "The store failed", body = ErrorEnvelope)))]
pub(super) async fn list(
    State(runtime): State<Runtime>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<WorkerPage>> {
    Ok(Json(runtime.list(&query).await?))
}

/// Creates a worker; answered once it is durable.
#[utoipa::path(post, path = "/v1/workers", tag = "workers", operation_id = "create_worker",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the retention window gets the first answer and changes nothing")),
    request_body(content = CreateWorkerRequest, description = "Optional: no body creates a worker with the default profile"),
    responses((status = 201, description = "Created", body = WorkerDetail), (status = 404, description = "No such profile", body = ErrorEnvelope), (status = 408, description = "The body did not arrive in time", body = ErrorEnvelope), (status = 413, description = "The body is over 256 KiB", body = ErrorEnvelope), (status = 503, description = "Shutting down, or the store failed", body = ErrorEnvelope)))]
pub(super) async fn create(
    State(runtime): State<Runtime>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<CreateWorkerRequest>,
) -> ApiResult<(StatusCode, Json<WorkerDetail>)> {
    let detail = runtime.command(Command::Create(request), key).await?.into_create()?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// One worker.
#[utoipa::path(get, path = "/v1/workers/{worker_id}", tag = "workers", operation_id = "get_worker",
    params(("worker_id" = WorkerId, Path, description = "The worker")),
    responses((status = 200, description = "The worker", body = WorkerDetail), (status = 404, description = "No such worker", body = ErrorEnvelope), (status = 503, description = "The store failed", body = ErrorEnvelope)))]
pub(super) async fn get(State(runtime): State<Runtime>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<WorkerDetail>> {
    Ok(Json(runtime.get(&worker_id(id)?).await?))
}

/// Sends input; answered once it is durable, while its turn runs on.
#[utoipa::path(post, path = "/v1/workers/{worker_id}/input", tag = "workers", operation_id = "send_input",
    params(("worker_id" = WorkerId, Path, description = "The worker"), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the retention window gets the first answer and changes nothing")),
    request_body(content = InputRequest),
    responses((status = 202, description = "Accepted", body = InputAck), (status = 404, description = "No such worker", body = ErrorEnvelope), (status = 408, description = "The body did not arrive in time", body = ErrorEnvelope), (status = 409, description = "The worker is busy (worker_busy) or has ended (worker_stopped)", body = ErrorEnvelope), (status = 413, description = "The body is over 256 KiB", body = ErrorEnvelope), (status = 503, description = "Shutting down, or the store failed", body = ErrorEnvelope)))]
pub(super) async fn input(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(request): ApiJson<InputRequest>,
) -> ApiResult<(StatusCode, JsonBytes)> {
    let ack = runtime.command(Command::Input(worker_id(id)?, request), key).await?.into_input()?;
    // Written by hand: the same bytes as `Json(ack)`, for the answer sent most (runtime_api::verbatim).
    Ok((StatusCode::ACCEPTED, JsonBytes(runtime_api::verbatim::write_input_ack(&ack).into())))
}

/// Stops a worker, cancelling its turn first; stopping a stopped worker changes nothing.
#[utoipa::path(post, path = "/v1/workers/{worker_id}/stop", tag = "workers", operation_id = "stop_worker",
    params(("worker_id" = WorkerId, Path, description = "The worker"), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the retention window gets the first answer and changes nothing")),
    request_body(content = LifecycleRequest, description = "Optional"),
    responses((status = 200, description = "Stopped", body = StopAck), (status = 404, description = "No such worker", body = ErrorEnvelope), (status = 408, description = "The body did not arrive in time", body = ErrorEnvelope), (status = 409, description = "The worker failed (worker_stopped)", body = ErrorEnvelope), (status = 413, description = "The body is over 256 KiB", body = ErrorEnvelope), (status = 503, description = "Shutting down, or the store failed", body = ErrorEnvelope)))]
pub(super) async fn stop(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<StopAck>> {
    Ok(Json(runtime.command(Command::Stop(worker_id(id)?, request), key).await?.into_stop()?))
}

/// Cancels the running turn; with none running, says so and changes nothing.
#[utoipa::path(post, path = "/v1/workers/{worker_id}/cancel", tag = "workers", operation_id = "cancel_turn",
    params(("worker_id" = WorkerId, Path, description = "The worker"), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$", description = "Makes the command safe to send again: a repeat within the retention window gets the first answer and changes nothing")),
    request_body(content = LifecycleRequest, description = "Optional"),
    responses((status = 200, description = "Cancelled, or nothing to cancel", body = CancelAck), (status = 404, description = "No such worker", body = ErrorEnvelope), (status = 408, description = "The body did not arrive in time", body = ErrorEnvelope), (status = 409, description = "The worker has ended (worker_stopped)", body = ErrorEnvelope), (status = 413, description = "The body is over 256 KiB", body = ErrorEnvelope), (status = 503, description = "Shutting down, or the store failed", body = ErrorEnvelope)))]
pub(super) async fn cancel(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJson(request): OptionalJson<LifecycleRequest>,
) -> ApiResult<Json<CancelAck>> {
    Ok(Json(runtime.command(Command::Cancel(worker_id(id)?, request), key).await?.into_cancel()?))
}

/// A bounded page of a worker's transcript.
#[utoipa::path(get, path = "/v1/workers/{worker_id}/transcript", tag = "workers", operation_id = "transcript",
    params(("worker_id" = WorkerId, Path, description = "The worker"),
        ("after" = Option<SeqParam>, Query, description = "Entries with a seq above this one; from the start when absent"),
        ("limit" = Option<LimitParam>, Query)),
    responses((status = 200, description = "A page", body = TranscriptPage), (status = 404, description = "No such worker", body = ErrorEnvelope), (status = 503, description = "The store failed", body = ErrorEnvelope)))]
pub(super) async fn transcript(
    State(runtime): State<Runtime>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<TranscriptQuery>,
) -> ApiResult<Json<TranscriptPage>> {
    Ok(Json(runtime.transcript(&worker_id(id)?, query).await?))
}

/// The event stream, on a WebSocket: a snapshot frame, then events, heartbeats and a closing frame, one
/// JSON text message per frame (schema `StreamFrame`). A request that is not an upgrade is `400`.
#[utoipa::path(get, path = "/v1/events", tag = "events", operation_id = "events",
    params(("after" = Option<SeqParam>, Query, description = "Resume: also deliver every durable event after this seq, exactly once"),
        ("worker_id" = Option<WorkerId>, Query, description = "Only this worker's events; the whole runtime's when absent"),
        ("Upgrade" = String, Header, pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$", description = "websocket"),
        ("Connection" = String, Header, pattern = "^.*[Uu][Pp][Gg][Rr][Aa][Dd][Ee].*$", description = "upgrade"),
        ("Sec-WebSocket-Version" = String, Header, pattern = "^13$", description = "13"),
        ("Sec-WebSocket-Key" = String, Header, description = "The client's nonce (RFC 6455: 16 random bytes in base64)")),
    responses((status = 101, description = "Switching to the WebSocket"), (status = 404, description = "No such worker", body = ErrorEnvelope), (status = 410, description = "The cursor left the retention window (cursor_expired, with earliest_seq)", body = ErrorEnvelope), (status = 429, description = "Too many streams are open (too_many_streams, with Retry-After)", body = ErrorEnvelope), (status = 503, description = "Shutting down", body = ErrorEnvelope)))]
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
