//! Circuit: calls to a source known to be down fail at once, calls that fail as if it were down make the
//! health monitor look now, and calls that succeed tell it so.
//!
//! Sits above `MapErrorLayer`, where errors are typed, and below `SanitizeLayer`, which scrubs the refusal
//! like any other error. The monitor ([`crate::health`]) decides when the circuit opens and closes.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use runtime_api::ApiError;

use super::{SourceRequest, SourceResponse};
use crate::health::{Monitor, means_down};

/// Refuses calls while the monitor says the source is down.
#[derive(Clone)]
pub struct CircuitLayer {
    monitor: Arc<Monitor>,
}

impl CircuitLayer {
    /// A circuit run by `monitor`.
    pub fn new(monitor: Arc<Monitor>) -> Self {
        CircuitLayer { monitor }
    }
}

impl<S> tower::Layer<S> for CircuitLayer {
    type Service = Circuit<S>;

    fn layer(&self, inner: S) -> Circuit<S> {
        Circuit { inner, monitor: self.monitor.clone() }
    }
}

/// The service of [`CircuitLayer`].
#[derive(Clone)]
pub struct Circuit<S> {
    inner: S,
    monitor: Arc<Monitor>,
}

impl<S> tower::Service<SourceRequest> for Circuit<S>
where
    S: tower::Service<SourceRequest, Response = SourceResponse, Error = ApiError>,
    S::Future: Send + 'static,
{
    type Response = SourceResponse;
    type Error = ApiError;
    type Future = BoxFuture<'static, Result<SourceResponse, ApiError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ApiError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SourceRequest) -> Self::Future {
        if let Err(refused) = self.monitor.admit() {
            return futures::future::ready(Err(refused)).boxed();
        }
        let monitor = self.monitor.clone();
        let call = self.inner.call(request);
        async move {
            let result = call.await;
            match &result {
                Ok(_) => monitor.answered(),
                Err(error) if means_down(error.code) => monitor.suspect(),
                Err(_) => {}
            }
            result
        }
        .boxed()
    }
}
