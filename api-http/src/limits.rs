//! What every request meets before routing, on both servers: exactly one `Host`, a declared body within the
//! size limit, and a body that arrives in time.
//!
//! Sits outermost in a router (inside only the layers that add headers to every response), so that a body
//! declared too large is refused before anything reads it, before auth too: refusing costs nothing and
//! tells nothing. The size limit of bodies sent without a length stays with `DefaultBodyLimit`, which the
//! extractors apply while they read; this layer only reads `Content-Length`.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures::future::Either;
use runtime_api::{ApiError, ErrorCode};

use crate::HttpError;

/// Settings of [`RequestLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimitsLayer {
    body_limit_bytes: usize,
    body_timeout: Duration,
}

impl RequestLimitsLayer {
    /// Bodies of at most `body_limit_bytes`, each to arrive whole within `body_timeout` of its request head
    /// (a slow one is answered `408 request_timeout` by the extractor reading it, [`ApiJson`](crate::ApiJson)
    /// or [`OptionalJson`](crate::OptionalJson)).
    pub fn new(body_limit_bytes: usize, body_timeout: Duration) -> Self {
        RequestLimitsLayer { body_limit_bytes, body_timeout }
    }
}

impl<S> tower::Layer<S> for RequestLimitsLayer {
    type Service = RequestLimits<S>;

    fn layer(&self, inner: S) -> RequestLimits<S> {
        RequestLimits { inner, limits: *self }
    }
}

/// The service of [`RequestLimitsLayer`].
#[derive(Debug, Clone)]
pub struct RequestLimits<S> {
    inner: S,
    limits: RequestLimitsLayer,
}

impl<S> tower::Service<Request> for RequestLimits<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if let Err(refusal) = self.limits.check(request.headers()) {
            return Either::Left(ready(Ok(HttpError(refusal).into_response())));
        }
        // Most requests carry no body (reads, upgrades). For one that does, the extractors read it by this
        // deadline, counted from here so that it ends before the backend's request backstop does.
        if !request.body().is_end_stream() {
            let limit = self.limits.body_timeout;
            request.extensions_mut().insert(BodyDeadline { at: Instant::now() + limit, limit });
        }
        Either::Right(self.inner.call(request))
    }
}

/// When a request's body must have arrived whole; set by [`RequestLimits`], kept by the extractors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyDeadline {
    /// The deadline.
    pub(crate) at: Instant,
    /// The time the body was given, for the message.
    pub(crate) limit: Duration,
}

impl RequestLimitsLayer {
    fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        // Two `Host`s leave open which one a check looked at and which one a handler trusts (RFC 9112 §3.2).
        if headers.get_all(header::HOST).iter().nth(1).is_some() {
            return Err(ApiError::invalid("a request must carry exactly one Host header"));
        }
        // hyper has already refused a length that is not a number, or two that disagree.
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.body_limit_bytes as u64) {
            let message = format!("the request body is over the size limit of {} bytes", self.body_limit_bytes);
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
