//! The Browser-facing edge: what every request and answer passes through, refusals included, in one service
//! rather than a chain of boxed middleware — a request id echoed in the answer and carried by its log lines,
//! the log span, the request metrics and the headers every answer gets.
//!
//! [`RouteScopeLayer`] runs inside routing, where the route template is known: it applies the request
//! backstop to calls that reach runtimes and hands the template out to the edge for the metric label. The
//! direct lane (`super::direct`) does the same for the routes it answers, through [`RouteScopeFuture`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use runtime_api::{ApiError, ErrorCode};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::metrics::Metrics;
use api_http::HttpError;

/// The header a request id travels in.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client; a longer one, or one with other than visible ASCII, is replaced.
const MAX_CLIENT_ID: usize = 64;

/// Request ids: a random prefix fixed at start and a counter, so ids are unique across restarts, sort by
/// arrival within one process, and cost no randomness per request.
struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let mut prefix = [0u8; 4];
        // Without the operating system's randomness the ids are still unique within this process.
        let _ = getrandom::fill(&mut prefix);
        RequestIds { prefix: u32::from_ne_bytes(prefix), next: AtomicU64::new(1) }
    }

    /// The next id: 8 hex digits of prefix, a dash and 12 of counter (`3f2a9c01-000000000a4b`).
    fn next(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut text = [0u8; 21];
        hex(&mut text[..8], u64::from(self.prefix));
        text[8] = b'-';
        hex(&mut text[9..], n);
        HeaderValue::from_bytes(&text).expect("hex digits and a dash make a header value")
    }
}

/// Writes the low `out.len()` hex digits of `value` into `out`.
fn hex(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
    }
}

/// The id a client sent, when it is short visible ASCII; kept so a caller can follow its own id through logs.
fn client_id(request: &Request) -> Option<HeaderValue> {
    let given = request.headers().get(&REQUEST_ID)?;
    let bytes = given.as_bytes();
    (!bytes.is_empty() && bytes.len() <= MAX_CLIENT_ID && bytes.iter().all(|b| b.is_ascii_graphic()))
        .then(|| given.clone())
}

/// Wraps the whole Browser API in [`Edge`].
#[derive(Clone)]
pub struct EdgeLayer {
    metrics: Arc<Metrics>,
    ids: Arc<RequestIds>,
}

impl EdgeLayer {
    /// An edge counting requests in `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        EdgeLayer { metrics, ids: Arc::new(RequestIds::new()) }
    }
}

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, metrics: self.metrics.clone(), ids: self.ids.clone() }
    }
}

/// The service of [`EdgeLayer`].
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    metrics: Arc<Metrics>,
    ids: Arc<RequestIds>,
}

impl<S> tower::Service<Request> for Edge<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The id reaches the request's log lines through its span and the client through the answer; nothing
        // downstream reads it from the request.
        let id = client_id(&request).unwrap_or_else(|| self.ids.next());
        // Method, path and id only: headers may carry the access token.
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = request.uri().path(),
            request_id = id.to_str().unwrap_or("-"),
        );
        let method = method_label(request.method());
        let inner = self.inner.call(request).instrument(span);
        EdgeFuture { inner, id: Some(id), method, started: Instant::now(), metrics: self.metrics.clone() }
    }
}

pin_project! {
    /// The future of [`Edge`].
    pub struct EdgeFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        id: Option<HeaderValue>,
        method: &'static str,
        started: Instant,
        metrics: Arc<Metrics>,
    }
}

impl<F, E> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut response = ready!(this.inner.as_mut().poll(cx))?;
        let elapsed = this.started.elapsed();
        let status = response.status();
        let route = response.extensions().get::<RouteLabel>().map_or("unmatched", RouteLabel::as_str);
        this.metrics.record_http(this.method, route, status.as_u16(), elapsed);
        let _entered = this.inner.span().enter();
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                latency_ms = elapsed.as_secs_f64() * 1e3,
                "answered with an error"
            );
        } else {
            tracing::debug!(status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1e3, "answered");
        }
        let headers = response.headers_mut();
        if let Some(id) = this.id.take() {
            headers.insert(REQUEST_ID.clone(), id);
        }
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Poll::Ready(Ok(response))
    }
}

/// The method as a metric label from a fixed set, so clients cannot mint new series.
fn method_label(method: &Method) -> &'static str {
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

/// The route template a request matched, carried on the answer for the edge's metrics.
#[derive(Clone)]
pub(super) enum RouteLabel {
    /// Matched by the router.
    Matched(MatchedPath),
    /// Matched by hand, for a route the router also has (the direct lane).
    Fixed(&'static str),
}

impl RouteLabel {
    fn as_str(&self) -> &str {
        match self {
            RouteLabel::Matched(path) => path.as_str(),
            RouteLabel::Fixed(path) => path,
        }
    }
}

/// Runs inside routing: hands the route template to the edge and, when set, bounds the whole request.
#[derive(Clone, Copy)]
pub struct RouteScopeLayer {
    deadline: Option<Duration>,
}

impl RouteScopeLayer {
    /// For routes that call runtimes: anything slower than `limit` is answered `runtime_timeout`, a backstop
    /// behind the source deadlines.
    pub fn bounded(limit: Duration) -> Self {
        RouteScopeLayer { deadline: Some(limit) }
    }

    /// For routes that call no runtime and always finish (configuration writes): a backstop answering
    /// `runtime_timeout` would be a wrong code, and could answer for a write that then happens anyway.
    pub fn unbounded() -> Self {
        RouteScopeLayer { deadline: None }
    }
}

impl<S> tower::Layer<S> for RouteScopeLayer {
    type Service = RouteScope<S>;

    fn layer(&self, inner: S) -> RouteScope<S> {
        RouteScope { inner, deadline: self.deadline }
    }
}

/// The service of [`RouteScopeLayer`].
#[derive(Clone)]
pub struct RouteScope<S> {
    inner: S,
    deadline: Option<Duration>,
}

impl<S> tower::Service<Request> for RouteScope<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RouteScopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned().map(RouteLabel::Matched);
        RouteScopeFuture::new(self.inner.call(request), route, self.deadline)
    }
}

pin_project! {
    /// The future of [`RouteScope`].
    pub struct RouteScopeFuture<F> {
        #[pin]
        inner: F,
        route: Option<RouteLabel>,
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        limit: Duration,
    }
}

impl<F> RouteScopeFuture<F> {
    /// `inner`, labelled `route` for the metrics and bounded by `deadline` when there is one.
    pub(super) fn new(inner: F, route: Option<RouteLabel>, deadline: Option<Duration>) -> Self {
        RouteScopeFuture { inner, route, sleep: deadline.map(tokio::time::sleep), limit: deadline.unwrap_or_default() }
    }
}

impl<F, E> Future for RouteScopeFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match (this.inner.poll(cx), this.sleep.as_pin_mut()) {
            (Poll::Ready(result), _) => result?,
            (Poll::Pending, Some(sleep)) => {
                ready!(sleep.poll(cx));
                let message = format!("the request did not finish within {}s", this.limit.as_secs());
                HttpError(ApiError::new(ErrorCode::RuntimeTimeout, message)).into_response()
            }
            (Poll::Pending, None) => return Poll::Pending,
        };
        if let Some(route) = this.route.take() {
            response.extensions_mut().insert(route);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests;
