//! The direct lane: a worker's detail (`GET /api/runtimes/{runtime_id}/workers/{worker_id}`) and input
//! (`POST …/input`), the calls a Browser makes most, answered without the router's matching and per-route
//! services, which cost as much as the call to the runtime (docs/benchmarks.md).
//!
//! It sits inside the guard and the edge, so the Host, Origin and token checks, the request id, the metrics
//! and the answer headers are the same for it as for every route; it sits outside the body limit, which it
//! sets for the input itself. It takes a request only when the router
//! would give the handler the same two ids: the method, the exact path shape, and two valid ids (letters,
//! digits, `-` and `_`, which percent-decoding leaves as they are). Everything else, a HEAD, a trailing slash or
//! an invalid id included, goes to the router, which answers it as before. The lane runs the route's own
//! extractors, in the router's order, and its own handler, under the route's metric label and its backstop
//! (wherever that could fire first), so its answer is the router's.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use api_http::{ApiJson, ApiPath, IdempotencyHeader};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use futures::future::{BoxFuture, Either};
use runtime_api::{RuntimeId, WorkerId};

use super::AppState;
use super::edge::{RouteLabel, RouteScopeFuture};
use super::workers;

/// A route the lane answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `GET /api/runtimes/{runtime_id}/workers/{worker_id}`.
    Detail,
    /// `POST /api/runtimes/{runtime_id}/workers/{worker_id}/input`.
    Input,
}

impl Route {
    /// The route's template, as the router names it in the metrics.
    fn template(self) -> &'static str {
        match self {
            Route::Detail => "/api/runtimes/{runtime_id}/workers/{worker_id}",
            Route::Input => "/api/runtimes/{runtime_id}/workers/{worker_id}/input",
        }
    }
}

/// Where the lane's paths start; the runtime id follows.
const RUNTIMES: &str = "/api/runtimes/";

/// The route and the runtime and worker ids of a request the lane takes: only where the router would match
/// the same route and decode exactly these ids.
fn matched<'a>(method: &Method, path: &'a str) -> Option<(Route, &'a str, &'a str)> {
    let (runtime_id, rest) = path.strip_prefix(RUNTIMES)?.split_once('/')?;
    let rest = rest.strip_prefix("workers/")?;
    let (route, worker_id) = match *method {
        Method::GET => (Route::Detail, rest),
        Method::POST => (Route::Input, rest.strip_suffix("/input")?),
        _ => return None,
    };
    (RuntimeId::is_valid(runtime_id) && WorkerId::is_valid(worker_id)).then_some((route, runtime_id, worker_id))
}

/// The input route as the router runs it: its extractors in order (the key from the headers, then the
/// body), then its handler.
async fn input(state: AppState, ids: (String, String), request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let key = match IdempotencyHeader::from_request_parts(&mut parts, &state).await {
        Ok(key) => key,
        Err(refused) => return refused.into_response(),
    };
    let body = match ApiJson::from_request(Request::from_parts(parts, body), &state).await {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    workers::input(State(state), ApiPath(ids), key, body).await.into_response()
}

/// Puts the direct lane in front of the router.
#[derive(Clone)]
pub(super) struct DirectLaneLayer {
    state: AppState,
    backstops: Backstops,
    body_limit: DefaultBodyLimit,
}

/// The request-timeout backstop each route needs.
#[derive(Debug, Clone, Copy)]
struct Backstops {
    /// The detail's: none when the read deadline ends its one call to a runtime first. A detail reads no
    /// body and waits on nothing else, so the backstop could never fire, and its timer costs a proxied
    /// detail ~550 instructions.
    detail: Option<Duration>,
    /// The input's: its body is read before its call, so both may add up to more than either bound.
    input: Duration,
}

impl DirectLaneLayer {
    /// A lane answering from `state`, each answer bounded by `deadline` as the router's calls are, an input's
    /// body by `body_limit` as the router's layer bounds it. The lane sits outside that layer, so a detail,
    /// which reads no body, does not pay for setting a limit.
    pub(super) fn new(state: AppState, deadline: Duration, body_limit: DefaultBodyLimit) -> Self {
        let read = state.registry.deadlines().read;
        let backstops = Backstops { detail: (deadline < read).then_some(deadline), input: deadline };
        DirectLaneLayer { state, backstops, body_limit }
    }
}

impl<S> tower::Layer<S> for DirectLaneLayer {
    type Service = DirectLane<S>;

    fn layer(&self, inner: S) -> DirectLane<S> {
        DirectLane { inner, state: self.state.clone(), backstops: self.backstops, body_limit: self.body_limit }
    }
}

/// The service of [`DirectLaneLayer`].
#[derive(Clone)]
pub(super) struct DirectLane<S> {
    inner: S,
    state: AppState,
    backstops: Backstops,
    body_limit: DefaultBodyLimit,
}

impl<S> tower::Service<Request> for DirectLane<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<RouteScopeFuture<BoxFuture<'static, Result<Response, Infallible>>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready; a request the lane takes leaves that readiness unused.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let Some((route, runtime_id, worker_id)) = matched(request.method(), request.uri().path()) else {
            return Either::Right(self.inner.call(request));
        };
        let state = self.state.clone();
        let (answer, backstop) = match route {
            Route::Detail => {
                // The runtime id is only looked up, so it is read from the path the request keeps rather than
                // copied; the worker id goes on to the runtime.
                let (worker_id, runtime_len) = (worker_id.to_owned(), runtime_id.len());
                let answer = async move {
                    let runtime_id = &request.uri().path()[RUNTIMES.len()..][..runtime_len];
                    Ok(workers::detail(&state, runtime_id, worker_id).await.into_response())
                };
                (answer.boxed(), self.backstops.detail)
            }
            Route::Input => {
                let ids = (runtime_id.to_owned(), worker_id.to_owned());
                self.body_limit.apply(&mut request);
                (async move { Ok(input(state, ids, request).await) }.boxed(), Some(self.backstops.input))
            }
        };
        Either::Left(RouteScopeFuture::new(answer, Some(RouteLabel::Fixed(route.template())), backstop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_detail_or_input_path_with_two_valid_ids_takes_the_lane() {
        let (get, post) = (Method::GET, Method::POST);
        assert_eq!(matched(&get, "/api/runtimes/dev/workers/w-1"), Some((Route::Detail, "dev", "w-1")));
        assert_eq!(matched(&post, "/api/runtimes/dev/workers/w-1/input"), Some((Route::Input, "dev", "w-1")));
        for (method, path) in [
            (&post, "/api/runtimes/dev/workers/w-1"),
            (&post, "/api/runtimes/dev/workers/w-1/stop"),
            (&post, "/api/runtimes/dev/workers/w-1/input/"),
            (&post, "/api/runtimes/dev/workers/w%2D1/input"),
            (&Method::HEAD, "/api/runtimes/dev/workers/w-1"),
            (&Method::PUT, "/api/runtimes/dev/workers/w-1/input"),
        ] {
            assert_eq!(matched(method, path), None, "{method} {path}");
        }
        for path in [
            "/api/runtimes/dev/workers/w-1/",
            "/api/runtimes/dev/workers/w-1/input",
            "/api/runtimes/dev/workers/",
            "/api/runtimes/dev/workers",
            "/api/runtimes//workers/w-1",
            "/api/runtimes/d%65v/workers/w-1",
            "/api/runtimes/dev/workers/w%2D1",
            "/api/runtimes/-dev/workers/w-1",
            "/api/runtimes/dev/profiles/w-1",
            "/api/runtimes/dev//workers/w-1",
            "/api//runtimes/dev/workers/w-1",
        ] {
            assert_eq!(matched(&get, path), None, "{path}");
        }
    }
}
