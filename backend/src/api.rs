//! The Browser API (SPEC §5): the route table and the middleware around it.

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

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use runtime_api::{ApiError, ErrorCode};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use api_http::HttpError;
use api_http::RequestLimitsLayer;
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

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole Browser API.
pub fn router(state: AppState, guard: Guard, limits: HttpLimits) -> Router {
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
        .route_layer(middleware::from_fn_with_state(limits.request_timeout, deadline));
    // Config writes call no runtime and always finish (see `Connections`): a backstop answering
    // `runtime_timeout` would be a wrong code, and could answer for a write that then happens anyway.
    let writes = Router::new()
        .route("/api/settings/runtime-connections", post(settings::add))
        .route("/api/settings/runtime-connections/{id}", delete(settings::remove))
        .route("/api/settings/reload", post(settings::reload));
    let routes = calls
        .merge(writes)
        // Lets the metrics layer, which runs outside routing, label requests by route template.
        .route_layer(middleware::from_fn(expose_route))
        .fallback(api_http::unknown_route)
        .method_not_allowed_fallback(api_http::method_not_allowed)
        .with_state(state.clone());

    routes
        .layer(
        ServiceBuilder::new()
            // Every request gets an id, echoed in the response and carried by its log lines.
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), UlidRequestId))
            // Logs method, path, status and latency; never headers, which may carry the access token.
            .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id = id)
            }))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            // Counts every request, refused ones included, by route template and status.
            .layer(middleware::from_fn_with_state(state.metrics.clone(), observe))
            // One `Host` before the guard reads it, a declared oversize body refused before anything reads
            // it, and a slow body answered `408` (within the request-timeout backstop).
            .layer(RequestLimitsLayer::new(limits.body_limit_bytes, limits.body_timeout))
            // Host, Origin and token checks before anything else runs.
            .layer(middleware::from_fn_with_state(guard, guard::check))
            // Bodies beyond the limit are refused by the JSON extractors with payload_too_large.
            .layer(DefaultBodyLimit::max(limits.body_limit_bytes)),
        )
        // Outermost, so refusals and timeouts carry these headers too.
        .layer(middleware::map_response(secure_headers))
}

/// Request ids: ULIDs, sortable by arrival.
#[derive(Clone, Copy)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string()).ok().map(RequestId::new)
    }
}

/// The route template a request matched, carried on the response for [`observe`].
#[derive(Clone)]
struct RouteLabel(MatchedPath);

async fn expose_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response.extensions().get::<RouteLabel>().map_or("unmatched", |r| r.0.as_str());
    metrics.record_http(method_label(&method), route, response.status().as_u16(), started.elapsed());
    response
}

/// The method as a metric label from a fixed set, so clients cannot mint new series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!("the request did not finish within {}s", limit.as_secs());
            HttpError(ApiError::new(ErrorCode::RuntimeTimeout, message)).into_response()
        }
    }
}

async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
