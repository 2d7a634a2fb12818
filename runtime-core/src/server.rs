//! The runtime process's HTTP API (SPEC §4, feature `http-server`): REST for commands and reads, a
//! WebSocket for events. Handlers only translate HTTP to [`Runtime`] calls; worker semantics stay in the
//! library.

mod auth;
mod routes;

use api_http::StreamCaps;
use axum::Extension;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

pub use auth::{BearerAuthLayer, BearerToken};

use crate::Runtime;

/// Largest request body: an input's content may be 64 KiB, and JSON escaping can double it.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Most event streams open at once by default.
pub const DEFAULT_MAX_EVENT_STREAMS: usize = 4_096;

/// The runtime's router with default limits.
pub fn router(runtime: Runtime, token: Option<BearerToken>) -> Router {
    router_with(runtime, token, DEFAULT_MAX_EVENT_STREAMS)
}

/// The runtime's router: every `/v1` route behind bearer auth (when a token is set), and `/healthz` open;
/// at most `max_event_streams` event streams at once. The runtime serves one backend, so the bound is on
/// the total only.
pub fn router_with(runtime: Runtime, token: Option<BearerToken>, max_event_streams: usize) -> Router {
    let caps = StreamCaps::new(max_event_streams, max_event_streams, ["--max-event-streams"; 2]);
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
        .fallback(api_http::unknown_route)
        .method_not_allowed_fallback(api_http::unknown_method)
        // Every /v1 request, unknown paths included, needs the token.
        .layer(BearerAuthLayer::new(token))
        .layer(Extension(caps));
    Router::new()
        // Liveness tells nothing about workers, so probes need no credentials.
        .route("/healthz", get(routes::healthz))
        .merge(v1)
        .with_state(runtime)
        .layer(
            ServiceBuilder::new()
                // Logs method, path, status and latency; never headers, which carry the token.
                .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path())
                }))
                .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
                .map_response(|mut response: Response| {
                    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
                    response
                }),
        )
}

#[cfg(test)]
mod tests;
