//! The OpenAPI document of the Browser API, generated from the handlers and types themselves.

use axum::Json;
use utoipa::OpenApi;

use super::{events, health, runtimes, views, workers};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Yoi Workspace Backend", description = "The Browser API over every registered runtime."),
    paths(
        runtimes::list,
        runtimes::get,
        workers::list,
        workers::create,
        workers::get,
        workers::input,
        workers::stop,
        workers::cancel,
        workers::transcript,
        workers::all,
        events::subscribe,
        health::live,
        health::ready,
        health::metrics,
        document,
    ),
    components(schemas(
        views::RuntimeView,
        views::AllWorkersPage,
        runtime_api::StreamFrame,
        runtime_api::ErrorEnvelope
    ))
)]
pub(crate) struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1")))]
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
