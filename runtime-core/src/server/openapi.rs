//! The OpenAPI document of the runtime's API, served at `GET /v1/openapi.json`: generated from the handlers'
//! annotations and the wire types of `runtime-api`, then completed with what every route answers because
//! of the layers around it, so that it says exactly what this server does.
//!
//! The layers' answers, on every operation: `400 invalid_request` (two `Host` headers, a malformed
//! parameter) and `403 forbidden` (a `Host` not allowed, any `Origin`); with a token, the bearer scheme and
//! `401 unauthorized` on every `/v1` operation. The bodies of create, stop and cancel may be left out, and a
//! body that is sent is a JSON object (`null` and arrays are refused).

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use runtime_api::params::{LimitParam, SeqParam};
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, Required, ResponseBuilder};

use super::routes;

/// The document's static part.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yoi worker runtime",
        description = "Workers in their own process, for one trusted backend (never a browser)."
    ),
    paths(
        routes::healthz,
        routes::summary,
        routes::profiles,
        routes::list,
        routes::create,
        routes::get,
        routes::input,
        routes::stop,
        routes::cancel,
        routes::transcript,
        routes::events,
        document,
    ),
    components(schemas(runtime_api::StreamFrame, runtime_api::ErrorEnvelope, SeqParam, LimitParam))
)]
pub struct RuntimeApiDoc;

/// Name of the bearer scheme in `components.securitySchemes`.
const BEARER: &str = "bearer";

impl RuntimeApiDoc {
    /// The document of a server that requires a token (`token`) or not.
    pub fn for_server(token: bool) -> utoipa::openapi::OpenApi {
        let mut document = Self::openapi();
        if token {
            let components = document.components.get_or_insert_with(Default::default);
            components.add_security_scheme(BEARER, SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        }
        for (path, item) in document.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                complete(operation, token && path.starts_with("/v1/"));
            }
        }
        document
    }

    /// The document as JSON, as served.
    pub(super) fn json(token: bool) -> DocumentJson {
        DocumentJson(Bytes::from(serde_json::to_vec(&Self::for_server(token)).expect("the document serializes")))
    }
}

/// Adds the answers the layers give to `operation`, and its bearer requirement when `authenticated`.
fn complete(operation: &mut Operation, authenticated: bool) {
    let mut add = |status: &str, description: &str| {
        if !operation.responses.responses.contains_key(status) {
            let error = Content::new(Some(Ref::from_schema_name("ErrorEnvelope")));
            let response = ResponseBuilder::new().description(description).content("application/json", error);
            operation.responses.responses.insert(status.to_owned(), response.build().into());
        }
    };
    add("400", "Malformed: a parameter, a body, or two Host headers (invalid_request)");
    add("403", "A Host this runtime does not answer to, or any Origin: no browser may call it (forbidden)");
    if authenticated {
        add("401", "A valid bearer token is required (unauthorized)");
        operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    }
    // Create, stop and cancel take only optional fields, so their body may be left out.
    if let Some(body) = &mut operation.request_body
        && matches!(operation.operation_id.as_deref(), Some("create_worker" | "stop_worker" | "cancel_turn"))
    {
        body.required = Some(Required::False);
    }
}

/// The document serialized once, when the router was built.
#[derive(Clone)]
pub(super) struct DocumentJson(pub(super) Bytes);

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", operation_id = "openapi",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub(super) async fn document(Extension(DocumentJson(document)): Extension<DocumentJson>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], document).into_response()
}

#[cfg(test)]
mod tests;
