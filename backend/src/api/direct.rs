//! The direct lane: `GET /api/runtimes/{runtime_id}/workers/{worker_id}`, the call a Browser makes most,
//! answered without the router, its extractors and its per-route services, which cost as much as the call
//! to the runtime (docs/benchmarks.md).
//!
//! It sits inside the guard and the edge, so the Host, Origin and token checks, the request id, the metrics
//! and the answer headers are the same for it as for every route. It takes a request only when the router
//! would give the detail handler the same two ids: a GET, the exact path shape, and two valid ids (letters,
//! digits, `-` and `_`, which percent-decoding leaves as they are). Everything else, a HEAD, a trailing slash or
//! an invalid id included, goes to the router, which answers it as before. The answer comes from the handler's
//! own functions under the route's backstop and metric label, so it is the router's answer byte for byte.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use futures::future::{BoxFuture, Either};
use runtime_api::{RuntimeId, WorkerId};

use super::AppState;
use super::edge::{RouteLabel, RouteScopeFuture};
use super::workers;

/// The route template the lane answers, as the router names it in the metrics.
const DETAIL_ROUTE: &str = "/api/runtimes/{runtime_id}/workers/{worker_id}";

/// The runtime and worker ids of a worker detail path, when the router would decode it to exactly these.
fn detail_ids(path: &str) -> Option<(&str, &str)> {
    let (runtime_id, rest) = path.strip_prefix("/api/runtimes/")?.split_once('/')?;
    let worker_id = rest.strip_prefix("workers/")?;
    (RuntimeId::is_valid(runtime_id) && WorkerId::is_valid(worker_id)).then_some((runtime_id, worker_id))
}

/// Puts the direct lane in front of the router.
#[derive(Clone)]
pub(super) struct DirectLaneLayer {
    state: AppState,
    /// The backstop of the routes that call runtimes.
    deadline: Duration,
}

impl DirectLaneLayer {
    /// A lane answering from `state`, each answer bounded by `deadline` as the router's calls are.
    pub(super) fn new(state: AppState, deadline: Duration) -> Self {
        DirectLaneLayer { state, deadline }
    }
}

impl<S> tower::Layer<S> for DirectLaneLayer {
    type Service = DirectLane<S>;

    fn layer(&self, inner: S) -> DirectLane<S> {
        DirectLane { inner, state: self.state.clone(), deadline: self.deadline }
    }
}

/// The service of [`DirectLaneLayer`].
#[derive(Clone)]
pub(super) struct DirectLane<S> {
    inner: S,
    state: AppState,
    deadline: Duration,
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

    fn call(&mut self, request: Request) -> Self::Future {
        let ids = (request.method() == Method::GET).then(|| detail_ids(request.uri().path())).flatten();
        let Some((runtime_id, worker_id)) = ids else { return Either::Right(self.inner.call(request)) };
        let ids = (runtime_id.to_owned(), worker_id.to_owned());
        let state = self.state.clone();
        let answer = async move {
            Ok(match workers::worker(&state, ids) {
                Ok((entry, worker_id)) => workers::detail(&entry, worker_id).await.into_response(),
                Err(refused) => refused.into_response(),
            })
        };
        Either::Left(RouteScopeFuture::new(answer.boxed(), Some(RouteLabel::Fixed(DETAIL_ROUTE)), Some(self.deadline)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_detail_path_with_two_valid_ids_takes_the_lane() {
        assert_eq!(detail_ids("/api/runtimes/dev/workers/w-1"), Some(("dev", "w-1")));
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
            assert_eq!(detail_ids(path), None, "{path}");
        }
    }
}
