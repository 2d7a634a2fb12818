//! The runtime process's HTTP API (SPEC §4, feature `http-server`): REST for commands and reads, a
//! WebSocket for events. Handlers only translate HTTP to [`Runtime`] calls; worker semantics stay in the
//! library.

mod auth;
mod guard;
mod openapi;
mod routes;

use std::time::Duration;

use api_http::{RequestLimitsLayer, StreamCaps};
use axum::Extension;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

pub use auth::{BearerAuthLayer, BearerToken};
pub use guard::{AllowedHosts, RequestGuard, RequestGuardLayer};
pub use openapi::RuntimeApiDoc;

use crate::Runtime;

/// Largest request body: an input's content may be 64 KiB, and JSON escaping can double it.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Most event streams open at once by default.
pub const DEFAULT_MAX_EVENT_STREAMS: usize = 4_096;

/// Longest a request body may take to arrive, by default: a body of at most [`BODY_LIMIT_BYTES`] crosses
/// any working link in far less.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How the runtime's API is served.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The token every `/v1` request must present, if any.
    pub token: Option<BearerToken>,
    /// Most event streams open at once.
    pub max_event_streams: usize,
    /// The names accepted in `Host`.
    pub hosts: AllowedHosts,
    /// Longest a request body may take to arrive, from its request head.
    pub body_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            token: None,
            max_event_streams: DEFAULT_MAX_EVENT_STREAMS,
            hosts: AllowedHosts::loopback(),
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// The runtime's router with default limits.
pub fn router(runtime: Runtime, token: Option<BearerToken>) -> Router {
    app(runtime, ServerOptions { token, ..ServerOptions::default() })
}

/// The runtime's router with default limits but for the bound on event streams.
pub fn router_with(runtime: Runtime, token: Option<BearerToken>, max_event_streams: usize) -> Router {
    app(runtime, ServerOptions { token, max_event_streams, ..ServerOptions::default() })
}

/// The runtime's router: every `/v1` route behind bearer auth (when a token is set), and `/healthz` open;
/// every route behind the request guard. The runtime serves one backend, so the bound on event streams is
/// on the total only.
pub fn app(runtime: Runtime, options: ServerOptions) -> Router {
    let caps = StreamCaps::new(options.max_event_streams, options.max_event_streams, ["--max-event-streams"; 2]);
    let document = RuntimeApiDoc::json(options.token.is_some());
    let v1 = Router::new()
        .route("/v1/runtime", get(routes::summary))
        .route("/v1/workers", get(routes::list).post(routes::create))
        .route("/v1/workers/{worker_id}", get(routes::get))
        .route("/v1/workers/{worker_id}/input", post(routes::input))
        .route("/v1/workers/{worker_id}/stop", post(routes::stop))
        .route("/v1/workers/{worker_id}/cancel", post(routes::cancel))
        .route("/v1/workers/{worker_id}/transcript", get(routes::transcript))
        .route("/v1/events", get(routes::events))
        .route("/v1/profiles", get(routes::profiles))
        .route("/v1/openapi.json", get(openapi::document))
        .fallback(api_http::unknown_route)
        .method_not_allowed_fallback(api_http::method_not_allowed)
        // Every /v1 request, unknown paths included, needs the token.
        .layer(BearerAuthLayer::new(options.token))
        .layer(Extension(caps))
        .layer(Extension(document));
    Router::new()
        // Liveness tells nothing about workers, so probes need no credentials.
        .route("/healthz", get(routes::healthz))
        .method_not_allowed_fallback(api_http::method_not_allowed)
        .merge(v1)
        .with_state(runtime)
        .layer(
            ServiceBuilder::new()
                // Logs method, path, status and latency; never headers, which carry the token.
                .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path())
                }))
                // On every answer, the refusals below included.
                .map_response(|mut response: Response| {
                    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
                    response
                })
                // One Host, a declared body within the limit, and a body in time, before anything else.
                .layer(RequestLimitsLayer::new(BODY_LIMIT_BYTES, options.body_timeout))
                // No browser, and only this runtime's names, before the token is looked at.
                .layer(RequestGuardLayer::new(options.hosts))
                // Bodies sent without a length are cut off at the limit by the extractors.
                .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES)),
        )
}

#[cfg(test)]
mod tests;
