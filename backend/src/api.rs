//! The Browser API (SPEC §5): the route table and the middleware around it.

mod direct;
pub mod edge;
mod events;
pub mod guard;
mod health;
mod openapi;
mod runtimes;
pub mod session;
mod settings;
mod ui;
pub mod views;
mod workers;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::Response;
use axum::routing::{delete, get, post};
use tower::ServiceBuilder;

pub use api_http::HttpError;
use api_http::RequestLimitsLayer;
use edge::{EdgeLayer, RouteScopeLayer};
pub use guard::Guard;

use crate::connections::Connections;
use crate::metrics::Metrics;
use crate::registry::RuntimeRegistry;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The runtimes.
    pub registry: Arc<RuntimeRegistry>,
    /// The exported metrics.
    pub metrics: Arc<Metrics>,
    /// The runtime connections the settings API manages.
    pub connections: Arc<Connections>,
    /// Bounds on open Browser event streams.
    pub streams: api_http::StreamCaps,
    /// Signing in from the page.
    pub sign_in: Arc<session::SignIn>,
}

/// The Browser API as a service, ready for [`api_http::serve`].
pub trait BrowserApi:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + 'static
{
}

impl<S> BrowserApi for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static
{
}

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Longest a request that calls runtimes may take before it is answered with `runtime_timeout`.
    pub request_timeout: Duration,
    /// Longest a request body may take to arrive before it is answered `408 request_timeout`.
    pub body_timeout: Duration,
}

/// The whole Browser API: the router behind the edge, the request limits and the guard.
pub fn router(state: AppState, guard: Guard, limits: HttpLimits) -> impl BrowserApi {
    let ui = settings_ui::ASSETS.iter().fold(Router::new(), |router, asset| router.route(asset.path, get(ui::serve)));
    let calls = ui
        .route("/api/runtimes", get(runtimes::list))
        .route("/api/runtimes/{runtime_id}", get(runtimes::get))
        .route("/api/runtimes/{runtime_id}/profiles", get(runtimes::profiles))
        .route("/api/runtimes/{runtime_id}/workers", get(workers::list).post(workers::create))
        .route("/api/runtimes/{runtime_id}/workers/{worker_id}", get(workers::get))
        .route("/api/runtimes/{runtime_id}/workers/{worker_id}/input", post(workers::input))
        .route("/api/runtimes/{runtime_id}/workers/{worker_id}/stop", post(workers::stop))
        .route("/api/runtimes/{runtime_id}/workers/{worker_id}/cancel", post(workers::cancel))
        .route("/api/runtimes/{runtime_id}/workers/{worker_id}/transcript", get(workers::transcript))
        .route("/api/runtimes/{runtime_id}/events", get(events::subscribe))
        .route("/api/workers", get(workers::all))
        .route("/api/settings/runtime-connections", get(settings::list))
        .route("/api/settings/runtime-connections/test", post(settings::test_candidate))
        .route("/api/settings/runtime-connections/{id}/test", post(settings::test_saved))
        .route("/api/session", get(session::status).post(session::sign_in).delete(session::sign_out))
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics))
        // A backstop for anything slower than the source deadlines, in the error shape.
        .route_layer(RouteScopeLayer::bounded(limits.request_timeout));
    let writes = Router::new()
        .route("/api/settings/runtime-connections", post(settings::add))
        .route("/api/settings/runtime-connections/{id}", delete(settings::remove))
        .route("/api/settings/reload", post(settings::reload))
        .route_layer(RouteScopeLayer::unbounded());
    let routes = calls
        .merge(writes)
        .fallback(api_http::unknown_route)
        .method_not_allowed_fallback(api_http::method_not_allowed)
        .with_state(state.clone());
    let body_limit = DefaultBodyLimit::max(limits.body_limit_bytes);
    // Around the router rather than inside it, so each runs once per request and is not cloned with every
    // route's service.
    ServiceBuilder::new()
        // Outermost, so refusals and timeouts carry the request id and the security headers and are counted.
        .layer(EdgeLayer::new(state.metrics.clone()))
        // One `Host` before the guard reads it, a declared oversize body refused before anything reads
        // it, and a slow body answered `408` (within the request-timeout backstop).
        .layer(RequestLimitsLayer::new(limits.body_limit_bytes, limits.body_timeout))
        // Host, Origin and token checks before anything else runs.
        .layer(guard)
        // The most frequent calls, a worker's detail and input, answered without the router (and as it would;
        // the input under the same body limit).
        .layer(direct::DirectLaneLayer::new(state.clone(), limits.request_timeout, body_limit))
        // Bodies beyond the limit are refused by the JSON extractors with payload_too_large.
        .layer(body_limit)
        .service(routes)
}
