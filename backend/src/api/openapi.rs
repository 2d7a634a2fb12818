//! The OpenAPI document of the Browser API, generated from the handlers and types themselves.

use api_http::Json;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, Ref, Required, ResponseBuilder};

use super::{events, health, runtimes, session, settings, views, workers};

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
        session::status,
        session::sign_in,
        session::sign_out,
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

impl ApiDoc {
    /// The document as served: the handlers' own answers, and those the layers around them give.
    pub(crate) fn served() -> utoipa::openapi::OpenApi {
        let mut document = Self::openapi();
        for (path, item) in document.paths.paths.iter_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                complete(path, operation);
            }
        }
        document
    }
}

/// Adds to `operation` (at `path`) every answer the layers and the source stack can give it.
fn complete(path: &str, operation: &mut Operation) {
    let mut add = |status: &str, description: &str| {
        if !operation.responses.responses.contains_key(status) {
            let error = Content::new(Some(Ref::from_schema_name("ErrorEnvelope")));
            let response = ResponseBuilder::new().description(description).content("application/json", error);
            operation.responses.responses.insert(status.to_owned(), response.build().into());
        }
    };
    // The guard, the access token, the parameters' parsing: every route.
    add("400", "Malformed: a parameter, a body, two Host headers (invalid_request)");
    if path != super::guard::SESSION_PATH {
        add("401", "The access token was not sent, or is not the right one (unauthorized)");
    }
    add("403", "A Host or Origin not allowed (forbidden)");
    if operation.request_body.is_some() {
        add("408", "The body did not arrive in time (request_timeout)");
        add("413", "The body is over the limit, by its Content-Length or as read (payload_too_large)");
    }
    // Create, stop and cancel take only optional fields, so their body may be left out.
    let optional = path.ends_with("/workers") || path.ends_with("/stop") || path.ends_with("/cancel");
    if let Some(body) = &mut operation.request_body
        && optional
    {
        body.required = Some(Required::False);
    }
    // A call through a runtime's source stack.
    if path.starts_with("/api/runtimes/{runtime_id}") {
        add("404", "No such runtime, worker or profile");
        add("500", "A bug; the message carries no internals (internal)");
        add("501", "The source cannot do this (unsupported)");
        add("502", "The runtime refused the backend's credentials, answered nonsense or speaks another protocol");
        add("503", "The runtime is down or known to be down (runtime_unavailable; Retry-After)");
        add("504", "The runtime did not answer in time (runtime_timeout)");
    }
    if path.starts_with("/api/settings/") {
        add("409", "The file changed while it was edited (config_conflict), or the id is taken or built in");
        add("422", "The config file on disk cannot be parsed, so it is not rewritten (config_invalid)");
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1")))]
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::served())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_method_is_documented() {
        let document = serde_json::to_value(ApiDoc::served()).unwrap();
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
            ("/api/session", "get"),
            ("/api/session", "post"),
            ("/api/session", "delete"),
            ("/api/openapi.json", "get"),
            ("/healthz", "get"),
            ("/readyz", "get"),
            ("/metrics", "get"),
        ];
        for (path, method) in expected {
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
        }
        assert_eq!(paths.len(), 21, "a documented path the router does not serve?");
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for name in
            ["RuntimeView", "WorkerDetail", "InputRequest", "StreamFrame", "ErrorEnvelope", "ErrorCode", "ProfileList"]
        {
            assert!(schemas.contains_key(name), "schema {name} missing");
        }
    }
}
