//! Bulkhead: a bound on concurrent calls per source.
//!
//! Sits below `DeadlineLayer`, so a call waiting for a slot gives up at its deadline; a slow or hung source
//! then holds at most this many calls, and never the backend's whole capacity.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::Semaphore;

use super::{BoxError, SourceRequest, SourceResponse};

/// Bounds the calls in progress on the wrapped source.
#[derive(Debug, Clone)]
pub struct BulkheadLayer {
    slots: Arc<Semaphore>,
}

impl BulkheadLayer {
    /// At most `max_in_flight` calls at once.
    pub fn new(max_in_flight: usize) -> Self {
        BulkheadLayer { slots: Arc::new(Semaphore::new(max_in_flight.max(1))) }
    }
}

impl<S> tower::Layer<S> for BulkheadLayer {
    type Service = Bulkhead<S>;

    fn layer(&self, inner: S) -> Bulkhead<S> {
        Bulkhead { inner, slots: self.slots.clone() }
    }
}

/// The service of [`BulkheadLayer`].
#[derive(Debug, Clone)]
pub struct Bulkhead<S> {
    inner: S,
    slots: Arc<Semaphore>,
}

impl<S> tower::Service<SourceRequest> for Bulkhead<S>
where
    S: tower::Service<SourceRequest, Response = SourceResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = SourceResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<SourceResponse, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is decided per call, inside the future, so the deadline covers the wait.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: SourceRequest) -> Self::Future {
        let slots = self.slots.clone();
        // Take the service that was driven ready and leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        async move {
            let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
            futures::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            inner.call(request).await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tower::{Service, ServiceExt, service_fn};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_bound_run_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let inner = {
            let (running, peak) = (running.clone(), peak.clone());
            service_fn(move |_: SourceRequest| {
                let (running, peak) = (running.clone(), peak.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Err::<SourceResponse, BoxError>("done".into())
                }
            })
        };
        let service = tower::Layer::layer(&BulkheadLayer::new(3), inner);
        let calls = (0..10).map(|_| {
            let mut service = service.clone();
            async move { service.ready().await.unwrap().call(SourceRequest::Summary).await }
        });
        futures::future::join_all(calls).await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
