//! The OpenAPI document of the Browser API, generated from the handlers and types themselves.

use axum::Json;
use utoipa::OpenApi;

use super::{events, health, runtimes, settings, views, workers};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Yoi Workspace Backend", description = "The Browser API over every registered runtime."),
    paths(
        runtimes::list,
        runtimes::get,
        runtimes::profiles,
        workers::list,
        workers::create,
        workers::get,
        workers::input,
        workers::stop,
        workers::cancel,
        workers::transcript,
        workers::all,
        events::subscribe,
        settings::list,
        settings::add,
        settings::remove,
        settings::test_saved,
        settings::test_candidate,
        settings::reload,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_method_is_documented() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = document["paths"].as_object().unwrap();
        let expected = [
            ("/api/runtimes", "get"),
            ("/api/runtimes/{runtime_id}", "get"),
            ("/api/runtimes/{runtime_id}/profiles", "get"),
            ("/api/runtimes/{runtime_id}/workers", "get"),
            ("/api/runtimes/{runtime_id}/workers", "post"),
            ("/api/runtimes/{runtime_id}/workers/{worker_id}", "get"),
            ("/api/runtimes/{runtime_id}/workers/{worker_id}/input", "post"),
            ("/api/runtimes/{runtime_id}/workers/{worker_id}/stop", "post"),
            ("/api/runtimes/{runtime_id}/workers/{worker_id}/cancel", "post"),
            ("/api/runtimes/{runtime_id}/workers/{worker_id}/transcript", "get"),
            ("/api/runtimes/{runtime_id}/events", "get"),
            ("/api/workers", "get"),
            ("/api/settings/runtime-connections", "get"),
            ("/api/settings/runtime-connections", "post"),
            ("/api/settings/runtime-connections/{id}", "delete"),
            ("/api/settings/runtime-connections/{id}/test", "post"),
            ("/api/settings/runtime-connections/test", "post"),
            ("/api/settings/reload", "post"),
            ("/api/openapi.json", "get"),
            ("/healthz", "get"),
            ("/readyz", "get"),
            ("/metrics", "get"),
        ];
        for (path, method) in expected {
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
        }
        assert_eq!(paths.len(), 20, "a documented path the router does not serve?");
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for name in
            ["RuntimeView", "WorkerDetail", "InputRequest", "StreamFrame", "ErrorEnvelope", "ErrorCode", "ProfileList"]
        {
            assert!(schemas.contains_key(name), "schema {name} missing");
        }
    }
}
